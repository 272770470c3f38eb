"""Group norm as a layer kind (plan/layer_kinds/group_norm.py) and the resnet50_gn preset
(timm's resnet50_gn: every batch norm of ResNet-50 a GroupNorm of 32 groups), held to hand
counts, an independent re-statement of the forward, FlopCounterMode, and fvcore itself."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from conftest import REFERENCE
from resnet_inspect import build_model, summarize
from resnet_inspect.errors import SpecError


def test_parameters_by_hand():
    report = summarize("resnet50_gn", check=True)
    # GroupNorm's affine scale and shift are BN's two per channel, and it keeps no running
    # statistics: torchvision's ResNet-50 parameters (tests/reference), no buffers.
    assert report.totals.params == REFERENCE["models"]["resnet50"]["params"] == 25_557_032
    assert report.totals.buffers == 0
    assert report.check is not None and report.check.ok
    model = build_model("resnet50_gn", device="meta")
    norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(norms) == 53 and {m.num_groups for m in norms} == {32}  # 49 + 4 projections
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert "layer1.0.downsample.1.weight" in model.state_dict()  # torchvision's names kept


def _forward(sd, x):
    """ResNet-50 (v1.5) with GroupNorm(32) from a state_dict alone, written here."""

    def gn(t, prefix):
        return F.group_norm(t, 32, sd[f"{prefix}.weight"], sd[f"{prefix}.bias"])

    x = F.relu(gn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), "bn1"))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage, count in enumerate([3, 4, 6, 3]):
        for index in range(count):
            p = f"layer{stage + 1}.{index}"
            stride = 2 if stage > 0 and index == 0 else 1
            out = F.relu(gn(F.conv2d(x, sd[f"{p}.conv1.weight"]), f"{p}.bn1"))
            out = F.conv2d(out, sd[f"{p}.conv2.weight"], stride=stride, padding=1)
            out = gn(F.conv2d(F.relu(gn(out, f"{p}.bn2")), sd[f"{p}.conv3.weight"]), f"{p}.bn3")
            identity = x
            if f"{p}.downsample.0.weight" in sd:
                projected = F.conv2d(x, sd[f"{p}.downsample.0.weight"], stride=stride)
                identity = gn(projected, f"{p}.downsample.1")
            x = F.relu(out + identity)
    x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    return F.linear(x, sd["fc.weight"], sd["fc.bias"])


def test_the_forward_equals_an_independent_re_statement():
    model = build_model("resnet50_gn", seed=1).eval()
    with torch.no_grad():
        for module in model.modules():  # a scale and shift that are not 1 and 0
            if isinstance(module, torch.nn.GroupNorm):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
        x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(model(x), _forward(model.state_dict(), x))


def test_macs_on_a_real_forward_and_fvcores_count():
    report = summarize("resnet50_gn", input_shape="3x64x64", fvcore=True)
    model = build_model("resnet50_gn").eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert counter.get_total_flops() == 2 * report.totals.macs
    ours = summarize("resnet50_gn", input_shape="3x64x64").flops
    assert report.flops.engine == "fvcore"
    assert ours.by_operator == report.flops.by_operator  # group_norm: 5 per element
    assert ours.by_operator["group_norm"] == 5 * sum(
        row.output_shape[1] * row.output_shape[2] * row.output_shape[3]
        for row in summarize("resnet50_gn", input_shape="3x64x64").layers
        if row.type == "GroupNorm"
    )


@pytest.mark.parametrize(
    ("norm", "message"),
    [
        ("{type: group_norm, groups: 48}", "norm: bn1: 48 groups do not divide 64 channels"),
        ("{type: group_norm, groups: 0}", "norm.groups: groups must be a whole number"),
        ("{type: group_norm, size: 3}", "norm.size: unknown key in norm"),
        ("layer_norm", "norm: unknown norm 'layer_norm'"),
    ],
)
def test_bad_settings_are_located(write_spec, norm, message):
    path = write_spec(f"extends: resnet50\nnorm: {norm}\n")
    with pytest.raises(SpecError) as err:
        summarize(path)
    assert any(message in line and ":2:" in line for line in err.value.lines()), err.value.lines()
