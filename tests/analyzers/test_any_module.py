"""Any nn.Module, not only specs: the Python API and `summary --model`."""

from __future__ import annotations

import json

import torch
from click.testing import CliRunner

from conftest import ROOT
from factories import SmallResNet
from resnet_inspect import analyze
from resnet_inspect.cli import cli


def test_torchvision_style_model_with_a_shared_relu():
    model = SmallResNet()
    report = analyze(model, (3, 64, 64))
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    relu = next(row for row in report.layers if row.name == "layer1.0.relu")
    assert relu.calls == 3  # one module, called three times
    # conv1: 7*7*3*64 weights at 32*32 positions.
    conv1 = next(row for row in report.layers if row.name == "conv1")
    assert conv1.macs == 7 * 7 * 3 * 64 * 32 * 32
    assert report.flops.uncounted_ops["aten::add_"] == 2
    assert report.totals.receptive_field is not None


def test_macs_match_torch_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    model = SmallResNet().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(2, 3, 64, 64))
    assert analyze(model, (3, 64, 64), batch_size=2).totals.macs == counter.get_total_flops() // 2


def test_summary_model_option(monkeypatch):
    monkeypatch.chdir(ROOT / "tests")
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["summary", "--model", "factories:small_resnet", "--input", "3x64x64", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["params"] == sum(p.numel() for p in SmallResNet().parameters())
    assert data["spec"] is None


def test_summary_model_errors(monkeypatch):
    monkeypatch.chdir(ROOT / "tests")
    runner = CliRunner()
    cases = {
        "factories": "expected package.module:factory",
        "nowhere:thing": "cannot import nowhere",
        "factories:missing": "factories has no 'missing'",
        "factories:not_a_model": "gave a str, not a torch.nn.Module",
    }
    for path, message in cases.items():
        result = runner.invoke(cli, ["summary", "--model", path])
        assert result.exit_code == 2, path
        assert message in result.stderr and "Traceback" not in result.output
    result = runner.invoke(cli, ["summary", "resnet18", "--model", "factories:small_resnet"])
    assert result.exit_code == 2 and "not both" in result.stderr


def test_a_model_that_cannot_take_the_input_is_exit_3(monkeypatch):
    monkeypatch.chdir(ROOT / "tests")
    result = CliRunner().invoke(
        cli, ["summary", "--model", "factories:small_resnet", "--input", "1x64x64"]
    )
    assert result.exit_code == 3
    # the module that refused, and both sizes
    assert result.stderr.startswith("conv1 (Conv2d) failed on input [1, 64, 64]")
    assert "expected 3 channels" in result.stderr and "[1, 1, 64, 64]" in result.stderr
