"""Residual blocks with torchvision's attribute names (conv1, bn1, ..., downsample.0/1).

Each block is made from a BlockPlan, so the shapes are the ones the spec checks computed.
ReLUs are separate modules (relu1, relu2, ...) instead of torchvision's one shared `relu`, so
every per-layer row has its own shape; ReLU has no state, so state_dicts are unaffected.
"""

from __future__ import annotations

import torch
from torch import nn

from resnet_inspect.build.layers import make_layer
from resnet_inspect.spec.plan import BlockPlan


def _shortcut(plan: BlockPlan) -> nn.Module | None:
    """The shortcut branch: projection (1x1 conv + BN), zero-pad, identity (None) or none."""
    layers = {layer.name: layer for layer in plan.layers}
    if plan.shortcut == "projection":
        return nn.Sequential(make_layer(layers["downsample.0"]), make_layer(layers["downsample.1"]))
    if plan.shortcut == "zeropad":
        return make_layer(layers["downsample"])
    return None


class _Block(nn.Module):
    # Made by add_module from the plan; declared here for readers and type checkers.
    conv1: nn.Module
    bn1: nn.Module
    relu1: nn.Module
    conv2: nn.Module
    bn2: nn.Module
    relu2: nn.Module
    conv3: nn.Module
    bn3: nn.Module
    relu3: nn.Module

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        for layer in plan.layers:
            if not layer.name.startswith("downsample"):
                self.add_module(layer.name, make_layer(layer))
        self.downsample = _shortcut(plan)
        self.residual = plan.shortcut != "none"

    def _add_shortcut(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return out
        # In place, as torchvision does; also keeps the meta-device shape pass fast.
        out += x if self.downsample is None else self.downsample(x)
        return out


class BasicBlock(_Block):
    """3x3 conv, BN, ReLU, 3x3 conv, BN; add shortcut; ReLU. The stride sits on the first 3x3."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(self._add_shortcut(out, x))


class Bottleneck(_Block):
    """1x1 reduce, BN, ReLU, 3x3 (grouped), BN, ReLU, 1x1 expand, BN; add shortcut; ReLU.

    The stride sits on the 1x1 ("v1": paper, Caffe, Keras) or the 3x3 ("v1.5": torchvision),
    as the plan says.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(self._add_shortcut(out, x))


BLOCKS: dict[str, type[_Block]] = {"basic": BasicBlock, "bottleneck": Bottleneck}
