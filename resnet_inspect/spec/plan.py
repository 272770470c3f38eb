"""Shape arithmetic from the spec alone (no torch): every layer's channels and feature-map size.

The plan is the single place that decides what each block looks like: the builder turns it
into modules, the checks read problems from it, and the analytic complexity counts it.
Output size of a convolution or pool: floor((size + 2*padding - kernel) / stride) + 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from resnet_inspect.blocks import BLOCKS, OPTIONS, BlockInput
from resnet_inspect.blocks.layers import LayerPlan, Size, bn_layer, conv_layer, relu_layer
from resnet_inspect.blocks.layers import out_size as window_size
from resnet_inspect.spec.schema import BlockOverride, Spec, head_layer_names
from resnet_inspect.spec.source import Path


@dataclass(frozen=True)
class BlockPlan:
    name: str  # "layer1.0"
    stage: int  # 0-based
    index: int  # 0-based within the stage
    type: str  # basic | bottleneck
    in_channels: int
    out_channels: int
    in_size: Size
    out_size: Size
    stride: int
    shortcut: str  # identity | projection | zeropad | none
    layers: tuple[LayerPlan, ...]  # names relative to the block: conv1, bn1, ..., downsample.0

    @property
    def option_layers(self) -> dict[str, list[LayerPlan]]:
        """Each block option's child module (`se`) -> its layers, named within the child, in
        the order the options apply."""
        children: dict[str, list[LayerPlan]] = {}
        for layer in self.layers:
            child, _, rest = layer.name.partition(".")
            if child in OPTIONS:
                children.setdefault(child, []).append(replace(layer, name=rest))
        return children


@dataclass(frozen=True)
class NetworkPlan:
    input: tuple[int, int, int]
    stem: tuple[LayerPlan, ...]
    blocks: tuple[BlockPlan, ...]
    head: tuple[LayerPlan, ...]
    out_channels: int
    out_size: Size

    @property
    def layers(self) -> tuple[LayerPlan, ...]:
        """Every planned layer: stem, each block's, head."""
        return (*self.stem, *(layer for block in self.blocks for layer in block.layers), *self.head)

    def stage_blocks(self, stage: int) -> tuple[BlockPlan, ...]:
        return tuple(block for block in self.blocks if block.stage == stage)


@dataclass(frozen=True)
class PlanIssue:
    path: Path
    message: str
    hint: str = ""


def _fmt(size: Size) -> str:
    return f"{size[0]}x{size[1]}"


def shortcut_for(option: str, same_shape: bool) -> str:
    """The paper's options: A zero-pad, B project where the shape changes, C project always;
    D (He et al. 2019, "Bag of Tricks", ResNet-D) average-pool, then project, where the shape
    changes."""
    if option == "none":
        return "none"
    if option == "C":
        return "projection"
    if same_shape:
        return "identity"
    return {"A": "zeropad", "D": "avgpool_projection"}.get(option, "projection")


def plan_network(spec: Spec) -> tuple[NetworkPlan, list[PlanIssue]]:
    """Work out every layer's shape; report what cannot be built instead of raising."""
    issues: list[PlanIssue] = []
    channels, height, width = spec.input
    size: Size = (height, width)
    stem: list[LayerPlan] = []
    for i, layer in enumerate(spec.stem):
        out_channels = channels
        if layer.type == "pad":
            out_size = (size[0] + 2 * layer.padding, size[1] + 2 * layer.padding)
        elif layer.type in ("conv", "maxpool", "avgpool"):
            out_size = window_size(size, layer.kernel, layer.stride, layer.padding)
            if layer.type == "conv":
                out_channels = layer.out_channels or channels
        else:
            out_size = size
        if min(out_size) < 1:
            issues.append(
                PlanIssue(
                    ("stem", i),
                    f"feature map shrinks to {max(out_size[0], 0)}x{max(out_size[1], 0)} here "
                    f"({layer.type} {layer.kernel}x{layer.kernel} on {_fmt(size)})",
                    "use a larger input or smaller kernel/stride",
                )
            )
            return _empty(spec), issues
        stem.append(
            LayerPlan(
                name=layer.name,
                type=layer.type,
                in_channels=channels,
                out_channels=out_channels,
                in_size=size,
                out_size=out_size,
                kernel=layer.kernel,
                stride=layer.stride,
                padding=layer.padding,
                bias=layer.bias,
            )
        )
        channels, size = out_channels, out_size

    blocks: list[BlockPlan] = []
    for s, stage in enumerate(spec.stages):
        for b in range(stage.blocks):
            override = stage.overrides[b] if stage.overrides else BlockOverride()
            filters_path: Path = ("stages", s, "filters")
            block_path: Path = ("stages", s, "blocks", b) if stage.overrides else ("stages", s)
            if override.filters is not None:
                filters_path = ("stages", s, "blocks", b, "filters")
            filters = override.filters or stage.filters
            stride = stage.stride if b == 0 else 1
            block = _plan_block(
                spec,
                s,
                b,
                channels,
                size,
                filters,
                stride,
                override.shortcut,
                filters_path,
                block_path,
                issues,
            )
            blocks.append(block)
            channels, size = block.out_channels, block.out_size

    head: list[LayerPlan] = []
    for kind in BLOCKS[spec.block].tail if blocks else ():  # e.g. pre-activation's final BN-ReLU
        head.append(LayerPlan(f"final_{kind}", kind, channels, channels, size, size))
    if spec.head is not None:
        pool_name, fc_name = head_layer_names(spec.head)
        pool_type = "global_avgpool" if spec.head.pool == "avg" else "global_maxpool"
        head.append(LayerPlan(pool_name, pool_type, channels, channels, size, (1, 1)))
        head.append(
            LayerPlan(fc_name, "linear", channels, spec.head.classes, (1, 1), (1, 1), bias=True)
        )
    plan = NetworkPlan(spec.input, tuple(stem), tuple(blocks), tuple(head), channels, size)
    return plan, issues


