"""Spec -> plan tree (no torch): every layer's channels and feature-map size from the spec
alone, and the network's forward.

The plan is the single place that decides what each block looks like: the builder turns it
into modules, the plan's pass runs it on stand-ins, the spec checks read problems from it.
Output size of a convolution or pool: floor((size + 2*padding - kernel) / stride) + 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.blocks import OPTIONS, Block, BlockInput, StandInTensor
from resnet_inspect.plan.layer_kinds import (
    BATCH_NORM,
    LAYER_KINDS,
    Settings,
    make,
    norm_over,
    relu_layer,
)
from resnet_inspect.plan.plugins import block_type as find_block_type
from resnet_inspect.plan.shortcuts import NAME, SHORTCUTS, shortcut_for
from resnet_inspect.plan.tree import (
    BlockFacts,
    Container,
    Layer,
    ModuleRecipe,
    Node,
    Size,
    join,
    stage_name,
    walk,
)

if TYPE_CHECKING:
    from torch import nn

    from resnet_inspect.spec.parser import Spec

Path = tuple[str | int, ...]  # a key path in the spec, as spec/source.py locates it


@dataclass(frozen=True)
class NetworkPlan:
    """The plan tree of a network (`root`, the network itself) and its input."""

    input: tuple[int, int, int]
    root: Container
    out_channels: int
    out_size: Size

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every planned layer, in the order the modules are registered."""
        return tuple(node for _, node, _ in walk(self.root) if isinstance(node, Layer))

    @property
    def blocks(self) -> tuple[Container, ...]:
        """The residual blocks, in order."""
        return tuple(
            node
            for _, node, _ in walk(self.root)
            if isinstance(node, Container) and node.kind == "block"
        )

    def layers_with_paths(self) -> Iterator[tuple[str, Layer]]:
        """(module path, layer) for every planned layer."""
        for path, node, _ in walk(self.root):
            if isinstance(node, Layer):
                yield path, node


@dataclass(frozen=True)
class PlanIssue:
    path: Path
    message: str
    hint: str = ""


def head_layer_names(pool: str) -> tuple[str, str]:
    """The module names of the head's global pool and classifier (torchvision's for avg)."""
    return ("avgpool" if pool == "avg" else "global_maxpool", "fc")


