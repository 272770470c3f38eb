"""FLOPs under named conventions, against fvcore (measured reference and live), torch's own
counter, the paper and torchvision's published _ops."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import REFERENCE, TORCHVISION_PRESETS
from resnet_inspect import summarize
from resnet_inspect.cli import cli


@pytest.mark.parametrize("name", TORCHVISION_PRESETS)
def test_full_count_equals_fvcore_reference(name):
    reference = REFERENCE["models"][name]
    flops = summarize(name).flops
    assert flops.full_total == reference["fvcore_flops"]
    assert flops.by_operator == reference["fvcore_by_operator"]


# torchvision's published GFLOPS (its _ops: multiply-adds) for 18, 34, 50, 101, 152.
TORCHVISION_OPS = {
    "resnet18": 1.814,
    "resnet34": 3.664,
    "resnet50": 4.089,
    "resnet101": 7.801,
    "resnet152": 11.514,
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_OPS))
def test_macs_equal_torchvision_published_ops(name):
    assert round(summarize(name).totals.macs / 1e9, 3) == TORCHVISION_OPS[name]


def test_uncounted_ops_are_listed_never_silently_zero():
    # ResNet-50: 16 residual adds, one max-pool, 1 + 16 x 3 = 49 ReLUs.
    assert summarize("resnet50").flops.uncounted_ops == {
        "aten::add_": 16,
        "aten::max_pool2d": 1,
        "aten::relu_": 49,
    }
    # Option A shortcuts pad channels: two of them in the CIFAR ResNet-20 (stages 2 and 3).
    assert summarize("cifar_resnet20").flops.uncounted_ops["aten::constant_pad_nd"] == 2


@pytest.mark.parametrize("name", ["keras_resnet50", "cifar_resnet20", "resnet18"])
def test_meta_count_equals_live_fvcore_per_operator_and_module(name):
    pytest.importorskip("fvcore")
    ours = summarize(name, batch_size=2)
    theirs = summarize(name, batch_size=2, fvcore=True).flops
    assert theirs.engine == "fvcore" and theirs.by_module is not None
    assert ours.flops.full_total == theirs.full_total
    assert ours.flops.by_operator == theirs.by_operator
    for row in ours.layers:
        assert row.full_flops == theirs.by_module.get(row.name, 0), row.name


def test_batch_norm_count_is_two_per_element_in_inference():
    # fvcore, inference: batch norm with affine = 2 flops per element. ResNet-18's first BN
    # sees 64 x 112 x 112 elements.
    report = summarize("resnet18")
    bn1 = next(row for row in report.layers if row.name == "bn1")
    assert bn1.full_flops == 2 * 64 * 112 * 112


def test_convention_option_and_json_sections():
    runner = CliRunner()
    table = runner.invoke(cli, ["summary", "resnet18", "--convention", "full"])
    # our count in fvcore's convention is named as such, not as fvcore's own
    assert table.exit_code == 0 and "full (fvcore's convention)" in table.stdout
    assert "fvcore flops" not in table.stdout
    assert "1,819,065,856" in table.stdout  # fvcore's total for ResNet-18 (reference file)
    data = json.loads(runner.invoke(cli, ["summary", "resnet18", "--format", "json"]).stdout)
    assert data["totals"]["macs"] == REFERENCE["models"]["resnet18"]["conv_linear_macs"]
    assert data["totals"]["flops"] == 2 * data["totals"]["macs"]
    assert data["flops"]["full_total"] == REFERENCE["models"]["resnet18"]["fvcore_flops"]
    assert set(data["flops"]) >= {"by_operator", "uncounted_ops", "engine"}
    assert "full" in data["conventions"] and "macs" in data["conventions"]
