"""The meta-device pass: shapes, params and MACs against torchvision, torchinfo and torch's own
FLOP counter, and the promise not to change the caller's model."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from conftest import REFERENCE, TORCHVISION_PRESETS
from resnet_inspect import analyze, build_model, summarize


@pytest.mark.parametrize("name", TORCHVISION_PRESETS)
def test_totals_equal_torchvision_reference(name):
    reference = REFERENCE["models"][name]
    totals = summarize(name).totals
    assert totals.params == reference["params"]
    assert totals.trainable_params == reference["params"]
    assert totals.buffers == reference["buffers"]
    assert totals.macs == reference["conv_linear_macs"]
    assert totals.flops == 2 * reference["conv_linear_macs"]


@pytest.mark.parametrize("name", TORCHVISION_PRESETS)
def test_torchinfo_difference_is_bn_params_and_biases(name):
    # The README's explanation, checked against the measured torchinfo figure: its Mult-Adds
    # exceed the conv + linear multiply-adds by exactly the BN parameter count plus the fc bias.
    report = summarize(name)
    bn_params = sum(
        row.params for row in report.layers if row.is_leaf and row.type == "BatchNorm2d"
    )
    fc_bias = REFERENCE["models"][name]["state_dict"]["fc.bias"][0]
    assert REFERENCE["models"][name]["torchinfo_macs"] == report.totals.macs + bn_params + fc_bias


@pytest.mark.parametrize("name", ["resnet50_v1", "keras_resnet50", "cifar_resnet20", "plain18"])
def test_macs_equal_torch_flop_counter_on_a_real_forward(name):
    model = build_model(name).eval()
    report = summarize(name, batch_size=2)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(2, *report.input_shape))
    assert report.totals.macs == counter.get_total_flops() // 2


# The paper's Table 1, "FLOPs" (multiply-adds) of the v1 layout: 1.8, 3.6, 3.8, 7.6, 11.3 x 10^9.
PAPER_TABLE_1 = {
    "resnet18": 1.8e9,
    "resnet34": 3.6e9,
    "resnet50_v1": 3.8e9,
    "resnet101_v1": 7.6e9,
    "resnet152_v1": 11.3e9,
}


@pytest.mark.parametrize("name", sorted(PAPER_TABLE_1))
def test_v1_presets_reproduce_paper_table_1(name):
    macs = summarize(name).totals.macs
    assert abs(macs - PAPER_TABLE_1[name]) / PAPER_TABLE_1[name] < 0.02  # the paper rounds loosely


def test_per_layer_shapes_and_params_match_torchinfo_on_real_tensors():
    torchinfo = pytest.importorskip("torchinfo")
    model = build_model("resnet18").eval()
    names = {id(module): name for name, module in model.named_modules()}
    info = torchinfo.summary(model, input_size=(2, 3, 64, 64), depth=10, verbose=0)
    theirs = {}
    for layer in info.summary_list:
        if layer.is_leaf_layer and id(layer.module) in names:
            theirs.setdefault(names[id(layer.module)], list(layer.output_size))
    ours = {
        row.name: row.output_shape
        for row in summarize("resnet18", input_shape=(3, 64, 64), batch_size=2).layers
        if row.is_leaf
    }
    assert theirs == ours
    assert info.total_params == summarize("resnet18").totals.params


def test_batch_and_resolution_scale_macs_but_not_params():
    one = summarize("resnet50")
    eight = summarize("resnet50", batch_size=8)
    assert eight.totals.macs == 8 * one.totals.macs
    assert eight.totals.params == one.totals.params
    assert eight.layers[0].output_shape == [8, 64, 112, 112]
    big = summarize("resnet50", input_shape=(3, 448, 448))
    # Every conv output has four times the positions; the fc layer (2048 x 1000) does not change.
    fc = 2048 * 1000
    assert big.totals.macs - fc == 4 * (one.totals.macs - fc)


def test_rows_are_in_execution_order_with_containers_first():
    names = [row.name for row in summarize("resnet18").layers]
    assert names[:6] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer1.0"]
    assert names.index("layer1.0") < names.index("layer1.0.conv1") < names.index("layer1.1")
    assert names[-2:] == ["avgpool", "fc"]


def test_container_rows_sum_their_leaves_and_stages_sum_to_totals():
    report = summarize("resnet50")
    block = next(row for row in report.layers if row.name == "layer2.0")
    leaves = [row for row in report.layers if row.is_leaf and row.name.startswith("layer2.0.")]
    assert block.params == sum(row.params for row in leaves)
    assert block.macs == sum(row.macs for row in leaves)
    assert sum(stage.params for stage in report.stages) == report.totals.params
    assert sum(stage.macs for stage in report.stages) == report.totals.macs
    assert [s.name for s in report.stages] == [
        "stem",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "head",
    ]
    assert [s.blocks for s in report.stages if s.kind == "stage"] == [3, 4, 6, 3]
    assert report.totals.depth == 50 and report.totals.weighted_layers == 54


def test_analysis_leaves_the_callers_model_as_it_was():
    model = build_model("cifar_resnet20")
    model.train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    report = analyze(model, (3, 32, 32), batch_size=4)
    assert report.totals.params == 269_722
    assert model.training
    assert all(p.device.type == "cpu" for p in model.parameters())
    after = model.state_dict()
    assert list(after) == list(before)
    assert all(torch.equal(after[key], before[key]) for key in before)
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert "forward" not in vars(module)  # no swapped forwards left behind
