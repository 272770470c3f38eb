"""load -> check -> build (on the meta device) -> analyze -> Report."""

from __future__ import annotations

import os
from dataclasses import replace

from torch import nn

from resnet_inspect.analyze.layers import trace_layers
from resnet_inspect.build import build_model
from resnet_inspect.report import LayerRow, Report, StageRow, Totals
from resnet_inspect.spec import Spec, load_checked

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def summarize(
    target: str | os.PathLike[str] | Spec,
    *,
    input_shape: tuple[int, int, int] | None = None,
    batch_size: int = 1,
    dtype: str = "float32",
) -> Report:
    """The summary Report of a spec, spec file or preset, without running real activations."""
    spec, _ = load_checked(target if isinstance(target, Spec) else os.fspath(target))
    if input_shape is not None and tuple(input_shape) != spec.input:
        spec, _ = load_checked(replace(spec, input=tuple(input_shape)))  # re-check the shapes
    model = build_model(spec, device="meta").eval()
    return analyze_model(
        model,
        spec.input,
        batch_size=batch_size,
        dtype=dtype,
        name=spec.name,
        source=spec.source or spec.name,
        spec=spec,
    )


def analyze_model(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    batch_size: int = 1,
    dtype: str = "float32",
    name: str = "model",
    source: str = "",
    spec: Spec | None = None,
) -> Report:
    """Analyse a model that lives on the meta device (see summarize)."""
    rows = trace_layers(model, tuple(input_shape), batch_size)
    params = list({id(p): p for p in model.parameters()}.values())
    buffers = [b for b in model.buffers() if b.is_floating_point()]
    param_count = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    buffer_count = sum(b.numel() for b in buffers)
    leaves = [row for row in rows if row.is_leaf]
    macs = sum(row.macs for row in leaves)
    element_bytes = DTYPE_BYTES[dtype]
    totals = Totals(
        params=param_count,
        trainable_params=trainable,
        non_trainable_params=param_count - trainable,
        buffers=buffer_count,
        param_bytes=param_count * element_bytes,
        buffer_bytes=buffer_count * element_bytes,
        macs=macs,
        flops=2 * macs,
        keras_total_params=param_count + buffer_count,
        weighted_layers=sum(1 for row in leaves if row.type in _WEIGHTED),
        depth=sum(
            1 for row in leaves if row.type in _WEIGHTED and not row.name.endswith("downsample.0")
        ),
    )
    return Report(
        model=name,
        source=source,
        input_shape=list(input_shape),
        batch_size=batch_size,
        dtype=dtype,
        layers=rows,
        stages=_stage_rows(rows),
        totals=totals,
        spec=spec.to_dict() if spec is not None else None,
    )


_WEIGHTED = {"Conv1d", "Conv2d", "Conv3d", "Linear"}


def _stage_rows(rows: list[LayerRow]) -> list[StageRow]:
    """Stem (leaves before the first stage), each stage, head (leaves after the last stage)."""
    top = [row for row in rows if row.depth == 1]
    containers = [i for i, row in enumerate(top) if not row.is_leaf]
    if not containers:
        return []
    first, last = containers[0], containers[-1]
    blocks = {}
    for row in rows:
        if row.depth == 2:
            blocks[row.stage] = blocks.get(row.stage, 0) + 1
    result: list[StageRow] = []

    def group(name: str, kind: str, members: list[LayerRow]) -> None:
        if members:
            result.append(
                StageRow(
                    name=name,
                    kind=kind,
                    blocks=sum(blocks.get(m.name, 0) for m in members) if kind == "stage" else 0,
                    output_shape=members[-1].output_shape,
                    params=sum(m.params for m in members),
                    macs=sum(m.macs for m in members),
                )
            )

    group("stem", "stem", top[:first])
    for row in top[first : last + 1]:
        group(row.name, "stage" if not row.is_leaf else "other", [row])
    group("head", "head", top[last + 1 :])
    return result


__all__ = ["analyze_model", "summarize"]
