"""Receptive field and effective stride: hand-worked nets, the presets, and an empirical check
(the gradient support of one output unit with positive weights)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from factories import TwoBranches
from resnet_inspect import analyze, build_model, summarize


def test_chain_by_hand():
    # 3x3/1: rf 3, jump 1; 3x3/2: 3 + 2*1 = 5, jump 2; 3x3/1: 5 + 2*2 = 9, jump 2.
    model = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, 2, 1), nn.Conv2d(1, 1, 3, padding=1)
    )
    report = analyze(model, (1, 32, 32))
    assert [(r.receptive_field, r.effective_stride) for r in report.layers] == [
        (3, 1),
        (5, 2),
        (9, 2),
    ]
    assert (report.totals.receptive_field, report.totals.effective_stride) == (9, 2)


def test_branches_take_the_largest_path():
    report = analyze(TwoBranches(), (1, 32, 32))
    assert report.totals.receptive_field == 7


def test_dilation_and_pooling_by_hand():
    # 3x3 dilation 2: 1 + 2*2 = 5; max-pool 2/2: 5 + 1 = 6, jump 2; 3x3: 6 + 2*2 = 10.
    model = nn.Sequential(
        nn.Conv2d(1, 1, 3, padding=2, dilation=2), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, padding=1)
    )
    assert analyze(model, (1, 16, 16)).totals.receptive_field == 10


def test_resnet50_by_hand():
    # Stem 7x7/2: 7 (jump 2); max-pool 3x3/2: 7 + 2*2 = 11 (jump 4). Each 3x3 adds 2 x jump.
    # layer1: 3 blocks x 8 -> 35. layer2 (v1.5, stride on the 3x3 at jump 4): +8 -> 43, jump 8,
    # then 3 x 16 -> 91. layer3: +16 -> 107, jump 16, then 5 x 32 -> 267. layer4: +32 -> 299,
    # jump 32, then 2 x 64 -> 427.
    report = summarize("resnet50")
    stages = {s.name: (s.receptive_field, s.effective_stride) for s in report.stages}
    assert stages["layer1"] == (35, 4)
    assert stages["layer2"] == (91, 8)
    assert stages["layer3"] == (267, 16)
    assert stages["layer4"] == (427, 32)
    assert (report.totals.receptive_field, report.totals.effective_stride) == (427, 32)


def test_v1_stride_placement_widens_the_field():
    # v1: the stride is on the 1x1, so each stage's first 3x3 already runs at the doubled jump:
    # layer2 35 + 16 + 3*16 = 99; layer3 99 + 32 + 5*32 = 291; layer4 291 + 64 + 2*64 = 483.
    assert summarize("resnet50_v1").totals.receptive_field == 483


def test_cifar_resnet20_by_hand():
    # 3x3 stem: 3; stage 1: 6 convs x 2 -> 15; stage 2: 3x3/2 +2 -> 17 (jump 2), then 5 x 4 -> 37;
    # stage 3: +4 -> 41 (jump 4), then 5 x 8 -> 81.
    report = summarize("cifar_resnet20")
    assert (report.totals.receptive_field, report.totals.effective_stride) == (81, 4)


def _empirical_field(name: str, size: int) -> tuple[int, int]:
    """Rows and columns of the input that one central output unit depends on, with every
    weight positive, batch norm the identity and max-pooling replaced by average pooling of
    the same window (max-pooling routes the gradient through one input only)."""
    model = build_model(name).eval()
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(
                    parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding)
                )
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(0.01)
    features = nn.Sequential(*[getattr(model, n) for n in [*model.stem_names, *model.stage_names]])
    x = torch.ones(1, 3, size, size, requires_grad=True)
    out = features(x)
    center = out.shape[-1] // 2
    out[0, 0, center, center].backward()
    rows = torch.nonzero(x.grad[0, 0].abs().sum(1)).flatten()
    columns = torch.nonzero(x.grad[0, 0].abs().sum(0)).flatten()
    return int(rows[-1] - rows[0] + 1), int(columns[-1] - columns[0] + 1)


@pytest.mark.parametrize(("name", "size"), [("cifar_resnet20", 128), ("resnet18", 512)])
def test_empirical_gradient_support_equals_the_computed_field(name, size):
    computed = summarize(name).totals.receptive_field
    assert _empirical_field(name, size) == (computed, computed)
