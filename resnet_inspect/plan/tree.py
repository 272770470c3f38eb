"""The plan tree (no torch): every module a spec's network is made of, with its shape.

A node is a Layer (a leaf: one layer kind with its settings and the feature-map sizes it
takes and gives) or a Container (the network, a stage, a residual block, a block option's
child module, a projection shortcut) whose children are nodes. A node's `name` is its
attribute name in its parent; the dotted module path (`layer1.0.conv1`, the key of
`named_modules()` and of the state_dict) is made by walking the tree, never stored in a node
and never split again. The builder (resnet_inspect/model/), the plan's pass
(analyzers/plan_pass.py) and the traced fast path (analyzers/trace/) are walkers over this tree
and the layer kinds' table (plan/layer_kinds/).

What a container is made into, and what runs when it is called, is its `recipe`: a class
written out in plan/ (a block type such as Bottleneck, a block option, a shortcut) whose
forward is shared by the built nn.Module and the plan's stand-ins (ModuleRecipe).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from torch import nn

Size = tuple[int, int]
Pair = tuple[int, int]


@dataclass(frozen=True)
class Layer:
    """One layer: its kind (a key of plan.layer_kinds.LAYER_KINDS), its settings, and the
    channels and feature-map size it takes and gives. What it costs, which nn.Module it is and
    which operation it records are its kind's business (`LAYER_KINDS[layer.kind]`)."""

    name: str
    kind: str
    in_channels: int
    out_channels: int
    in_size: Size
    out_size: Size
    kernel: Pair = (1, 1)
    stride: Pair = (1, 1)
    # (height, width) for windows; (left, right, top, bottom) for a padding layer
    padding: tuple[int, ...] = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False
    affine: bool = True  # a norm's learnable scale and shift
    inplace: bool = True  # an activation that writes its input (every ReLU the plan makes)

    @property
    def params(self) -> int:
        from resnet_inspect.plan.layer_kinds import LAYER_KINDS

        return LAYER_KINDS[self.kind].params(self)

    @property
    def buffers(self) -> int:
        from resnet_inspect.plan.layer_kinds import LAYER_KINDS

        return LAYER_KINDS[self.kind].buffers(self)

    @property
    def macs(self) -> int:
        """Multiply-adds of weights per image (the paper's and torchvision's convention)."""
        from resnet_inspect.plan.layer_kinds import LAYER_KINDS

        return LAYER_KINDS[self.kind].macs(self)


@dataclass(frozen=True)
class BlockFacts:
    """What a residual block is: its type (the spec's `block:` word), its place, its shapes
    and its shortcut kind."""

    type: str
    path: str  # its module path, "layer1.0"
    stage: int  # 0-based
    index: int  # 0-based within the stage
    in_channels: int
    out_channels: int
    in_size: Size
    out_size: Size
    stride: int
    shortcut: str  # a key of plan.shortcuts.SHORTCUTS: identity, projection, zeropad, ...


# What a container is: the network, a stage (nn.Sequential), a residual block, a block
# option's child module, a shortcut branch of more than one layer.
CONTAINER_KINDS = ("network", "stage", "block", "option", "shortcut")


@dataclass(frozen=True)
class Container:
    """A module that holds others. Its children are in the order the nn.Module registers
    them (the state_dict's order)."""

    name: str
    kind: str  # one of CONTAINER_KINDS
    children: tuple[Node, ...]
    recipe: type[ModuleRecipe] | None = None  # block, option and shortcut containers
    block: BlockFacts | None = None  # for kind == "block"

    @property
    def type_name(self) -> str:
        """The nn.Module's class name, as reports show it."""
        if self.recipe is not None:
            return self.recipe.__name__
        return {"network": "ResNet", "stage": "Sequential"}[self.kind]

    def child(self, name: str) -> Node | None:
        return next((child for child in self.children if child.name == name), None)


Node = Layer | Container


def join(path: str, name: str) -> str:
    """A child's module path from its parent's ("" is the network)."""
    return f"{path}.{name}" if path else name


def walk(node: Node, path: str = "") -> Iterator[tuple[str, Node, str | None]]:
    """Every node below `node` (itself first, pre-order): (module path, node, parent path)."""
    stack: list[tuple[str, Node, str | None]] = [(path, node, None)]
    while stack:
        here, current, parent = stack.pop()
        yield here, current, parent
        if isinstance(current, Container):
            stack.extend(
                (join(here, child.name), child, here) for child in reversed(current.children)
            )


def stage_name(index: int) -> str:
    """A stage's module name from its 0-based index: torchvision's `layer1`, `layer2`, …"""
    return f"layer{index + 1}"


class _TorchClass:
    """`Recipe.Module`: the recipe's nn.Module class, made on first use (it needs torch, which
    plan/ never imports at load). It subclasses the recipe, so its forward is the recipe's;
    it is named as the recipe is and found at `Recipe.Module`, so models pickle."""

    def __get__(self, instance: object, owner: type[ModuleRecipe]) -> type[nn.Module]:
        made: type[nn.Module] | None = owner.__dict__.get("_torch_class")
        if made is None:
            bases = owner.torch_bases()
            made = type(
                owner.__name__,
                (owner, *bases),
                {
                    "__module__": owner.__module__,
                    "__qualname__": f"{owner.__qualname__}.Module",
                    "__doc__": owner.__doc__,
                },
            )
            type.__setattr__(made, "_torch_class", made)  # its own Module is itself
            type.__setattr__(owner, "_torch_class", made)
        return made


class ModuleRecipe:
    """A kind of module written out as a class in plan/ (no torch at load): its `forward`, and
    what its nn.Module is made of. `Recipe.Module` is the nn.Module class (the recipe and
    `torch_bases()`), made when a model is built; the plan's pass calls the same forward on
    stand-ins. A recipe's `__init__` runs only on the nn.Module: it calls `super().__init__()`
    first (the torch base's), then adds what the module holds."""

    Module: ClassVar[Any] = _TorchClass()
    if TYPE_CHECKING:  # its children and nn.Module's methods, for the forward's type checks

        def __getattr__(self, name: str) -> Any: ...

    # Its children run in order, as nn.Sequential runs them (its nn.Module is one).
    sequential: ClassVar[bool] = False

    @classmethod
    def torch_bases(cls) -> tuple[type, ...]:
        """The torch classes the nn.Module adds to the recipe (imported here, on first use)."""
        from torch import nn

        return (nn.Sequential,) if cls.sequential else (nn.Module,)

    @classmethod
    def recipe(cls) -> str:
        """The class docstring's first paragraph on one line: the recipe for docs and help."""
        return " ".join((cls.__doc__ or "").split("\n\n")[0].split())


class ShortcutModule:
    """Marks a module as a residual block's shortcut branch; `shortcut_kind` says which (the
    analyzers read it from the model: identity is no module at all)."""

    shortcut_kind: ClassVar[str] = "shortcut"
