"""Residual blocks as nn.Modules, one class per registered block type (resnet_inspect/blocks/),
with torchvision's attribute names (conv1, bn1, ..., downsample.0/1).

Each block is made from its BlockPlan, so the shapes are the ones the spec checks computed; its
forward is the block type's. ReLUs are separate modules (relu1, relu2, ...) instead of
torchvision's one shared `relu`, so every per-layer row has its own shape; ReLU has no state,
so state_dicts are unaffected.

The shortcut is a module of its own kind (a Shortcut: Projection, ZeroPadShortcut), or None
for identity, so the analyzers read what a branch is from the model, never from its name.
"""

from __future__ import annotations

import sys
from typing import TypeVar

import torch
from torch import nn

from resnet_inspect.blocks import BLOCKS, OPTIONS, BlockOption, BlockType
from resnet_inspect.blocks.forward import add_shortcut
from resnet_inspect.blocks.layers import LayerPlan
from resnet_inspect.build.layers import Shortcut, make_layer
from resnet_inspect.spec.plan import BlockPlan

ModuleT = TypeVar("ModuleT", bound=nn.Module)


class Projection(nn.Sequential, Shortcut):
    """Option B/C's shortcut: a strided 1×1 convolution and its BN (torchvision's
    `downsample`, state_dict keys `downsample.0.*` and `downsample.1.*`)."""

    kind = "projection"


class AvgPoolProjection(nn.Sequential, Shortcut):
    """ResNet-D's shortcut (He et al. 2019): average pool at the stride, then a 1×1 convolution
    and BN at stride 1 (timm's `downsample.0/1/2`)."""

    kind = "avgpool_projection"


def _shortcut(plan: BlockPlan) -> nn.Module | None:
    """The shortcut branch: projection (1x1 conv + BN), average pool + projection, zero-pad,
    identity (None) or none."""
    layers = {layer.name: layer for layer in plan.layers}
    if plan.shortcut == "projection":  # its BN, where the block type has one
        names = [name for name in ("downsample.0", "downsample.1") if name in layers]
        return Projection(*(make_layer(layers[name]) for name in names))
    if plan.shortcut == "avgpool_projection":
        return AvgPoolProjection(*(make_layer(layers[f"downsample.{i}"]) for i in range(3)))
    if plan.shortcut == "zeropad":
        return make_layer(layers["downsample"])
    return None


class ResidualBlock(nn.Module):
    """A block's main-path layers (from its plan), its shortcut, and its type's forward."""

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        children = plan.option_layers
        for layer in plan.layers:  # modules in the plan's order, each option where it starts
            child = layer.name.partition(".")[0]
            if child in children and not hasattr(self, child):
                self.add_module(child, OPTION_MODULES[child](children[child]))
            elif child not in children and not layer.name.startswith("downsample"):
                self.add_module(layer.name, make_layer(layer))
        self.options = list(children)
        self.downsample = _shortcut(plan)
        self.residual = plan.shortcut != "none"

    def add_shortcut(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The block options on the main path's output, then + shortcut(x), in place
        (blocks/forward.py, shared with the plan's pass)."""
        result: torch.Tensor = add_shortcut(self, out, x)
        return result


class OptionModule(nn.Module):
    """A block option's child module (`se`): its planned layers and its option's forward."""

    def __init__(self, layers: list[LayerPlan]) -> None:
        super().__init__()
        for layer in layers:
            self.add_module(layer.name, make_layer(layer))


def _module_class(base: type[ModuleT], kind: BlockType | BlockOption) -> type[ModuleT]:
    """A subclass of `base` named as the block type or option says, with its forward; set on
    this module so that it can be imported by name (models pickle)."""
    cls = type(
        kind.class_name,
        (base,),
        {"forward": kind.forward, "__doc__": kind.recipe, "__module__": __name__},
    )
    setattr(sys.modules[__name__], kind.class_name, cls)
    return cls


# One nn.Module class per block option (SqueezeExcitation, ...) and per block type (BasicBlock,
# Bottleneck, ...).
OPTION_MODULES: dict[str, type[OptionModule]] = {
    key: _module_class(OptionModule, option) for key, option in OPTIONS.items()
}
BLOCK_MODULES: dict[str, type[ResidualBlock]] = {
    name: _module_class(ResidualBlock, block) for name, block in BLOCKS.items()
}
