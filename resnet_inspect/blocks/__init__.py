"""The block registry: one module per block type, each declaring in one place what the block
takes and is.

A block type says how many filters it takes (the source notes' notation: [64, 64] for a basic
block, [64, 64, 256] for a bottleneck), its main-path layers for the spec-only plan (shapes,
parameters and MACs without torch), and its forward, which the builder gives to an nn.Module
made of those layers (build/blocks.py). The shortcut is not the block's business: the plan adds
the spec's shortcut (identity, projection, zero-pad) and the builder makes it a module of its
own kind, which the analyzers read from the model.

Adding a block type: a module here with a BLOCK, one line in BLOCKS, presets, tests and docs.
No torch is imported here: `validate` and `--help` stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resnet_inspect.blocks.layers import LayerPlan, Size


@dataclass(frozen=True)
class BlockInput:
    """What a block type plans from: the spec's settings and the block's place in the net."""

    in_channels: int
    in_size: Size
    filters: tuple[int, ...]
    stride: int
    groups: int  # already checked to divide the grouped widths (or 1)
    bias: bool
    stride_on: str  # "1x1" (v1: paper, Caffe, Keras) or "3x3" (v1.5: torchvision)


@dataclass(frozen=True)
class BlockType:
    """One kind of residual block. See the module docstring."""

    name: str  # the spec's `block:` value
    class_name: str  # the nn.Module's class name in reports ("Bottleneck")
    filters: int  # how many filters a block takes
    example: str  # a filters example for messages: "[64, 64, 256]"
    grouped: tuple[int, ...]  # indices of the filters a grouped conv splits (() = no groups)
    final_relu: str  # the ReLU after the residual add
    plan: Callable[[BlockInput], list[LayerPlan]]  # main-path layers, in forward order
    forward: Callable[[Any, Any], Any]  # forward(block, x) of the built nn.Module
    recipe: str  # the block in one line, for docs and --help


def _registry() -> dict[str, BlockType]:
    from resnet_inspect.blocks import basic, bottleneck

    return {block.name: block for block in (basic.BLOCK, bottleneck.BLOCK)}


BLOCKS: dict[str, BlockType] = _registry()
BLOCK_TYPES = tuple(BLOCKS)

__all__ = ["BLOCKS", "BLOCK_TYPES", "BlockInput", "BlockType"]
