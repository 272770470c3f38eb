"""Receptive field and effective stride, along every path of the data flow.

Each activation carries, per spatial axis, which input pixels each of its positions sees: an
`Axis` maps position q to an interval [lo(q), hi(q)] of input pixels, periodic in q (lo(q + P)
= lo(q) + D), so D / P input pixels separate neighbouring positions (the effective stride, a
fraction where a map has grown). The field counts the padding as pixels, as the papers do, so
one position's field is the same anywhere in the map; the receptive field is the largest
interval over the positions. Every resampling operation is one rule "output position q reads
input positions a(q)..b(q)": a convolution or pooling window (kernel, stride, dilation,
padding), a transposed convolution (an output position gets the inputs whose kernel taps land
on it), nearest, bilinear and bicubic interpolation (the source coordinate torch computes, with
the taps of non-zero weight), adaptive pooling, pixel shuffle and unshuffle. Where paths meet
(a residual add, a concatenation) each position sees the union of what its operands see.

A global operation anywhere upstream makes an output see the whole input (its gradient support
is every input pixel): global pooling or a mean over the positions, a product of two
activations (attention), a recurrent layer (each step sees the steps before it), a weight
product that contracts more than the channel axis (a Linear over flattened positions,
MLP-Mixer's token mixing). Such an output is reported as "global", with the module where it
became global, and keeps its local field through windows and resampling only
(`local_receptive_field`: the figure the ResNet papers count). Views, copies (`contiguous`),
permutes and channel-wise work (batch/layer norm, activations, a Linear over the channel axis
of a channels-last tensor) pass the field on unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from resnet_inspect.analyzers.flops import PRODUCTS, RECURRENT, has_weight
from resnet_inspect.analyzers.records import OpCall, Trace

_GLOBAL_POOLS = {"aten::adaptive_avg_pool2d", "aten::adaptive_max_pool2d"}
_ADAPTIVE = _GLOBAL_POOLS | {"aten::upsample_area", "aten::adaptive_avg_pool1d"}
_SHUFFLE = {"aten::pixel_shuffle", "aten::pixel_unshuffle"}
# A field's period is bounded: past it (sizes with large coprime factors resampled again and
# again) the pattern of the first positions stands for the rest.
MAX_PERIOD = 1 << 14

Interval = tuple[int, int] | None  # input positions a..b an output position reads; None: none


@dataclass(frozen=True)
class Axis:
    """What the positions of one axis see: position q sees input pixels lo(q)..hi(q), with
    lo(q + period) = lo(q) + shift; None where a position sees no input (a transposed
    convolution's gaps)."""

    period: int
    shift: int
    lo: tuple[int | None, ...]
    hi: tuple[int | None, ...]

    @property
    def size(self) -> int:
        return max(
            (
                h - low + 1
                for low, h in zip(self.lo, self.hi, strict=True)
                if low is not None and h is not None
            ),
            default=0,
        )

    @property
    def jump(self) -> Fraction:
        return Fraction(self.shift, self.period)

    def at(self, q: int) -> tuple[int | None, int | None]:
        turns, r = divmod(q, self.period)
        low, high = self.lo[r], self.hi[r]
        if low is None or high is None:
            return None, None
        return low + turns * self.shift, high + turns * self.shift


IDENTITY = Axis(1, 1, (0,), (0,))


def _read(axis: Axis, taps: Callable[[int], Interval], period: int, shift: int) -> Axis:
    """The axis after an operation whose output position q reads input positions taps(q),
    with taps(q + period) = taps(q) + shift."""
    turns = axis.period // math.gcd(shift, axis.period)
    out_period = period * turns
    out_shift = shift * turns // axis.period * axis.shift
    count = min(out_period, MAX_PERIOD)
    lows: list[int | None] = []
    highs: list[int | None] = []
    for q in range(count):
        interval = taps(q)
        low = high = None
        if interval is not None:
            first, last = interval
            for i in range(first, last + 1):  # the first input position that sees pixels
                low = axis.at(i)[0]
                if low is not None:
                    break
            for i in range(last, first - 1, -1):
                high = axis.at(i)[1]
                if high is not None:
                    break
        lows.append(low)
        highs.append(high)
    if count < out_period:  # the first positions stand for the rest
        out_shift = round(out_shift * count / out_period)
        out_period = count
    return Axis(out_period, out_shift, tuple(lows), tuple(highs))


def _union(axes: list[Axis]) -> Axis:
    """What a position sees through any of the operands (all on the same positions)."""
    if len(axes) == 1 or all(a == axes[0] for a in axes):
        return axes[0]
    if len({a.jump for a in axes}) > 1:  # not the same positions: the largest field stands
        return max(axes, key=lambda a: a.size)
    period = math.lcm(*(a.period for a in axes))
    if period > MAX_PERIOD:
        return max(axes, key=lambda a: a.size)
    lows: list[int | None] = []
    highs: list[int | None] = []
    for q in range(period):
        seen = [a.at(q) for a in axes]
        low_values = [low for low, _ in seen if low is not None]
        high_values = [high for _, high in seen if high is not None]
        lows.append(min(low_values) if low_values else None)
        highs.append(max(high_values) if high_values else None)
    shift = int(axes[0].jump * period)
    return Axis(period, shift, tuple(lows), tuple(highs))


def _window(axis: Axis, kernel: int, stride: int, dilation: int, padding: int) -> Axis:
    if kernel == 1 and stride == 1 and padding == 0:
        return axis
    span = (kernel - 1) * dilation

    def taps(q: int) -> Interval:
        return stride * q - padding, stride * q - padding + span

    return _read(axis, taps, 1, stride)


def _transposed(axis: Axis, kernel: int, stride: int, dilation: int, padding: int) -> Axis:
    """Output o receives input i wherever o = i·stride − padding + t·dilation, t < kernel."""
    table: list[Interval] = []
    for o in range(stride):
        sources = [
            (o + padding - t * dilation) // stride
            for t in range(kernel)
            if (o + padding - t * dilation) % stride == 0
        ]
        table.append((min(sources), max(sources)) if sources else None)

    def taps(q: int) -> Interval:
        turns, r = divmod(q, stride)
        entry = table[r]
        return None if entry is None else (entry[0] + turns, entry[1] + turns)

    return _read(axis, taps, stride, 1)


def _resample(axis: Axis, scale: Fraction, rule: Callable[[Fraction], tuple[int, int]]) -> Axis:
    """Output q reads rule(src(q)), src(q) = q·scale (+ an offset the rule adds): periodic
    with the scale's denominator."""
    if scale == 1 and rule(Fraction(0)) == (0, 0):
        return axis

    def taps(q: int) -> Interval:
        return rule(q * scale)

    return _read(axis, taps, scale.denominator, scale.numerator)


def _interpolation(op: OpCall, axis: Axis, size_in: int, size_out: int) -> Axis:
    name = op.name
    if "nearest" in name:
        scale = Fraction(size_in, size_out)
        offset = scale / 2 if "exact" in name else Fraction(0)

        def nearest(src: Fraction) -> tuple[int, int]:
            index = math.floor(src + offset)
            return index, index

        return _resample(axis, scale, nearest)
    if op.align_corners:
        scale = Fraction(size_in - 1, size_out - 1) if size_out > 1 else Fraction(0)
        offset = Fraction(0)
    else:
        scale = Fraction(size_in, size_out)
        offset = scale / 2 - Fraction(1, 2)
    cubic = "cubic" in name

    def linear(src: Fraction) -> tuple[int, int]:
        src += offset
        index = math.floor(src)
        if src == index:  # the other taps have weight 0
            return index, index
        return (index - 1, index + 2) if cubic else (index, index + 1)

    return _resample(axis, scale, linear)


def _adaptive(axis: Axis, size_in: int, size_out: int) -> Axis:
    """torch's adaptive windows: floor(q·in/out) .. ceil((q + 1)·in/out) − 1."""
    scale = Fraction(size_in, size_out)
    if scale == 1:
        return axis

    def taps(q: int) -> Interval:
        return math.floor(q * scale), math.ceil((q + 1) * scale) - 1

    return _read(axis, taps, scale.denominator, scale.numerator)


@dataclass(frozen=True)
class Field:
    """What one activation sees of the input."""

    local: tuple[Axis, Axis] | None  # height, width; None: no positions
    channels: int | None
    global_from: str | None = None  # the module where a global operation first reached it

    @property
    def size(self) -> int | None:
        return max(self.local[0].size, self.local[1].size) if self.local else None

    @property
    def stride(self) -> int | float | None:
        """Input pixels between neighbouring positions: a fraction (0.5) where the map grew."""
        if not self.local:
            return None
        jump = max(self.local[0].jump, self.local[1].jump)
        return jump.numerator if jump.denominator == 1 else round(float(jump), 6)


def _spatial(shape: tuple[int, ...]) -> tuple[int, int]:
    return (shape[-2], shape[-1]) if len(shape) >= 4 else (1, shape[-1])


def _last_two(values: tuple[int, ...] | list[int]) -> tuple[int, int]:
    return (values[-2] if len(values) > 1 else 1, values[-1])


def _resampled(
    op: OpCall, local: tuple[Axis, Axis], shape_in: tuple[int, ...]
) -> tuple[Axis, Axis]:
    """The field after a window or resampling operation; unchanged by any other."""
    out_shape = op.outputs[0].shape if op.outputs else ()
    if op.kernel is not None and op.stride is not None:
        kernel, stride = _last_two(op.kernel), _last_two(op.stride)
        dilation, padding = _last_two(op.dilation), _last_two(op.padding)
        step = _transposed if op.transposed else _window
        return (
            step(local[0], kernel[0], stride[0], dilation[0], padding[0]),
            step(local[1], kernel[1], stride[1], dilation[1], padding[1]),
        )
    if len(shape_in) < 3 or len(out_shape) < 3:
        return local
    sizes_in, sizes_out = _spatial(shape_in), _spatial(out_shape)
    if op.name == "aten::constant_pad_nd":
        padding = _last_two(op.padding)
        return (
            _window(local[0], 1, 1, 1, padding[0]),
            _window(local[1], 1, 1, 1, padding[1]),
        )
    if sizes_in == sizes_out:
        return local
    if (
        op.name.startswith(("aten::upsample_", "aten::_upsample_"))
        and op.name != "aten::upsample_area"
    ):
        return (
            _interpolation(op, local[0], sizes_in[0], sizes_out[0]),
            _interpolation(op, local[1], sizes_in[1], sizes_out[1]),
        )
    if op.name in _ADAPTIVE:
        return (
            _adaptive(local[0], sizes_in[0], sizes_out[0]),
            _adaptive(local[1], sizes_in[1], sizes_out[1]),
        )
    if op.name in _SHUFFLE:
        axes = []
        for axis, size_in, size_out in zip(local, sizes_in, sizes_out, strict=True):
            if size_out > size_in:  # shuffle: position q came from q // r
                factor = size_out // size_in
                axes.append(_resample(axis, Fraction(1, factor), lambda s: (math.floor(s),) * 2))
            else:  # unshuffle: r positions become channels
                factor = size_in // size_out
                axes.append(_window(axis, factor, factor, 1, 0))
        return axes[0], axes[1]
    return local


def _step(op: OpCall, fields: dict[int, Field | None]) -> Field | None:
    operands = [ref for ref in op.inputs if not ref.is_state and ref.key in fields]
    known = [(ref, fields[ref.key]) for ref in operands if fields[ref.key] is not None]
    if not known:
        return None
    first_ref, first = known[0]
    assert first is not None
    global_from = next((f.global_from for _, f in known if f and f.global_from), None)
    out_shape = op.outputs[0].shape if op.outputs else ()
    # operands on the output's positions (not a gate broadcast over them)
    with_positions = [(ref, f) for ref, f in known if f is not None and f.local is not None]
    same = [f for ref, f in with_positions if _spatial(ref.shape) == _spatial(out_shape)]
    chosen = same or [f for _, f in with_positions[:1]]
    local = (
        (
            _union([f.local[0] for f in chosen if f.local]),
            _union([f.local[1] for f in chosen if f.local]),
        )
        if chosen
        else None
    )
    channels = first.channels
    becomes_global = False
    if op.name in PRODUCTS:
        contracted = first_ref.shape[-1] if first_ref.shape else 0
        # a weight product over the channel axis alone works position by position
        becomes_global = not has_weight(op) or contracted != first.channels
        channels = out_shape[-1] if out_shape else None
    elif (
        op.name in RECURRENT or op.name == "aten::scaled_dot_product_attention" or op.global_reduce
    ):
        becomes_global = True
    elif op.name in _GLOBAL_POOLS and len(first_ref.shape) >= 3:
        (in_h, in_w), (out_h, out_w) = _spatial(first_ref.shape), _spatial(out_shape)
        if out_h * out_w == 1 and in_h * in_w > 1:
            becomes_global = True
    if local is not None and not becomes_global:
        local = _resampled(op, local, first_ref.shape)
    if op.name == "aten::convolution" and op.weight_shape:
        channels = op.weight_shape[0]
    if becomes_global:
        global_from = global_from or op.module or "(model)"
        if len(out_shape) < 3 or op.global_reduce or op.name in _GLOBAL_POOLS:
            local = None
    return Field(local, channels, global_from)


def propagate(trace: Trace) -> list[Field | None]:
    """The field of each op's first output, right after the op ran."""
    fields: dict[int, Field | None] = {
        ref.key: Field((IDENTITY, IDENTITY), ref.shape[1] if len(ref.shape) > 1 else None)
        for ref in trace.inputs
    }
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
