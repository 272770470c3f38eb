"""Block types and block options (no torch at load), each a class written out in one module.

A block type (a subclass of Block, such as Bottleneck) says how many filters it takes (the
source notes' notation: [64, 64] for a basic block, [64, 64, 256] for a bottleneck), its
main-path layers for the plan (`plan`), its forward, and its cost by closed-form arithmetic
(`complexity`, what `summary --check` holds the layer-by-layer count to). Its nn.Module is
`Bottleneck.Module`: the same class with torch's nn.Module behind it, so the forward written
here runs on the built model, and on the plan's stand-ins without torch. The shortcut is not
the block's business: the plan adds the spec's shortcut (plan/shortcuts.py).

A block option (a subclass of BlockOption, such as SqueezeExcitation) is a setting any block
can take, written as a top-level spec key (`se: {reduction: 16}`): how its value is read, the
layers it adds after the block's main path (in a child module of its own), that child's
forward, applied to the main path's output before the shortcut is added, and its cost.

Adding either: a module here, or a class in your own package (README, "Your own blocks");
classes register themselves when they are defined. A forward may call the block's modules and
use `out + x`, `out += x`, `out * gate` and `out.flatten(1)` on what they return (the
operations the plan's stand-ins model, StandInTensor); any other operation makes the summary
fall back to tracing the built model, which it says in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from resnet_inspect.plan.layer_kinds import BATCH_NORM, Settings
from resnet_inspect.plan.tree import Container, Layer, ModuleRecipe, Size

if TYPE_CHECKING:
    from torch import nn

SettingProblem = tuple[tuple[str, ...], str, str]  # (key path, message, hint)


class StandInTensor(Protocol):
    """What a block's or option's forward may do with a tensor: the operations the plan's
    stand-ins model (and torch's tensors have). A module called with one returns one."""

    def __add__(self, other: Any) -> Any: ...
    def __iadd__(self, other: Any) -> Any: ...
    def __mul__(self, other: Any) -> Any: ...
    def flatten(self, start_dim: int = ...) -> Any: ...


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
    # the spec's `norm:` (the kind under "type", its settings)
    norm: Settings = field(default_factory=lambda: dict(BATCH_NORM))


# The spec's `block:` word -> block type; option key -> option. Filled as classes are defined.
BLOCKS: dict[str, type[Block]] = {}
OPTIONS: dict[str, type[BlockOption]] = {}


def _register(table: dict[str, Any], key: str, cls: type, what: str) -> None:
    known = table.get(key)
    same = known is not None and (known.__module__, known.__qualname__) == (
        cls.__module__,
        cls.__qualname__,
    )
    if known is not None and not same:
        raise TypeError(
            f"{what} {key!r} of {cls.__module__}.{cls.__qualname__} is already taken by "
            f"{known.__module__}.{known.__qualname__}; give it another name"
        )
    table[key] = cls


class Block(ModuleRecipe):
    """A kind of residual block. Subclasses set the class attributes below, `plan`, `forward`
    and (for `summary --check`) `complexity`; the docstring's first paragraph is its recipe
    ("3×3 conv, BN, ReLU, 3×3 conv, BN; add shortcut; ReLU")."""

    name: ClassVar[str] = ""  # the spec's `block:` word; registers the block type
    filters: ClassVar[int] = 0  # how many filters a block takes
    example: ClassVar[str] = ""  # a filters example for messages: "[64, 64, 256]"
    grouped: ClassVar[tuple[int, ...]] = ()  # filters a grouped conv splits (() = no groups)
    final_relu: ClassVar[str | None] = None  # the ReLU after the residual add, if any
    projection_norm: ClassVar[bool] = True  # a norm after the projection shortcut's 1×1 conv
    # Layers after the last stage, before the head's pool, as (module name, layer kind, where
    # "norm" is the spec's norm): pre-activation nets end with BN and ReLU.
    tail: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("name"):
            _register(BLOCKS, cls.name, cls, "block type")

    @classmethod
    def plan(cls, block: BlockInput) -> list[Layer]:
        """The main path's layers in forward order, named as the state_dict names them."""
        raise NotImplementedError(f"{cls.__name__} has no plan")

    @classmethod
    def complexity(cls, block: BlockInput) -> tuple[int, int] | None:
        """(params, MACs per image) of the main path by closed-form arithmetic on the block's
        settings, written apart from `plan` (as the paper and pycls's complexity() do); None
        where the block states none (`--check` then says so)."""
        return None

    def __init__(self, node: Container, children: dict[str, nn.Module]) -> None:
        """The nn.Module: the planned children (main path, options, shortcut) as built."""
        super().__init__()
        for name, module in children.items():
            self.add_module(name, module)
        assert node.block is not None
        self.options = [
            child.name
            for child in node.children
            if isinstance(child, Container) and child.kind == "option"
        ]
        self.residual = node.block.shortcut != "none"
        if "downsample" not in children:
            self.downsample = None

    def forward(self, x: Any) -> Any:
        raise NotImplementedError

    def add_shortcut(self, out: Any, x: Any) -> Any:
        """The block options (an SE gate…) on the main path's output, then + shortcut(x): in
        place, as torchvision does (`out += identity`). A plain block (`shortcut: none`) adds
        nothing."""
        for name in self.options:
            out = getattr(self, name)(out)
        if not self.residual:
            return out
        out += x if self.downsample is None else self.downsample(x)
        return out


class BlockOption(ModuleRecipe):
    """A setting any block can take. Subclasses set `key` and `example`, and write `parse`,
    `plan`, `complexity` and `forward`."""

    key: ClassVar[str] = ""  # the top-level spec key, and the child module's name ("se")
    example: ClassVar[str] = ""  # the key as written in a spec: "se: {reduction: 16}"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("key"):
            _register(OPTIONS, cls.key, cls, "block option")

    @classmethod
    def parse(cls, value: Any) -> tuple[dict[str, Any], list[SettingProblem]]:
        """The spec's value -> (settings as JSON-native values, problems)."""
        raise NotImplementedError

    @classmethod
    def plan(cls, settings: dict[str, Any], after: Layer) -> list[Layer]:
        """The child module's layers, named within it, over the main path's last layer."""
        raise NotImplementedError

    @classmethod
    def complexity(cls, settings: dict[str, Any], channels: int) -> tuple[int, int]:
        """(params, MACs per image) of the child for a block of this many output channels, by
        closed-form arithmetic written apart from `plan`."""
        raise NotImplementedError

    def __init__(self, node: Container, children: dict[str, nn.Module]) -> None:
        super().__init__()
        for name, module in children.items():
            self.add_module(name, module)

    def forward(self, x: Any) -> Any:
        raise NotImplementedError


def _register_ours() -> None:
    """Import every module of this package: each defines its classes (no list to edit)."""
    import importlib
    import pkgutil

    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        importlib.import_module(f"{__name__}.{info.name}")


_register_ours()

__all__ = ["BLOCKS", "OPTIONS", "Block", "BlockInput", "BlockOption", "StandInTensor"]
