"""Receptive field and effective stride, along every path of the data flow.

Each tensor carries (receptive field, jump) per spatial axis, starting at (1, 1) for the input.
A window op (convolution, pooling) with kernel k, stride s and dilation d gives
rf + (k - 1) * d * jump and jump * s. Where paths meet (the residual add) the result takes the
largest receptive field of its inputs: the max over all paths, shortcuts included. Global
pooling and everything after it see the whole input (no receptive field is reported there).
Where a global path rejoins a spatial one (a squeeze-and-excitation gate scaling each channel),
the output keeps its positions and its window: the field is the local one, through
convolution and pooling windows, as the ResNet papers count it.
"""

from __future__ import annotations

from resnet_inspect.analyzers.trace import OpCall, Trace

Field = tuple[int, int, int, int]  # rf_h, rf_w, jump_h, jump_w

# After these the output no longer has positions tied to a window of the input.
_GLOBAL = {
    "aten::adaptive_avg_pool2d",
    "aten::adaptive_max_pool2d",
    "aten::mean",
    "aten::linear",
    "aten::addmm",
    "aten::mm",
    "aten::matmul",
}


def _step(op: OpCall, fields: dict[int, Field | None]) -> Field | None:
    known = [fields[ref.key] for ref in op.inputs if not ref.is_state and ref.key in fields]
    spatial = [f for f in known if f is not None]
    if not spatial or op.name in _GLOBAL:
        return None
    rf_h, rf_w = max(f[0] for f in spatial), max(f[1] for f in spatial)
    jump_h, jump_w = max(f[2] for f in spatial), max(f[3] for f in spatial)
    if op.kernel is not None and op.stride is not None:
        rf_h += (op.kernel[0] - 1) * op.dilation[0] * jump_h
        rf_w += (op.kernel[1] - 1) * op.dilation[1] * jump_w
        jump_h *= op.stride[0]
        jump_w *= op.stride[1]
    return (rf_h, rf_w, jump_h, jump_w)


def propagate(trace: Trace) -> list[Field | None]:
    """The field of each op's first output, right after the op ran."""
    fields: dict[int, Field | None] = {trace.input.key: (1, 1, 1, 1)}
    after: list[Field | None] = []
    for op in trace.ops:
        result = _step(op, fields)
        for ref in op.outputs:
            fields[ref.key] = result if len(ref.shape) >= 3 else None
        after.append(fields[op.outputs[0].key] if op.outputs else None)
    return after


def final_field(trace: Trace, after: list[Field | None]) -> Field | None:
    """The field of the last spatial feature map (before global pooling)."""
    for op, result in zip(reversed(trace.ops), reversed(after), strict=True):
        if result is not None and op.outputs and len(op.outputs[0].shape) >= 3:
            return result
    return None
