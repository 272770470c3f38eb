"""Complexity from the spec's fields alone, by closed-form formulas (`summary --check`): the
paper's and pycls's `complexity()` way. Each block type and option states its own arithmetic
(`complexity` in resnet_inspect/blocks/); the stem, shortcuts and head are counted here. None
of it reads the layer plan the builder turns into modules, so a wrong plan (a layer missing,
a stride in the wrong place) shows as a mismatch against the model counted layer by layer
(the pass over the plan, or over the built model with from_model). No torch.
"""

from __future__ import annotations

from resnet_inspect.plan.blocks import OPTIONS, BlockInput
from resnet_inspect.plan.plugins import block_type as find_block_type
from resnet_inspect.plan.shortcuts import SHORTCUTS, shortcut_for
from resnet_inspect.plan.tree import stage_name
from resnet_inspect.report import CheckRow, CheckSection, StageRow
from resnet_inspect.spec import Spec

Cost = tuple[int, int]  # params, MACs per image


def _after(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _stem(spec: Spec) -> tuple[Cost, int, tuple[int, int]]:
    """The stem's cost, and the channels and size it hands to the first block."""
    channels, height, width = spec.input
    params = macs = 0
    for layer in spec.stem:
        if layer.type == "conv":
            out = layer.out_channels or channels
            height = _after(height, layer.kernel, layer.stride, layer.padding)
            width = _after(width, layer.kernel, layer.stride, layer.padding)
            weights = layer.kernel * layer.kernel * channels * out
            params += weights + (out if layer.bias else 0)
            macs += weights * height * width
            channels = out
        elif layer.type == "bn":
            params += 2 * channels
        elif layer.type in ("maxpool", "avgpool"):
            height = _after(height, layer.kernel, layer.stride, layer.padding)
            width = _after(width, layer.kernel, layer.stride, layer.padding)
        elif layer.type == "pad":
            height, width = height + 2 * layer.padding, width + 2 * layer.padding
    return (params, macs), channels, (height, width)


def closed_form_stages(spec: Spec) -> dict[str, Cost | None]:
    """Stage name ("stem", "layer1", ..., "head") -> (params, MACs per image); None for the
    stages whose block type states no closed form (a block of your own may not)."""
    stem, channels, size = _stem(spec)
    result: dict[str, Cost | None] = {"stem": stem} if spec.stem else {}
    block_type = find_block_type(spec.block)
    for index, stage in enumerate(spec.stages):
        params = macs = 0
        stated = True
        for number in range(stage.blocks):
            override = stage.overrides[number] if stage.overrides else None
            filters = (override.filters if override else None) or stage.filters
            stride = stage.stride if number == 0 else 1
            groups = spec.groups if block_type.grouped else 1
            block = BlockInput(
                channels, size, filters, stride, groups, spec.bias, spec.stride_on, spec.norm
            )
            cost = block_type.complexity(block)
            stated = stated and cost is not None
            block_params, block_macs = cost or (0, 0)
            out = filters[-1]
            size = (-(-size[0] // stride), -(-size[1] // stride))
            for key, settings in spec.options.items():
                option_params, option_macs = OPTIONS[key].complexity(settings, out)
                block_params, block_macs = block_params + option_params, block_macs + option_macs
            declared = override.shortcut if override else None
            kind = declared or shortcut_for(spec.shortcut, channels == out and stride == 1)
            shortcut_params, shortcut_macs = SHORTCUTS[kind].complexity(
                channels,
                out,
                size,
                {"bias": spec.bias, "projection_norm": block_type.projection_norm},
            )
            block_params, block_macs = block_params + shortcut_params, block_macs + shortcut_macs
            params, macs = params + block_params, macs + block_macs
            channels = out
        result[stage_name(index)] = (params, macs) if stated else None
    if block_type.tail or spec.head is not None:
        norms = [kind for _, kind in block_type.tail if kind == "norm"]
        params = 2 * channels if norms and spec.stages else 0
        macs = 0
        if spec.head is not None:  # global pool, then the classifier with a bias
            params += channels * spec.head.classes + spec.head.classes
            macs += channels * spec.head.classes
        result["head"] = (params, macs)
    return result


def check_closed_form(spec: Spec, stages: list[StageRow], batch_size: int) -> CheckSection:
    """Per-stage closed-form vs measured params and MACs; `ok` is False on any difference."""
    expected = closed_form_stages(spec)
    measured = {stage.name: (stage.params, stage.macs) for stage in stages}
    rows = []
    for name in dict.fromkeys([*expected, *measured]):
        cost = expected.get(name, (0, 0))
        got_params, got_macs = measured.get(name, (0, 0))
        if cost is None:  # the block type states no closed form: nothing to hold it to
            rows.append(CheckRow(name, None, got_params, None, got_macs, True))
            continue
        params, macs = cost
        rows.append(
            CheckRow(
                name=name,
                analytic_params=params,
                measured_params=got_params,
                analytic_macs=macs * batch_size,
                measured_macs=got_macs,
                ok=params == got_params and macs * batch_size == got_macs,
            )
        )
    return CheckSection(ok=all(row.ok for row in rows), stages=rows)
