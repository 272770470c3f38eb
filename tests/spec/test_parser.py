"""Validation: every problem at once, one line each, FILE:LINE:COL: key.path: message."""

from __future__ import annotations

import pytest

from resnet_inspect.errors import SpecError
from resnet_inspect.spec import load_spec

GOOD = """\
name: tiny
input: [3, 32, 32]
stem:
  - {conv: 16, kernel: 3}
  - bn
  - relu
block: basic
shortcut: A
stages:
  - {filters: [16, 16], blocks: 2, stride: 1}
  - {filters: [32, 32], blocks: 2, stride: 2}
head: {pool: avg, classes: 10}
"""


def problems(path: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_spec(path)
    return err.value.lines()


def test_good_spec_loads_with_defaults(write_spec):
    spec = load_spec(write_spec(GOOD))
    assert spec.name == "tiny"
    assert spec.input == (3, 32, 32)
    assert [layer.name for layer in spec.stem] == ["conv1", "bn1", "relu"]
    assert spec.stem[0].padding == 1  # kernel // 2
    assert spec.stride_on == "3x3" and spec.groups == 1 and spec.bias is False
    assert spec.stages[1].stride == 2


def test_all_problems_reported_at_once_with_locations(write_spec):
    path = write_spec(
        "name: x\n"
        "input: [3, 224]\n"
        "blok: basic\n"
        "stem: [{conv: 64, kernal: 7}, bn, relux]\n"
        "stages:\n"
        "  - {filters: [64, 64, 256], blocks: 0}\n"
        "  - {filters: [64, 64], blocks: 2.0, stride: -1}\n"
        "head: {clases: 10}\n"
        "shortcut: E\n"
    )
    assert problems(path) == [
        f"{path}:1:1: missing required key 'block'",
        f"{path}:2:8: input: input must be [channels, height, width], got a list of 2 "
        "(e.g. input: [3, 224, 224])",
        f"{path}:3:1: blok: unknown key in spec (did you mean 'block'?)",
        f"{path}:4:19: stem.0.kernal: unknown key in conv stem layer (did you mean 'kernel'?)",
        f"{path}:4:35: stem.2: unknown stem layer 'relux' (did you mean 'relu'?)",
        f"{path}:6:38: stages.0.blocks: blocks must be at least 1, got 0",
        f"{path}:7:33: stages.1.blocks: blocks must be a whole number, got 2.0 (write 2)",
        f"{path}:7:46: stages.1.stride: stride must be at least 1, got -1",
        f"{path}:8:8: head.clases: unknown key in head (did you mean 'classes'?)",
        f"{path}:9:11: shortcut: unknown shortcut option 'E': the paper's options are "
        "A zero-padding where the shape changes, identity elsewhere (no parameters); B a 1×1 "
        "projection where the shape changes, identity elsewhere; C a 1×1 projection on every "
        "block; D average pool, then a 1×1 projection, where the shape changes (ResNet-D); none "
        "no shortcut: a plain network",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("block: basic", None),
        ("block: bottlenek", "block: unknown block type 'bottlenek' (did you mean 'bottleneck'?)"),
        ("stride_on: 2x2", "stride_on: unknown stride_on '2x2'"),
        ("groups: 0", "groups: groups must be at least 1, got 0"),
        ("groups: 4", "groups: basic blocks support only groups: 1"),
        ("bias: yes please", "bias: must be true or false, got 'yes please'"),
        ("head: 10", "head: head must be a mapping or none, got 10"),
        ("head: none", None),
        ("width_per_group: 4", "width_per_group: unknown key in spec (write the real inner widths"),
    ],
)
def test_top_level_values(write_spec, change, expected):
    key = change.split(":")[0]
    text = "\n".join(line for line in GOOD.splitlines() if not line.startswith(key + ":"))
    path = write_spec(text + "\n" + change + "\n")
    if expected is None:
        load_spec(path)
        return
    lines = problems(path)
    assert len(lines) == 1, lines
    assert expected in lines[0]


def test_filters_length_must_match_block(write_spec):
    path = write_spec(GOOD.replace("[32, 32], blocks: 2", "[32, 32, 64], blocks: 2"))
    assert problems(path) == [
        f"{path}:11:15: stages.1.filters: a basic block takes 2 filters, got 3 (e.g. [64, 64])"
    ]


def test_stem_layer_needs_size_and_reserved_names(write_spec):
    text = GOOD.replace("  - relu\n", "  - relu\n  - maxpool\n  - {conv: 8, name: fc}\n")
    path = write_spec(text)
    lines = problems(path)
    assert lines[0].endswith(
        "stem.3: stem layer 'maxpool' needs its size (e.g. - {maxpool: 3, stride: 2})"
    )
    assert lines[1].endswith(
        "stem.4.name: layer name 'fc' is the name of a head layer (choose another name, "
        "or head: none)"
    )


def test_block_entries(write_spec):
    text = GOOD.replace(
        "  - {filters: [16, 16], blocks: 2, stride: 1}",
        "  - filters: [16, 16]\n    blocks: [conv_block, identiy_block, {shortcut: skip}]",
    )
    path = write_spec(text)
    lines = problems(path)
    assert "unknown block entry 'identiy_block' (did you mean 'identity_block'?)" in lines[0]
    assert "stages.0.blocks.2.shortcut: unknown shortcut kind 'skip'" in lines[1]