def _fmt(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


class ResNet(ModuleRecipe):
    """Stem layers, then stages `layer1`, `layer2`, ..., then the head: a final BN-ReLU for
    pre-activation blocks, and the optional pool + `fc`."""

    def __init__(self, node: Container, children: dict[str, nn.Module]) -> None:
        super().__init__()
        for name, module in children.items():
            self.add_module(name, module)
        self.stem_names, self.stage_names, self.head_names = network_order(node)
        self.flatten_before = {
            child.name
            for child in node.children
            if isinstance(child, Layer) and child.kind == "linear"
        }

    def forward(self, x: StandInTensor) -> StandInTensor:
        for name in self.stem_names:
            x = getattr(self, name)(x)
        for name in self.stage_names:
            x = getattr(self, name)(x)
        for name in self.head_names:
            if name in self.flatten_before:
                x = x.flatten(1)
            x = getattr(self, name)(x)
        return x


def network_order(node: Container) -> tuple[list[str], list[str], list[str]]:
    """The network's children as stem (before the first stage), stages, head (after)."""
    names = [child.name for child in node.children]
    stages = [
        child.name
        for child in node.children
        if isinstance(child, Container) and child.kind == "stage"
    ]
    if not stages:
        return names, [], []
    first, last = names.index(stages[0]), names.index(stages[-1])
    return names[:first], stages, names[last + 1 :]


def plan_network(spec: Spec) -> tuple[NetworkPlan, list[PlanIssue]]:
    """Work out every layer's shape; report what cannot be built instead of raising."""
    issues: list[PlanIssue] = []
    channels, height, width = spec.input
    size: Size = (height, width)
    norm: Settings = getattr(spec, "norm", BATCH_NORM)
    stem: list[Node] = []
    for i, entry in enumerate(spec.stem):
        layer = _stem_layer(entry, channels, size, norm)
        if min(layer.out_size) < 1:
            issues.append(
                PlanIssue(
                    ("stem", i),
                    f"feature map shrinks to {max(layer.out_size[0], 0)}x"
                    f"{max(layer.out_size[1], 0)} here "
                    f"({entry.type} {entry.kernel}x{entry.kernel} on {_fmt(size)})",
                    "use a larger input or smaller kernel/stride",
                )
            )
            return _empty(spec), issues
        stem.append(layer)
        channels, size = layer.out_channels, layer.out_size

    block_type = find_block_type(spec.block)
    stages: list[Node] = []
    for s, stage in enumerate(spec.stages):
        blocks: list[Node] = []
        for b in range(stage.blocks):
            override = stage.overrides[b] if stage.overrides else None
            filters_path: Path = ("stages", s, "filters")
            block_path: Path = ("stages", s, "blocks", b) if stage.overrides else ("stages", s)
            if override is not None and override.filters is not None:
                filters_path = ("stages", s, "blocks", b, "filters")
            filters = (override.filters if override else None) or stage.filters
            block = _plan_block(
                spec,
                block_type,
                join(stage_name(s), str(b)),
                (s, b),
                channels,
                size,
                filters,
                stage.stride if b == 0 else 1,
                override.shortcut if override else None,
                (filters_path, block_path),
                norm,
                issues,
            )
            blocks.append(block)
            assert block.block is not None
            channels, size = block.block.out_channels, block.block.out_size
        stages.append(Container(stage_name(s), "stage", tuple(blocks)))

    head: list[Node] = []
    for name, kind in block_type.tail if stages else ():  # pre-activation's final BN-ReLU
        if kind == "norm":
            head.append(norm_over(name, channels, size, norm))
        else:
            head.append(make(kind, name, channels, size))
    if spec.head is not None:
        pool_name, fc_name = head_layer_names(spec.head.pool)
        pool_kind = "adaptive_avgpool" if spec.head.pool == "avg" else "adaptive_maxpool"
        head.append(make(pool_kind, pool_name, channels, size, out_size=(1, 1)))
        head.append(
            make("linear", fc_name, channels, (1, 1), out_channels=spec.head.classes, bias=True)
        )
    root = Container("", "network", (*stem, *stages, *head), ResNet)
    _norm_problems(root, norm, issues)
    return NetworkPlan(spec.input, root, channels, size), issues


def _stem_layer(entry: Any, channels: int, size: Size, norm: Settings) -> Layer:
    """A stem entry of the spec as a planned layer; `bn` is the spec's norm."""
    if entry.type == "bn":
        return norm_over(entry.name, channels, size, norm)
    if entry.type == "pad":
        p = entry.padding
        return make("pad", entry.name, channels, size, padding=(p, p, p, p))
    if entry.type in ("conv", "maxpool", "avgpool"):
        return make(
            entry.type,
            entry.name,
            channels,
            size,
            out_channels=entry.out_channels or channels,
            kernel=(entry.kernel, entry.kernel),
            stride=(entry.stride, entry.stride),
            padding=(entry.padding, entry.padding),
            bias=entry.bias,
        )
    return make(entry.type, entry.name, channels, size)


def _norm_problems(root: Container, norm: Settings, issues: list[PlanIssue]) -> None:
    """The first planned norm layer its kind refuses (a group count that does not divide its
    channels), located at the spec's `norm:`."""
    kind = LAYER_KINDS[norm["type"]]
    for path, node, _ in walk(root):
        if isinstance(node, Layer) and node.kind == kind.name:
            problem = kind.problem(node)
            if problem is not None:
                issues.append(PlanIssue(("norm",), f"{path}: {problem}"))
                return


def _empty(spec: Spec) -> NetworkPlan:
    channels, height, width = spec.input
    return NetworkPlan(spec.input, Container("", "network", (), ResNet), channels, (height, width))


def _plan_block(
    spec: Spec,
    block_type: type[Block],
    path: str,
    place: tuple[int, int],
    in_channels: int,
    in_size: Size,
    filters: tuple[int, ...],
    stride: int,
    declared: str | None,
    paths: tuple[Path, Path],
    norm: Settings,
    issues: list[PlanIssue],
) -> Container:
    stage, index = place
    filters_path, block_path = paths
    out_channels = filters[-1]
    out_size = ((in_size[0] - 1) // stride + 1, (in_size[1] - 1) // stride + 1)
    same_shape = in_channels == out_channels and stride == 1
    shortcut = declared or shortcut_for(spec.shortcut, same_shape)
    where = f"block {path}"
    # the fix, in the words of where the shortcut was chosen: this block's entry (a kind) or
    # the spec's top-level option (a letter)
    projection = (
        "shortcut: projection in this block's entry"
        if declared
        else "shortcut: B (a 1x1 projection where the shape changes)"
    )
    if shortcut == "identity" and in_channels != out_channels:
        fix = list(filters[:-1]) + [in_channels]
        issues.append(
            PlanIssue(
                filters_path,
                f"{where}: identity shortcut cannot add {out_channels} channels to {in_channels}",
                f"write {projection}, or filters {fix}",
            )
        )
    elif shortcut == "identity" and stride != 1:
        issues.append(
            PlanIssue(
                block_path,
                f"{where}: identity shortcut cannot follow a stride-{stride} block "
                f"({_fmt(in_size)} -> {_fmt(out_size)})",
                "write shortcut: projection or zeropad in this block's entry"
                if declared
                else "write shortcut: B or A",
            )
        )
    elif shortcut == "zeropad" and out_channels < in_channels:
        issues.append(
            PlanIssue(
                filters_path,
                f"{where}: zero-padding shortcut cannot reduce {in_channels} channels to "
                f"{out_channels}",
                f"write {projection}",
            )
        )
    groups = spec.groups if block_type.grouped else 1
    if groups > 1:
        for value in (filters[i] for i in block_type.grouped):
            if value % groups:
                issues.append(
                    PlanIssue(
                        filters_path,
                        f"{where}: groups {groups} does not divide the inner width {value}",
                        f"use a multiple of {groups}, e.g. {value + groups - value % groups}",
                    )
                )
                groups = 1  # keep planning with a valid layout
                break
    main = block_type.plan(
        BlockInput(in_channels, in_size, filters, stride, groups, spec.bias, spec.stride_on, norm)
    )
    last = main[-1]
    children: list[Node] = list(main)
    for key, settings in spec.options.items():  # block options: a child module after the path
        option = OPTIONS[key]
        children.append(Container(key, "option", tuple(option.plan(settings, last)), option))
    if block_type.final_relu is not None:
        children.append(relu_layer(block_type.final_relu, last))
    branch = SHORTCUTS[shortcut].plan(
        in_channels,
        out_channels,
        stride,
        in_size,
        {"bias": spec.bias, "norm": norm, "projection_norm": block_type.projection_norm},
    )
    if branch is not None:
        assert branch.name == NAME
        children.append(branch)
    facts = BlockFacts(
        type=spec.block,
        path=path,
        stage=stage,
        index=index,
        in_channels=in_channels,
        out_channels=out_channels,
        in_size=in_size,
        out_size=out_size,
        stride=stride,
        shortcut=shortcut,
    )
    return Container(str(index), "block", tuple(children), block_type, facts)


__all__ = [
    "NetworkPlan",
    "PlanIssue",
    "ResNet",
    "head_layer_names",
    "network_order",
    "plan_network",
]