def _avgpool_projection(
    in_channels: int, out_channels: int, stride: int, in_size: Size, bias: bool
) -> list[LayerPlan]:
    """ResNet-D's shortcut (timm's avg_down): a 2×2 average pool at the stride (ceil mode, padding
    not counted; nothing at stride 1), then a 1×1 convolution and BN at stride 1, so the
    projection sees every input position instead of a quarter of them."""
    if stride > 1:
        pooled = (-(-(in_size[0] - 2) // stride) + 1, -(-(in_size[1] - 2) // stride) + 1)
        pool = LayerPlan(
            "downsample.0", "avgpool_ceil", in_channels, in_channels, in_size, pooled, 2, stride
        )
    else:
        pool = LayerPlan("downsample.0", "identity", in_channels, in_channels, in_size, in_size)
    conv = conv_layer("downsample.1", in_channels, out_channels, 1, 1, pool.out_size, 1, bias)
    return [pool, conv, bn_layer("downsample.2", conv)]


def _empty(spec: Spec) -> NetworkPlan:
    return NetworkPlan(spec.input, (), (), (), spec.input[0], (spec.input[1], spec.input[2]))


def _plan_block(
    spec: Spec,
    stage: int,
    index: int,
    in_channels: int,
    in_size: Size,
    filters: tuple[int, ...],
    stride: int,
    declared: str | None,
    filters_path: Path,
    block_path: Path,
    issues: list[PlanIssue],
) -> BlockPlan:
    out_channels = filters[-1]
    out_size = ((in_size[0] - 1) // stride + 1, (in_size[1] - 1) // stride + 1)
    same_shape = in_channels == out_channels and stride == 1
    shortcut = declared or shortcut_for(spec.shortcut, same_shape)
    where = f"block layer{stage + 1}.{index}"
    if shortcut == "identity" and in_channels != out_channels:
        fix = list(filters[:-1]) + [in_channels]
        issues.append(
            PlanIssue(
                filters_path,
                f"{where}: identity shortcut cannot add {out_channels} channels to {in_channels}",
                f"use shortcut: projection, or filters {fix}",
            )
        )
    elif shortcut == "identity" and stride != 1:
        issues.append(
            PlanIssue(
                block_path,
                f"{where}: identity shortcut cannot follow a stride-{stride} block "
                f"({_fmt(in_size)} -> {_fmt(out_size)})",
                "use shortcut: projection or zeropad",
            )
        )
    elif shortcut == "zeropad" and out_channels < in_channels:
        issues.append(
            PlanIssue(
                filters_path,
                f"{where}: zero-padding shortcut cannot reduce {in_channels} channels to "
                f"{out_channels}",
                "use shortcut: projection",
            )
        )
    block_type = BLOCKS[spec.block]
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
    layers = block_type.plan(
        BlockInput(in_channels, in_size, filters, stride, groups, spec.bias, spec.stride_on)
    )
    last = layers[-1]
    for key, settings in spec.options.items():  # block options: a child module after the path
        layers += [
            replace(layer, name=f"{key}.{layer.name}")
            for layer in OPTIONS[key].plan(settings, last)
        ]
    if shortcut == "projection":
        projection = conv_layer(
            "downsample.0", in_channels, out_channels, 1, stride, in_size, 1, spec.bias
        )
        layers.append(projection)
        if block_type.projection_bn:
            layers.append(bn_layer("downsample.1", projection))
    elif shortcut == "avgpool_projection":
        layers += _avgpool_projection(in_channels, out_channels, stride, in_size, spec.bias)
    elif shortcut == "zeropad":
        layers.append(
            LayerPlan(
                "downsample", "zeropad", in_channels, out_channels, in_size, out_size, 1, stride
            )
        )
    if block_type.final_relu is not None:
        layers.append(relu_layer(block_type.final_relu, last))
    return BlockPlan(
        name=f"layer{stage + 1}.{index}",
        stage=stage,
        index=index,
        type=spec.block,
        in_channels=in_channels,
        out_channels=out_channels,
        in_size=in_size,
        out_size=out_size,
        stride=stride,
        shortcut=shortcut,
        layers=tuple(layers),
    )
