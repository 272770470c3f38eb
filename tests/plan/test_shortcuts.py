"""Shortcuts are read from the model, never from module names: the kind of a shortcut module,
or, in any other model, the data flow of the residual add."""

from __future__ import annotations

import torch
from torch import nn

from resnet_inspect import analyze, build_model, summarize
from resnet_inspect.plan.layer_kinds.padding import ZeroPadShortcut
from resnet_inspect.plan.shortcuts import Projection
from resnet_inspect.plan.tree import ShortcutModule


class RenamedBottleneck(nn.Module):
    """torchvision's bottleneck with its projection called `skip_path` and a plain Sequential."""

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out_channels = 4 * width
        self.reduce = nn.Conv2d(in_channels, width, 1, bias=False)
        self.inner = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.expand = nn.Conv2d(width, out_channels, 1, bias=False)
        self.skip_path = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand(torch.relu(self.inner(torch.relu(self.reduce(x)))))
        out += self.skip_path(x)
        return torch.relu(out)


class PreNormResidual(nn.Module):
    """x + f(x) with x from outside the block: an identity shortcut around two linear layers."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


def shortcut_edges(report) -> list[str]:
    return [edge["shortcut"] for edge in report.graph.edges if edge["shortcut"]]


def test_a_renamed_projection_is_found_from_the_data_flow():
    model = nn.Sequential(RenamedBottleneck(16, 8, 2), RenamedBottleneck(32, 8, 1))
    report = analyze(model, (16, 8, 8), graph=True)
    labels = shortcut_edges(report)
    # Block 0: input -> skip conv, skip conv -> skip BN, skip BN -> add; block 1's projection too
    # (its shape is the same, but the branch computes): 3 edges each.
    assert labels == ["projection"] * 6
    # Depth: 3 convolutions per block on the main path; the 1x1 projections are not counted.
    assert report.totals.weighted_layers == 8 and report.totals.depth == 6


def test_an_identity_around_a_computed_branch_counts_the_branch():
    report = analyze(PreNormResidual(16), (3, 4, 16), graph=True)
    assert shortcut_edges(report) == ["identity"]
    assert report.totals.depth == 2  # both linear layers are on the residual function's path


def test_our_blocks_say_their_kind():
    model = build_model("cifar_resnet20", device="meta")
    kinds = {type(m) for m in model.modules() if isinstance(m, ShortcutModule)}
    assert kinds == {ZeroPadShortcut.Module}
    resnet = build_model("resnet18", device="meta")
    assert isinstance(resnet.get_submodule("layer2.0.downsample"), Projection)
    labels = set(shortcut_edges(summarize("cifar_resnet20", graph=True)))
    assert labels == {"identity", "zero-pad"}
    labels = set(shortcut_edges(summarize("resnet18", graph=True)))
    assert labels == {"identity", "projection 1×1"}


def test_depth_is_the_papers_whatever_the_names():
    # ResNet-50 has 53 convolutions and an fc: 54 weighted layers; the paper's "50" leaves out
    # the 4 projection shortcuts, found here from the shortcut modules.
    assert summarize("resnet50").totals.depth == 50
    assert summarize("resnet50").totals.weighted_layers == 54
    assert summarize("cifar_resnet56").totals.depth == 56
