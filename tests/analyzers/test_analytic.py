"""The spec's closed-form arithmetic against the built model, for every preset; and a wrong
layer plan (monkeypatched) is caught, because the closed forms do not read the plan."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resnet_inspect import summarize
from resnet_inspect.analyzers import analytic
from resnet_inspect.cli import cli
from resnet_inspect.spec import load_checked, preset_names


@pytest.mark.parametrize("name", preset_names())
def test_analytic_equals_measured_for_every_preset(name):
    check = summarize(name, check=True, batch_size=2).check
    assert check is not None and check.ok, check
    assert "layer1" in {row.name for row in check.stages}


def test_check_flags_a_mismatch_with_exit_3(monkeypatch):
    real = analytic.closed_form_stages

    def off_by_one(spec):
        stages = real(spec)
        params, macs = stages["layer2"]
        return {**stages, "layer2": (params + 1, macs)}

    monkeypatch.setattr(analytic, "closed_form_stages", off_by_one)
    result = CliRunner().invoke(cli, ["summary", "resnet18", "--check"])
    assert result.exit_code == 3
    assert "MISMATCH" in result.stdout
    assert "disagree" in result.stderr


def test_check_table_shows_equal_rows():
    result = CliRunner().invoke(cli, ["summary", "cifar_resnet56", "--check"])
    assert result.exit_code == 0
    assert result.stdout.count("✓ equal") == 5  # stem, 3 stages, head


def _stride_on_the_wrong_conv(block):
    """A broken bottleneck plan: the stride on the last 1x1 instead of the 3x3."""
    from resnet_inspect.plan.layer_kinds import conv_layer

    reduce, inner, expand = block.filters
    conv1 = conv_layer("conv1", block.in_channels, reduce, 1, 1, block.in_size, 1, block.bias)
    conv2 = conv_layer("conv2", reduce, inner, 3, 1, conv1.out_size, block.groups, block.bias)
    conv3 = conv_layer("conv3", inner, expand, 1, block.stride, conv2.out_size, 1, block.bias)
    return [conv1, conv2, conv3]


def _no_middle_conv(block):
    """A broken basic-block plan: the second 3x3 is a 1x1."""
    from resnet_inspect.plan.layer_kinds import conv_layer

    first, second = block.filters
    conv1 = conv_layer(
        "conv1", block.in_channels, first, 3, block.stride, block.in_size, 1, block.bias
    )
    return [conv1, conv_layer("conv2", first, second, 1, 1, conv1.out_size, 1, block.bias)]


@pytest.mark.parametrize(
    ("module", "broken", "preset", "stages"),
    [
        ("bottleneck", _stride_on_the_wrong_conv, "resnet50", {"layer2", "layer3", "layer4"}),
        ("basic", _no_middle_conv, "resnet18", {"layer1", "layer2", "layer3", "layer4"}),
    ],
)
def test_check_catches_a_wrong_plan(monkeypatch, module, broken, preset, stages):
    import importlib

    block_module = importlib.import_module(f"resnet_inspect.plan.blocks.{module}")
    monkeypatch.setattr(block_module, f"{module}_convs", broken)
    check = summarize(preset, check=True).check
    assert not check.ok
    assert {row.name for row in check.stages if not row.ok} == stages


def test_closed_forms_restate_the_paper():
    # ResNet-50 v1 (stride on the first 1x1): the paper's 3.8 x 10^9 multiply-adds; conv2_x
    # by hand: block 1 = 64*64 + 9*64*64 + 64*256 + projection 64*256 weights at 56x56.
    stages = analytic.closed_form_stages(load_checked("resnet50_v1")[0])
    first = (64 * 64 + 9 * 64 * 64 + 64 * 256 + 64 * 256) * 56 * 56
    rest = 2 * (256 * 64 + 9 * 64 * 64 + 64 * 256) * 56 * 56
    assert stages["layer1"][1] == first + rest
    assert abs(sum(macs for _, macs in stages.values()) / 3.8e9 - 1) < 0.02
