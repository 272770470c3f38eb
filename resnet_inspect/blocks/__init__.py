"""The block registry: one module per block type, each declaring in one place what the block
takes and is.

A block type says how many filters it takes (the source notes' notation: [64, 64] for a basic
block, [64, 64, 256] for a bottleneck), its main-path layers for the spec-only plan (shapes,
parameters and MACs without torch), and its forward, which the builder gives to an nn.Module
made of those layers (build/blocks.py). The shortcut is not the block's business: the plan adds
the spec's shortcut (identity, projection, zero-pad) and the builder makes it a module of its
own kind, which the analyzers read from the model.

A block option is a setting any block can take, written as a top-level spec key (`se:
{reduction: 16}`): a module here with an OPTION declares its key, how its value is read, the
layers it adds after the block's main path (in a child module of its own, such as `se`) and
that child's forward, applied to the main path's output before the shortcut is added.

Adding a block type or option: a module here with a BLOCK or an OPTION (found by name, no list
to edit), presets, tests and docs. No torch is imported here: `validate` and `--help` stay fast.
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
    final_relu: str | None  # the ReLU after the residual add (None: pre-activation blocks)
    plan: Callable[[BlockInput], list[LayerPlan]]  # main-path layers, in forward order
    forward: Callable[[Any, Any], Any]  # forward(block, x) of the built nn.Module
    recipe: str  # the block in one line, for docs and --help
    # (params, MACs per image) of the main path by closed-form arithmetic on the block's
    # settings, written apart from `plan` (as the paper and pycls's complexity() do): what
    # `summary --check` holds the built model to
    complexity: Callable[[BlockInput], tuple[int, int]]
    projection_bn: bool = True  # a BN after the projection shortcut's 1x1 convolution
    # Layers after the last stage, before the head's pool: pre-activation nets end with BN and
    # ReLU ("final_bn", "final_relu"), as kinds of LayerPlan.
    tail: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockOption:
    """A setting any block can take. See the module docstring."""

    key: str  # the top-level spec key, and the child module's name in each block ("se")
    class_name: str  # the child nn.Module's class name ("SqueezeExcitation")
    # parse(value) -> (settings as JSON-native values, problems as (key path, message, hint))
    parse: Callable[[Any], tuple[dict[str, Any], list[tuple[tuple[str, ...], str, str]]]]
    plan: Callable[[dict[str, Any], LayerPlan], list[LayerPlan]]  # layers, names in the child
    forward: Callable[[Any, Any], Any]  # forward(child, out) -> out
    recipe: str
    example: str  # the key as written in a spec: "se: {reduction: 16}"
    # (params, MACs per image) of the child for a block of this many output channels, by
    # closed-form arithmetic written apart from `plan`
    complexity: Callable[[dict[str, Any], int], tuple[int, int]]


def recipe_of(docstring: str | None) -> str:
    """A block module's first docstring paragraph on one line: its recipe for docs and help."""
    return " ".join((docstring or "").split("\n\n")[0].split())


def _registry() -> tuple[dict[str, BlockType], dict[str, BlockOption]]:
    """Every module of this package that declares a BLOCK or an OPTION, in name order."""
    import importlib
    import pkgutil

    blocks: dict[str, BlockType] = {}
    options: dict[str, BlockOption] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        block = getattr(module, "BLOCK", None)
        option = getattr(module, "OPTION", None)
        if isinstance(block, BlockType):
            blocks[block.name] = block
        if isinstance(option, BlockOption):
            options[option.key] = option
    return blocks, options


BLOCKS, OPTIONS = _registry()
BLOCK_TYPES = tuple(BLOCKS)

__all__ = [
    "BLOCKS",
    "BLOCK_TYPES",
    "OPTIONS",
    "BlockInput",
    "BlockOption",
    "BlockType",
    "recipe_of",
]
