"""The plan (no torch at load): the typed tree of a network's modules (tree.py), the layer
kinds (layer_kinds/), block types and options (blocks/), shortcut kinds (shortcuts.py), the
planner from a spec (network.py) and the blocks and layer kinds of other packages
(plugins.py)."""

from resnet_inspect.plan.blocks import BLOCKS, OPTIONS, Block, BlockInput, BlockOption
from resnet_inspect.plan.layer_kinds import (
    LAYER_KINDS,
    LayerKind,
    conv_layer,
    make,
    norm_layer,
    norm_over,
    post_activation,
    pre_activation,
    relu_layer,
)
from resnet_inspect.plan.network import NetworkPlan, PlanIssue, ResNet, plan_network
from resnet_inspect.plan.shortcuts import SHORTCUTS, Shortcut, shortcut_for
from resnet_inspect.plan.tree import (
    BlockFacts,
    Container,
    Layer,
    ModuleRecipe,
    Node,
    ShortcutModule,
    join,
    stage_name,
    walk,
)

__all__ = [
    "BLOCKS",
    "LAYER_KINDS",
    "OPTIONS",
    "SHORTCUTS",
    "Block",
    "BlockFacts",
    "BlockInput",
    "BlockOption",
    "Container",
    "Layer",
    "LayerKind",
    "ModuleRecipe",
    "NetworkPlan",
    "Node",
    "PlanIssue",
    "ResNet",
    "Shortcut",
    "ShortcutModule",
    "conv_layer",
    "join",
    "make",
    "norm_layer",
    "norm_over",
    "plan_network",
    "post_activation",
    "pre_activation",
    "relu_layer",
    "shortcut_for",
    "stage_name",
    "walk",
]
