"""Receptive field and effective stride, along every path of the data flow.

Each activation carries a local field per spatial axis (receptive field, jump), starting at
(1, 1) for the input, the channel count it has, and the module where it became global, if it
did. A window op (convolution, pooling) with kernel k, stride s and dilation d gives
rf + (k - 1) * d * jump and jump * s. Where paths meet (the residual add) the result takes the
largest field of its inputs: the max over all paths, shortcuts included.

A global operation anywhere upstream makes an output see the whole input (its gradient support
is every input pixel): global pooling or a mean over the positions, a product of two
activations (attention), a weight product that contracts more than the channel axis (a Linear
over flattened positions, MLP-Mixer's token mixing). Such an output is reported as "global",
with the module where it became global, and keeps its local field through convolution and
pooling windows only (`local_receptive_field`: the figure the ResNet papers count). Views,
copies (`contiguous`), permutes and channel-wise work (batch/layer norm, activations, a Linear
over the channel axis of a channels-last tensor) pass the field on unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from resnet_inspect.analyzers.flops import PRODUCTS, has_weight
from resnet_inspect.analyzers.records import OpCall, Trace

_GLOBAL_POOLS = {"aten::adaptive_avg_pool2d", "aten::adaptive_max_pool2d"}


@dataclass(frozen=True)
class Field:
    """What one activation sees of the input."""

    local: tuple[int, int, int, int] | None  # rf_h, rf_w, jump_h, jump_w; None: no positions
    channels: int | None
    global_from: str | None = None  # the module where a global operation first reached it

    @property
    def size(self) -> int | None:
        return max(self.local[0], self.local[1]) if self.local else None

    @property
    def stride(self) -> int | None:
        return max(self.local[2], self.local[3]) if self.local else None


def _spatial(shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[-2], shape[-1]) if len(shape) >= 4 else (1, shape[-1])


def _step(op: OpCall, fields: dict[int, Field | None]) -> Field | None:
    operands = [ref for ref in op.inputs if not ref.is_state and ref.key in fields]
    known = [(ref, fields[ref.key]) for ref in operands if fields[ref.key] is not None]
    if not known:
        return None
    first_ref, first = known[0]
    assert first is not None
    global_from = next((f.global_from for _, f in known if f and f.global_from), None)
    locals_ = [f.local for _, f in known if f is not None and f.local is not None]
    local = (
        (
            max(f[0] for f in locals_),
            max(f[1] for f in locals_),
            max(f[2] for f in locals_),
            max(f[3] for f in locals_),
        )
        if locals_
        else None
    )
    channels = first.channels
    out_shape = op.outputs[0].shape if op.outputs else ()
    becomes_global = False
    if op.name in PRODUCTS:
        contracted = first_ref.shape[-1] if first_ref.shape else 0
        # a weight product over the channel axis alone works position by position
        becomes_global = not has_weight(op) or contracted != first.channels
        channels = out_shape[-1] if out_shape else None
    elif op.name == "aten::scaled_dot_product_attention" or op.global_reduce:
        becomes_global = True
    elif op.name in _GLOBAL_POOLS and len(first_ref.shape) >= 3:
        (in_h, in_w), (out_h, out_w) = _spatial(first_ref.shape), _spatial(out_shape)
        if out_h * out_w == 1 and in_h * in_w > 1:
            becomes_global = True
        elif local is not None and (out_h, out_w) != (in_h, in_w):
            # windows of ceil(in/out) at a stride of in // out (exact when out divides in)
            kernel = (math.ceil(in_h / out_h), math.ceil(in_w / out_w))
            stride = (max(1, in_h // out_h), max(1, in_w // out_w))
            local = _window(local, kernel, stride, (1, 1))
    elif op.kernel is not None and op.stride is not None and local is not None:
        kernel = (op.kernel[-2] if len(op.kernel) > 1 else 1, op.kernel[-1])
        stride = (op.stride[-2] if len(op.stride) > 1 else 1, op.stride[-1])
        dilation = (op.dilation[-2] if len(op.dilation) > 1 else 1, op.dilation[-1])
        if op.transposed:
            # an output position sees ceil(k·d / s) input positions; the jump shrinks by s
            span = tuple(
                math.ceil((k - 1) * d / s) + 1
                for k, d, s in zip(kernel, dilation, stride, strict=True)
            )
            local = _window(local, (span[0], span[1]), (1, 1), (1, 1))
            local = (
                local[0],
                local[1],
                max(1, local[2] // stride[0]),
                max(1, local[3] // stride[1]),
            )
        else:
            local = _window(local, kernel, stride, dilation)
    if op.name == "aten::convolution" and op.weight_shape:
        channels = op.weight_shape[0]
    if becomes_global:
        global_from = global_from or op.module or "(model)"
        if len(out_shape) < 3 or op.global_reduce or op.name in _GLOBAL_POOLS:
            local = None
    return Field(local, channels, global_from)


def _window(
    local: tuple[int, int, int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[int, int, int, int]:
    rf_h, rf_w, jump_h, jump_w = local
    return (
        rf_h + (kernel[0] - 1) * dilation[0] * jump_h,
        rf_w + (kernel[1] - 1) * dilation[1] * jump_w,
        jump_h * stride[0],
        jump_w * stride[1],
    )


def propagate(trace: Trace) -> list[Field | None]:
    """The field of each op's first output, right after the op ran."""
    channels = trace.input.shape[1] if len(trace.input.shape) > 1 else None
    fields: dict[int, Field | None] = {trace.input.key: Field((1, 1, 1, 1), channels)}
    after: list[Field | None] = []
    for op in trace.ops:
        result = _step(op, fields)
        for ref in op.outputs:
            fields[ref.key] = result
        after.append(fields[op.outputs[0].key] if op.outputs else None)
    return after


def final_field(trace: Trace, after: list[Field | None]) -> Field | None:
    """The field of the last feature map with positions (before global pooling)."""
    for op, result in zip(reversed(trace.ops), reversed(after), strict=True):
        if result is not None and result.local is not None and op.outputs:
            if len(op.outputs[0].shape) >= 3:
                return result
    return None
