"""The builder: torchvision state_dicts, exact parameter counts, outputs, determinism."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from conftest import REFERENCE, TORCHVISION_PRESETS, batch_norm
from resnet_inspect import build_model
from resnet_inspect.errors import BuildError
from resnet_inspect.plan.blocks import BLOCKS, OPTIONS
from resnet_inspect.spec import load_checked


def test_block_classes_are_written_out_and_greppable():
    import inspect

    ours = [r for r in [*BLOCKS.values(), *OPTIONS.values()] if r.__module__.startswith("resnet_")]
    for recipe in ours:
        source = inspect.getsource(inspect.getmodule(recipe))
        assert f"class {recipe.__name__}(" in source, recipe  # `grep "class Bottleneck"` finds it
        assert "def forward(self" in inspect.getsource(recipe), recipe
        module = recipe.Module
        assert module.__name__ == recipe.__name__ and module.__doc__ == recipe.__doc__
        assert issubclass(module, (recipe, torch.nn.Module))


@pytest.mark.subprocess
@pytest.mark.parametrize("name", ["resnet18", "cifar_resnet20", "resnet50d", "seresnet50"])
def test_the_whole_model_pickles_and_loads_in_a_fresh_process(tmp_path, name):
    import subprocess
    import sys

    model = build_model(name)
    path = tmp_path / "model.pt"
    torch.save(model, path)  # the whole model, every class by its import path
    x = torch.randn(1, 3, 32, 32)
    torch.save({"x": x, "y": model.eval()(x)}, tmp_path / "io.pt")
    code = (
        "import sys, torch\n"
        f"model = torch.load({str(path)!r}, weights_only=False).eval()\n"
        f"io = torch.load({str(tmp_path / 'io.pt')!r})\n"
        "print(torch.equal(model(io['x']), io['y']), type(model.layer1[0]).__qualname__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "True"


@pytest.mark.parametrize("name", TORCHVISION_PRESETS)
def test_params_and_state_dict_manifest_equal_torchvision(name):
    model = build_model(name, device="meta")
    reference = REFERENCE["models"][name]
    assert sum(p.numel() for p in model.parameters()) == reference["params"]
    manifest = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert list(manifest) == list(reference["state_dict"])  # same keys, same order
    assert manifest == reference["state_dict"]


# The paper, Sec. 4.2: 0.27M, 0.46M, 0.66M, 0.85M, 1.7M, 19.4M parameters.
CIFAR_PAPER = {
    20: (0.27, 2),
    32: (0.46, 2),
    44: (0.66, 2),
    56: (0.85, 2),
    110: (1.7, 1),
    1202: (19.4, 1),
}


@pytest.mark.parametrize("depth", sorted(CIFAR_PAPER))
def test_cifar_params_match_the_paper(depth):
    model = build_model(f"cifar_resnet{depth}", device="meta")
    millions, digits = CIFAR_PAPER[depth]
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, digits) == millions


def test_cifar_resnet20_params_by_hand():
    # stem 3*3*3*16 + BN 32; stage widths w in 16, 32, 64, three blocks of two 3x3 convs
    # (w*w*9 each, the first of stages 2 and 3 takes w/2 in) and two BNs (2w each); fc 64*10 + 10.
    stem = 3 * 3 * 3 * 16 + 2 * 16
    stage1 = 3 * (2 * 9 * 16 * 16 + 2 * 2 * 16)
    stage2 = (9 * 16 * 32 + 9 * 32 * 32 + 4 * 32) + 2 * (2 * 9 * 32 * 32 + 4 * 32)
    stage3 = (9 * 32 * 64 + 9 * 64 * 64 + 4 * 64) + 2 * (2 * 9 * 64 * 64 + 4 * 64)
    head = 64 * 10 + 10
    model = build_model("cifar_resnet20", device="meta")
    assert (
        sum(p.numel() for p in model.parameters())
        == stem + stage1 + stage2 + stage3 + head
        == 269_722
    )


def test_keras_resnet50_params_match_keras():
    # Keras reports 25,636,712 "Total params": weights, conv biases and BN moving statistics.
    model = build_model("keras_resnet50", device="meta")
    params = sum(p.numel() for p in model.parameters())
    statistics = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    assert params + statistics == 25_636_712
    # torchvision's 25,557,032 plus one bias per conv output channel (26,560 of them).
    assert params == REFERENCE["models"]["resnet50"]["params"] + 26_560


def _torchvision_forward(sd, x, block, layers, groups=1):
    """An independent re-statement of torchvision's ResNet forward, from a state_dict alone;
    with `se.fc1`/`se.fc2` weights in a block, timm's SE gate (Hu et al. 2018) after bn3."""

    def bn(t, prefix):
        return batch_norm(sd, t, prefix)

    x = F.relu(bn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for i, count in enumerate(layers):
        for j in range(count):
            p = f"layer{i + 1}.{j}"
            stride = 2 if i > 0 and j == 0 else 1
            if block == "basic":
                out = F.relu(
                    bn(F.conv2d(x, sd[f"{p}.conv1.weight"], stride=stride, padding=1), f"{p}.bn1")
                )
                out = bn(F.conv2d(out, sd[f"{p}.conv2.weight"], padding=1), f"{p}.bn2")
            else:  # v1.5: the stride on the 3x3
                out = F.relu(bn(F.conv2d(x, sd[f"{p}.conv1.weight"]), f"{p}.bn1"))
                out = F.relu(
                    bn(
                        F.conv2d(
                            out, sd[f"{p}.conv2.weight"], stride=stride, padding=1, groups=groups
                        ),
                        f"{p}.bn2",
                    )
                )
                out = bn(F.conv2d(out, sd[f"{p}.conv3.weight"]), f"{p}.bn3")
            if f"{p}.se.fc1.weight" in sd:  # squeeze, excite, scale
                squeezed = out.mean((2, 3), keepdim=True)
                hidden = F.relu(
                    F.conv2d(squeezed, sd[f"{p}.se.fc1.weight"], sd[f"{p}.se.fc1.bias"])
                )
                gate = torch.sigmoid(
                    F.conv2d(hidden, sd[f"{p}.se.fc2.weight"], sd[f"{p}.se.fc2.bias"])
                )
                out = out * gate
            identity = x
            if f"{p}.downsample.0.weight" in sd:
                identity = bn(
                    F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride), f"{p}.downsample.1"
                )
            x = F.relu(out + identity)
    x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    return F.linear(x, sd["fc.weight"], sd["fc.bias"])


