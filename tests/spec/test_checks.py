"""Shape consistency from the spec alone, located at the line that causes it."""

from __future__ import annotations

import pytest

from conftest import ROOT
from resnet_inspect.errors import SpecError
from resnet_inspect.plan.tree import Layer, walk
from resnet_inspect.spec import load_checked, load_spec


def lines_of(target: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_spec(target)
    return err.value.lines()


def test_seed_identity_block_356_reported_at_its_line(monkeypatch):
    path = "tests/specs/bad/seed_356.yaml"
    text = (ROOT / path).read_text().splitlines()
    # Line 9 of the file holds the first identity block with [64, 64, 356]; the second one
    # (line 10) takes 356 channels in and gives 356 out, so it is fine.
    assert "356" in text[8] and text[8].index("[64, 64, 356]") == 38  # column 39
    monkeypatch.chdir(ROOT)
    assert lines_of(path) == [
        f"{path}:9:39: stages.0.blocks.1.filters: block layer1.1: identity shortcut cannot add "
        "356 channels to 256 (write shortcut: projection in this block's entry, or filters "
        "[64, 64, 256])"
    ]


def test_identity_cannot_follow_a_stride(write_spec):
    path = write_spec(
        "extends: cifar_resnet20\n"
        "stages:\n"
        "  - {filters: [16, 16], blocks: 1}\n"
        "  - filters: [16, 16]\n"
        "    stride: 2\n"
        "    blocks: [identity_block]\n"
    )
    assert lines_of(path) == [
        f"{path}:6:14: stages.1.blocks.0: block layer2.0: identity shortcut cannot follow a "
        "stride-2 block (32x32 -> 16x16) (write shortcut: projection or zeropad in this block's "
        "entry)"
    ]


def test_zero_pad_cannot_drop_channels(write_spec):
    path = write_spec(
        "extends: cifar_resnet20\n"
        "stages:\n"
        "  - {filters: [32, 32], blocks: 1}\n"
        "  - {filters: [16, 16], blocks: 1, stride: 2}\n"
    )
    assert lines_of(path) == [
        f"{path}:4:15: stages.1.filters: block layer2.0: zero-padding shortcut cannot reduce 32 "
        "channels to 16 (write shortcut: B (a 1x1 projection where the shape changes))"
    ]


def test_groups_must_divide_inner_width(write_spec):
    path = write_spec(
        "extends: resnet50\ngroups: 32\nstages:\n  - {filters: [100, 100, 256], blocks: 1}\n"
    )
    assert lines_of(path) == [
        f"{path}:4:15: stages.0.filters: block layer1.0: groups 32 does not divide the inner "
        "width 100 (use a multiple of 32, e.g. 128)"
    ]


def test_feature_map_that_vanishes(write_spec):
    # keras_resnet50's stem has no padding:
    # 4x4 -> pad 3 -> 10x10 -> conv 7/2 -> 2x2 -> pool 3/2 -> 0.
    path = write_spec("extends: keras_resnet50\ninput: [3, 4, 4]\n")
    lines = lines_of(path)
    # The stem comes from the preset file, but the user's input: line causes the problem: it is
    # reported there, once, with the preset's line as a note (line 14 of keras_resnet50.yaml is
    # "  - {maxpool: 3, stride: 2, padding: 0}").
    preset = ROOT / "resnet_inspect/spec/presets/keras_resnet50.yaml"
    assert "maxpool" in preset.read_text().splitlines()[13]
    assert lines == [
        f"{path}:2:1: input: this value makes the extended spec 'keras_resnet50' invalid "
        "(preset keras_resnet50 line 14: stem.4: feature map shrinks to 0x0 here (maxpool 3x3 "
        "on 2x2); use a larger input or smaller kernel/stride)"
    ]


def _stem(plan):
    """The layers before the first stage, from the tree."""
    stem = []
    for child in plan.root.children:
        if not isinstance(child, Layer):
            break
        stem.append(child)
    return stem


def _conv_strides(block):
    return {
        path: layer.stride[0]
        for path, layer, _ in walk(block)
        if getattr(layer, "kind", "") == "conv"
    }


def test_plan_shapes_by_hand():
    # ResNet-50, 224x224: stem 7x7/2 -> 112, max-pool 3x3/2 -> 56, then 56, 28, 14, 7.
    _, plan = load_checked("resnet50")
    stem = _stem(plan)
    assert stem[0].out_size == (112, 112)
    assert stem[-1].out_size == (56, 56)
    stages = [plan.root.child(f"layer{s}") for s in range(1, 5)]
    assert [stage.children[-1].block.out_size for stage in stages] == [
        (56, 56),
        (28, 28),
        (14, 14),
        (7, 7),
    ]
    shortcuts = [block.block.shortcut for block in stages[0].children]
    assert shortcuts == ["projection", "identity", "identity"]
    # v1.5: the stride of layer2.0 is on conv2 (the 3x3); v1: on conv1.
    assert _conv_strides(stages[1].children[0]) == {
        "conv1": 1,
        "conv2": 2,
        "conv3": 1,
        "downsample.0": 2,
    }
    _, plan_v1 = load_checked("resnet50_v1")
    assert _conv_strides(plan_v1.root.child("layer2").children[0]) == {
        "conv1": 2,
        "conv2": 1,
        "conv3": 1,
        "downsample.0": 2,
    }


def test_keras_stem_gives_55():
    # ZeroPadding2D(3): 230; 7x7/2 valid: (230 - 7) // 2 + 1 = 112;
    # 3x3/2 valid: (112 - 3) // 2 + 1 = 55.
    _, plan = load_checked("keras_resnet50")
    assert [layer.out_size[0] for layer in _stem(plan)] == [230, 112, 112, 112, 55]
