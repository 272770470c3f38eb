"""Complexity from the spec's fields alone, by closed-form formulas (`summary --check`): the
paper's and pycls's `complexity()` way. Each block type and option states its own arithmetic
(`complexity` in resnet_inspect/blocks/); the stem, shortcuts and head are counted here. None
of it reads the layer plan the builder turns into modules, so a wrong plan (a layer missing,
a stride in the wrong place) shows as a mismatch against the model counted layer by layer
(the pass over the plan, or over the built model with from_model). No torch.
"""

from __future__ import annotations

from resnet_inspect.blocks import BLOCKS, OPTIONS, BlockInput
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


def _shortcut(spec: Spec, declared: str | None, c_in: int, c_out: int, stride: int) -> str:
    """The paper's options: A zero-pad, B project where the shape changes, C always, D
    average-pool then project where it changes; `none` adds nothing."""
    if declared:
        return declared
    if spec.shortcut in ("none", "C"):
        return {"none": "none", "C": "projection"}[spec.shortcut]
    if c_in == c_out and stride == 1:
        return "identity"
    return {"A": "zeropad", "B": "projection", "D": "avgpool_projection"}[spec.shortcut]


def closed_form_stages(spec: Spec) -> dict[str, Cost]:
    """Stage name ("stem", "layer1", ..., "head") -> (params, MACs per image)."""
    stem, channels, size = _stem(spec)
    result = {"stem": stem} if spec.stem else {}
    block_type = BLOCKS[spec.block]
    for index, stage in enumerate(spec.stages):
        params = macs = 0
        for number in range(stage.blocks):
            override = stage.overrides[number] if stage.overrides else None
            filters = (override.filters if override else None) or stage.filters
            stride = stage.stride if number == 0 else 1
            groups = spec.groups if block_type.grouped else 1
            block = BlockInput(channels, size, filters, stride, groups, spec.bias, spec.stride_on)
            block_params, block_macs = block_type.complexity(block)
            out = filters[-1]
            size = (-(-size[0] // stride), -(-size[1] // stride))
            for key, settings in spec.options.items():
                option_params, option_macs = OPTIONS[key].complexity(settings, out)
                block_params, block_macs = block_params + option_params, block_macs + option_macs
            kind = _shortcut(spec, override.shortcut if override else None, channels, out, stride)
            if kind in ("projection", "avgpool_projection"):  # 1x1 c_in -> c_out at the output
                bn = 2 * out if block_type.projection_bn or kind == "avgpool_projection" else 0
                block_params += channels * out + (out if spec.bias else 0) + bn
                block_macs += channels * out * size[0] * size[1]
            params, macs = params + block_params, macs + block_macs
            channels = out
        result[f"layer{index + 1}"] = (params, macs)
    if block_type.tail or spec.head is not None:
        params = 2 * channels if "bn" in block_type.tail and spec.stages else 0
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
        params, macs = expected.get(name, (0, 0))
        got_params, got_macs = measured.get(name, (0, 0))
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