def se_manifest(base: str) -> dict[str, list[int]]:
    """timm's SE-ResNet state_dict: torchvision's, plus per bottleneck `se.fc1` (C -> C/16)
    and `se.fc2` (C/16 -> C) 1x1 convs with biases, C the block's output width."""
    manifest = dict(REFERENCE["models"][base]["state_dict"])
    for key, shape in REFERENCE["models"][base]["state_dict"].items():
        if key.endswith(".conv3.weight"):
            block, channels = key.removesuffix(".conv3.weight"), shape[0]
            manifest[f"{block}.se.fc1.weight"] = [channels // 16, channels, 1, 1]
            manifest[f"{block}.se.fc1.bias"] = [channels // 16]
            manifest[f"{block}.se.fc2.weight"] = [channels, channels // 16, 1, 1]
            manifest[f"{block}.se.fc2.bias"] = [channels]
    return manifest


@pytest.mark.parametrize(
    ("name", "block", "layers", "groups"),
    [
        ("resnet18", "basic", [2, 2, 2, 2], 1),
        ("resnet50", "bottleneck", [3, 4, 6, 3], 1),
        ("resnext50_32x4d", "bottleneck", [3, 4, 6, 3], 32),
        ("seresnet50", "bottleneck", [3, 4, 6, 3], 1),
    ],
)
def test_torchvision_checkpoint_loads_strictly_and_gives_the_same_outputs(
    name, block, layers, groups
):
    # A "checkpoint" made from torchvision's manifest alone (timm's for SE), with non-trivial
    # BN statistics.
    generator = torch.Generator().manual_seed(1)
    checkpoint = {}
    manifest = (
        se_manifest("resnet50") if name == "seresnet50" else REFERENCE["models"][name]["state_dict"]
    )
    for key, shape in manifest.items():
        if key.endswith("num_batches_tracked"):
            checkpoint[key] = torch.tensor(5)
        elif key.endswith("running_var"):
            checkpoint[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            checkpoint[key] = torch.randn(shape, generator=generator) * 0.05
    model = build_model(name)
    model.load_state_dict(checkpoint, strict=True)
    model.eval()
    x = torch.randn(2, 3, 64, 64, generator=generator)
    with torch.no_grad():
        ours = model(x)
        theirs = _torchvision_forward(checkpoint, x, block, layers, groups)
    assert ours.shape == (2, 1000)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_initialisation_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    first = build_model("cifar_resnet20", seed=3).state_dict()
    second = build_model("cifar_resnet20", seed=3).state_dict()
    other = build_model("cifar_resnet20", seed=4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["conv1.weight"], other["conv1.weight"])
    # torchvision's init: BN weight 1, bias 0; He fan-out normal for convs: std = sqrt(2 / fan_out).
    assert torch.equal(first["bn1.weight"], torch.ones(16))
    std = first["layer3.0.conv2.weight"].std().item()
    assert abs(std - (2 / (64 * 9)) ** 0.5) < 0.1 * (2 / (64 * 9)) ** 0.5


def test_option_a_shortcut_zero_pads_and_subsamples():
    model = build_model("cifar_resnet20").eval()
    block = model.layer2[0]
    x = torch.randn(1, 16, 32, 32)
    padded = block.downsample(x)
    assert padded.shape == (1, 32, 16, 16)
    torch.testing.assert_close(padded[:, :16], x[:, :, ::2, ::2])
    assert torch.count_nonzero(padded[:, 16:]) == 0


def test_plain_network_has_no_shortcut_modules():
    model = build_model("plain34", device="meta")
    assert not any("downsample" in name for name, _ in model.named_modules())
    with torch.no_grad():
        assert build_model("cifar_plain20")(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_analytic_plan_params_equal_built_params():
    for name in ("resnet50", "keras_resnet50", "resnext50_32x4d", "cifar_resnet56", "plain18"):
        _, plan = load_checked(name)
        model = build_model(name, device="meta")
        assert sum(layer.params for layer in plan.layers) == sum(
            p.numel() for p in model.parameters()
        )


def test_huge_model_is_refused_before_allocating(write_spec):
    path = write_spec(
        "extends: cifar_resnet20\nstages:\n  - {filters: [100000, 100000], blocks: 1}\n"
    )
    with pytest.raises(BuildError, match=r"weights would need [\d,.]+ GiB"):
        build_model(path)
    meta = build_model(path, device="meta")  # the analyzers still work on it
    # 3 * 3 * 100000 * 100000 in the stage's second 3x3 conv alone.
    assert sum(p.numel() for p in meta.parameters()) > 9 * 10**10
