"""Recording one forward on the meta device: every ATen operator with its tensors (a
TorchDispatchMode), the functions fvcore's formulas are written for as one operation each (a
TorchFunctionMode), and the innermost module running each (the stack the module hooks keep).

Each tensor is marked as an activation (computed from the input) or a weight (parameters,
buffers and anything computed from them alone): a matrix product with a weight operand is a
layer's work (`macs`), one of two activations is attention (`attention_macs`). Storages are the
identity of tensors, so views and in-place writes keep the data flow. Elementwise results on
meta tensors are made here (torch computes them with Python reference code that imports sympy
on first use).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from resnet_inspect.analyzers.records import OpCall, TensorRef
from resnet_inspect.analyzers.trace.torch_internals import (
    DispatchMode,
    calls_attention,
    storage_key,
    with_attention,
)
from resnet_inspect.errors import AnalysisError
from resnet_inspect.plan.layer_kinds import pair

# ATen operators that only reinterpret memory, make new tensors or read metadata: no arithmetic,
# and the data flow follows the storage they share.
SKIPPED_ATEN = {
    "view",
    "_unsafe_view",
    "reshape",
    "t",
    "transpose",
    "permute",
    "expand",
    "select",
    "slice",
    "squeeze",
    "unsqueeze",
    "detach",
    "alias",
    "as_strided",
    "split",
    "split_with_sizes",
    "unbind",
    "chunk",
    "narrow",
    "empty",
    "empty_like",
    "empty_strided",
    "new_empty",
    "new_empty_strided",
    "new_zeros",
    "new_ones",
    "zeros",
    "zeros_like",
    "ones",
    "ones_like",
    "full",
    "full_like",
    "arange",
    "scalar_tensor",
    "lift_fresh",
    "lift_fresh_copy",
    "_local_scalar_dense",
    "sym_size",
    "sym_stride",
    "sym_numel",
    "is_same_size",
    "_has_compatible_shallow_copy_type",
}
# ATen operator -> the name the analyzers use (one name per operation, as fvcore writes it).
_ATEN_NAMES = {
    "native_batch_norm": "batch_norm",
    "_native_batch_norm_legit": "batch_norm",
    "_native_batch_norm_legit_no_training": "batch_norm",
    "native_layer_norm": "layer_norm",
    "native_group_norm": "group_norm",
    "max_pool2d_with_indices": "max_pool2d",
    "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "_softmax": "softmax",
    "_safe_softmax": "softmax",
    "_scaled_dot_product_flash_attention_for_cpu": "scaled_dot_product_attention",
    "_scaled_dot_product_efficient_attention": "scaled_dot_product_attention",
    "_scaled_dot_product_flash_attention": "scaled_dot_product_attention",
    "_scaled_dot_product_cudnn_attention": "scaled_dot_product_attention",
    "_to_copy": "to",
}
# Functions recorded as one operation (the ATen operators inside them are not recorded apart):
# those fvcore has a formula for, as TorchScript records them, and pooling and attention.
_FUNCTIONS = {
    "conv1d": "convolution",
    "conv2d": "convolution",
    "conv3d": "convolution",
    "conv_transpose1d": "convolution",
    "conv_transpose2d": "convolution",
    "conv_transpose3d": "convolution",
    "linear": "linear",
    "matmul": "matmul",
    "__matmul__": "matmul",
    "__rmatmul__": "matmul",
    "bmm": "bmm",
    "mm": "mm",
    "addmm": "addmm",
    "einsum": "einsum",
    "batch_norm": "batch_norm",
    "layer_norm": "layer_norm",
    "group_norm": "group_norm",
    "instance_norm": "instance_norm",
    "interpolate": "interpolate",
    "adaptive_avg_pool1d": "adaptive_avg_pool1d",
    "adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "adaptive_max_pool2d": "adaptive_max_pool2d",
    "max_pool2d": "max_pool2d",
    "avg_pool2d": "avg_pool2d",
    "grid_sample": "grid_sampler",
    "scaled_dot_product_attention": "scaled_dot_product_attention",
}


def tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in tensors_in(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in tensors_in(item)]
    return []


def named_tensors(value: Any, path: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every tensor in what a forward returned, with its place: "" (the value itself), "[0]",
    "['out']", ".logits" (a named tuple's or a dataclass's field), nested as deep as it goes."""
    if isinstance(value, torch.Tensor):
        return [(path, value)]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        pairs = [(f".{name}", item) for name, item in zip(value._fields, value, strict=False)]
    elif isinstance(value, (list, tuple)):
        pairs = [(f"[{index}]", item) for index, item in enumerate(value)]
    elif isinstance(value, dict):
        pairs = [(f"[{key!r}]", item) for key, item in value.items()]
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        pairs = [(f".{f.name}", getattr(value, f.name)) for f in dataclasses.fields(value)]
    else:
        return []
    return [found for step, item in pairs for found in named_tensors(item, path + step)]


class Tracer:
    """The records of one pass, and how they are made."""

    def __init__(self) -> None:
        self.ops: list[OpCall] = []
        self.stack: list[str] = [""]
        self.keep: list[torch.Tensor] = []  # holds every seen tensor so storage keys stay unique
        self.activations: set[int] = set()  # storages computed from the input
        self.in_function = 0  # > 0 inside a function recorded as one operation

    def key(self, tensor: torch.Tensor) -> int:
        self.keep.append(tensor)
        return storage_key(tensor)

    def ref(self, tensor: torch.Tensor) -> TensorRef:
        key = self.key(tensor)
        nbytes = tensor.untyped_storage().nbytes()
        return TensorRef(key, tuple(tensor.shape), nbytes, key not in self.activations)

    def record(
        self, name: str, inputs: list[torch.Tensor], outputs: list[torch.Tensor], **attributes: Any
    ) -> None:
        refs = [self.ref(t) for t in inputs]
        if any(not ref.is_state for ref in refs):
            self.activations.update(self.key(t) for t in outputs)
        self.ops.append(
            OpCall(
                name=name,
                module=self.stack[-1],
                inputs=refs,
                outputs=[self.ref(t) for t in outputs],
                **attributes,
            )
        )

    def call_whole(
        self, name: str, raw: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Run `func` as one operation: the ATen operators inside it are not recorded apart."""
        out = _attention_result(args, kwargs) if name == "scaled_dot_product_attention" else None
        if out is None:
            self.in_function += 1
            try:
                out = func(*args, **kwargs)
            finally:
                self.in_function -= 1
        self.record_function(name, raw, args, kwargs, out)
        return out

    def record_function(
        self, name: str, raw: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
    ) -> None:
        """One call of a function in _FUNCTIONS, with the attributes its formulas need."""
        attributes: dict[str, Any] = {}
        if name == "convolution":
            transposed = "transpose" in raw
            attributes = _conv_attributes(
                _arg(args, kwargs, 1, "weight"),
                _arg(args, kwargs, 3, "stride", 1),
                _arg(args, kwargs, 7 if transposed else 5, "dilation", 1),
                transposed,
                _arg(args, kwargs, 4, "padding", 0),
            )
        elif name == "linear":
            attributes = {"weight_shape": tuple(_arg(args, kwargs, 1, "weight").shape)}
        elif name in ("max_pool2d", "avg_pool2d"):
            attributes = _pool_attributes(name, args, kwargs)
        elif name == "batch_norm":
            attributes = {
                "affine": _arg(args, kwargs, 3, "weight", None) is not None,
                "training": bool(_arg(args, kwargs, 5, "training", False)),
            }
        elif name == "instance_norm":
            attributes = {"affine": _arg(args, kwargs, 3, "weight", None) is not None}
        elif name in ("layer_norm", "group_norm"):
            attributes = {"affine": _arg(args, kwargs, 2, "weight", None) is not None}
        elif name == "einsum":
            attributes = {"equation": str(args[0] if args else kwargs.get("equation"))}
        elif name == "interpolate":
            mode = _arg(args, kwargs, 3, "mode", "nearest")
            name = {"bilinear": "upsample_bilinear2d", "nearest": "upsample_nearest2d"}.get(
                mode, f"upsample_{mode}"
            )
            attributes = {"align_corners": bool(_arg(args, kwargs, 4, "align_corners", False))}
        self.record(
            f"aten::{name}", tensors_in(args) + tensors_in(kwargs), tensors_in(out), **attributes
        )

    def record_aten(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
    ) -> None:
        """One ATen operator called outside the functions recorded whole."""
        packet = func.overloadpacket.__name__
        if packet in SKIPPED_ATEN:
            return
        name = _ATEN_NAMES.get(packet, packet)
        attributes: dict[str, Any] = {}
        if packet == "convolution":
            # (input, weight, bias, stride, padding, dilation, transposed, ...)
            attributes = _conv_attributes(args[1], args[3], args[5], bool(args[6]), args[4])
        elif name == "batch_norm":
            # (input, weight, bias, [running_mean, running_var,] training, ...); the
            # no_training variant has no flag
            flag = None if packet.endswith("no_training") else args[5 if len(args) >= 7 else 3]
            attributes = {"affine": args[1] is not None, "training": bool(flag)}
        elif name in ("layer_norm", "group_norm"):
            attributes = {"affine": len(args) > 2 and args[2] is not None}
        elif name in ("max_pool2d", "avg_pool2d"):
            attributes = _pool_attributes(name, args, kwargs)
        elif packet == "constant_pad_nd" and len(args) > 1:
            # F.pad's (left, right, top, bottom, ...): what comes before the first position
            pad = [int(p) for p in args[1]]
            attributes = {"padding": (pad[2] if len(pad) > 2 else 0, pad[0])}
        elif packet.startswith(("upsample_", "_upsample_")) and "nearest" not in packet:
            # (input, output_size, align_corners, ...)
            attributes = {"align_corners": bool(_arg(args, kwargs, 2, "align_corners", False))}
        elif packet in ("mean", "sum", "amax", "amin") and len(args) > 1 and args[1] is not None:
            rank = args[0].dim()
            dims = {
                d % rank for d in (args[1] if isinstance(args[1], (list, tuple)) else [args[1]])
            }
            attributes = {"global_reduce": rank >= 3 and {rank - 1, rank - 2} <= dims}
        self.record(
            f"aten::{name}", tensors_in(args) + tensors_in(kwargs), tensors_in(out), **attributes
        )


def _conv_attributes(
    weight: torch.Tensor, stride: Any, dilation: Any, transposed: bool, padding: Any = 0
) -> dict[str, Any]:
    """What the counters and the receptive field read of a convolution, from F.conv*d's or
    aten::convolution's arguments."""
    spatial = weight.dim() - 2
    kernel = tuple(int(k) for k in weight.shape[2:])
    dilations = _tuple(dilation, spatial)
    if padding == "same":  # torch pads d·(k - 1) // 2 before the first position
        pads = tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilations, strict=True))
    else:
        pads = _tuple(0 if padding == "valid" else padding, spatial)
    return {
        "kernel": kernel,
        "stride": _tuple(stride, spatial),
        "dilation": dilations,
        "padding": pads,
        "weight_shape": tuple(weight.shape),
        "transposed": transposed,
    }


def _pool_attributes(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Kernel, stride and dilation of a pool: F.max_pool2d / F.avg_pool2d and their ATen
    operators take (input, kernel_size, stride, padding[, dilation]) alike."""
    kernel = pair(_arg(args, kwargs, 1, "kernel_size"))
    stride = _arg(args, kwargs, 2, "stride", None)
    dilation = _arg(args, kwargs, 4, "dilation", 1) if name == "max_pool2d" else 1
    return {
        "kernel": kernel,
        "stride": pair(stride) if stride else kernel,
        "dilation": pair(dilation),
        "padding": tuple(pair(_arg(args, kwargs, 3, "padding", 0)) or (0, 0)),
    }


def _tuple(value: Any, length: int) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,) * length
    return tuple(int(v) for v in value)


def _arg(
    args: tuple[Any, ...], kwargs: dict[str, Any], index: int, key: str, default: Any = ...
) -> Any:
    if len(args) > index:
        return args[index]
    if key in kwargs:
        return kwargs[key]
    if default is ...:
        raise AnalysisError(f"cannot read {key!r} of an operation")
    return default


class FunctionRecorder(TorchFunctionMode):
    """Marks the calls of the functions in _FUNCTIONS (at the Python level, as TorchScript and
    fvcore see them); the outermost such call is recorded as one operation.
    scaled_dot_product_attention is one operation also where F.multi_head_attention_forward
    calls it (nn.MultiheadAttention with need_weights=False, nn.TransformerEncoderLayer): on
    the meta device its ATen decomposition would look like plain bmm, and fvcore has no
    handler for it, so `full` leaves it out as fvcore does while `attention_macs` counts it."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        raw = getattr(func, "__name__", "")
        name = _FUNCTIONS.get(raw)
        if name is None or self.tracer.in_function:
            if calls_attention(func) and not self.tracer.in_function:
                return with_attention(func, self.attention)(*args, **kwargs)
            return func(*args, **kwargs)
        return self.tracer.call_whole(name, raw, func, args, kwargs)

    def attention(self, *args: Any, **kwargs: Any) -> Any:
        """scaled_dot_product_attention called inside a composite function, as one operation."""
        name = "scaled_dot_product_attention"
        function = torch.nn.functional.scaled_dot_product_attention
        return self.tracer.call_whole(name, name, function, args, kwargs)


class OperatorRecorder(DispatchMode):
    """Records every ATen operator that runs outside the functions recorded whole."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = pointwise_result(func, args, kwargs)
        if out is None:
            out = shape_result(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        if not self.tracer.in_function:
            self.tracer.record_aten(func, args, kwargs, out)
        return out


# Elementwise operators whose result on the meta device is made here: torch computes it with
# Python reference code that imports sympy on first use (0.3-1.5 s for the first residual add).
_POINTWISE = {
    "add",
    "sub",
    "mul",
    "div",
    "relu",
    "sigmoid",
    "tanh",
    "gelu",
    "silu",
    "hardswish",
    "hardsigmoid",
    "leaky_relu",
    "elu",
    "neg",
    "exp",
    "clamp",
    "clamp_min",
    "hardtanh",
}


def _empty_as(tensor: torch.Tensor) -> torch.Tensor:
    """A meta tensor of `tensor`'s shape and type, channels-last where it is. torch.empty_like
    works out the strides with code that imports sympy (an SE gate's N×C×1×1 tensor)."""
    layout = torch.contiguous_format
    if tensor.dim() == 4 and not tensor.is_contiguous():
        if tensor.is_contiguous(memory_format=torch.channels_last):
            layout = torch.channels_last
    # (other strides, a permuted view's: contiguous, which takes every view the real one does)
    return torch.empty(tensor.shape, dtype=tensor.dtype, device=tensor.device, memory_format=layout)


def broadcast_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The broadcast of concrete shapes, or None where they do not broadcast. torch's own
    (torch.broadcast_shapes) imports sympy on its first call with two different shapes (an SE
    gate's N×C×1×1 product: 0.2-0.4 s of a model's first analysis); a test holds this one to
    it on every pattern of sizes."""
    rank = max(len(shape) for shape in shapes)
    result = []
    for axis in range(rank):
        sizes = {
            shape[axis - rank + len(shape)] for shape in shapes if axis - rank + len(shape) >= 0
        }
        sizes.discard(1)
        if len(sizes) > 1:
            return None
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def pointwise_result(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The result of an elementwise operator on meta tensors of one dtype, or None to let torch
    compute it (other devices, mixed dtypes, shapes that do not broadcast: torch raises)."""
    name = func.overloadpacket.__name__
    inplace = name.endswith("_")
    if name.removesuffix("_") not in _POINTWISE:
        return None
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    if not tensors or not tensors[0].is_floating_point():
        return None  # integer division and comparisons change the dtype: torch decides
    if any(t.device.type != "meta" or t.dtype != tensors[0].dtype for t in tensors):
        return None
    broadcast = broadcast_shape([tuple(t.shape) for t in tensors])
    if broadcast is None:
        return None  # shapes that do not broadcast: torch raises its own error
    shape = list(broadcast)
    first = tensors[0]
    if inplace:
        return first if list(first.shape) == shape else None
    if list(first.shape) == shape:
        return _empty_as(first)
    return torch.empty(shape, dtype=first.dtype, device="meta")


def _attention_result(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """F.scaled_dot_product_attention(q, k, v, ...) of meta tensors: q's shape with v's last
    dimension (torch's meta path runs a softmax decomposition that imports torch._dynamo)."""
    q, k, v = (args + (None, None, None))[:3]
    q = q if q is not None else kwargs.get("query")
    k = k if k is not None else kwargs.get("key")
    v = v if v is not None else kwargs.get("value")
    tensors = [q, k, v]
    if not all(isinstance(t, torch.Tensor) and t.device.type == "meta" for t in tensors):
        return None
    assert q is not None and k is not None and v is not None
    if q.dtype != k.dtype or q.dtype != v.dtype or q.dim() < 2 or k.dim() != q.dim():
        return None
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        return None
    return torch.empty([*q.shape[:-1], v.shape[-1]], dtype=q.dtype, device="meta")


def shape_result(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The result on meta tensors of a concatenation, a layer norm, an upsampling, a matrix
    product, a reduction, a convolution or an embedding, made here: torch's meta code for them
    is Python reference code whose first call imports torch._dynamo or sympy (1-2 s: a UNet's
    first skip, a ViT's first LayerNorm). None lets torch compute it (other devices and dtypes,
    arguments torch would refuse: torch raises its own error)."""
    if kwargs.get("out") is not None:
        return None
    name = func.overloadpacket.__name__
    if name == "cat":
        return _concatenation(args, kwargs)
    if name == "native_layer_norm":
        return _layer_norm(args)
    if name.startswith(("upsample_", "_upsample_")):
        return _upsampling(args)
    if name in _PRODUCT_OPERANDS:
        return _product(args, *_PRODUCT_OPERANDS[name])
    if name in ("mean", "sum", "amax", "amin"):
        return _reduction(args, kwargs)
    if name == "convolution":
        return _convolution(args)
    if name == "embedding":
        return _embedding(args)
    return None


def _embedding(args: tuple[Any, ...]) -> Any:
    """aten::embedding(weight, indices, ...): a row of the weight per index."""
    if len(args) < 2 or not all(isinstance(t, torch.Tensor) for t in args[:2]):
        return None
    weight, indices = args[0], args[1]
    if weight.device.type != "meta" or weight.dim() != 2:
        return None
    if indices.dtype not in (torch.int64, torch.int32) or indices.device.type != "meta":
        return None
    return torch.empty([*indices.shape, weight.shape[1]], dtype=weight.dtype, device="meta")


def _convolution(args: tuple[Any, ...]) -> Any:
    """aten::convolution(input, weight, bias, stride, padding, dilation, transposed,
    output_padding, groups) of meta tensors with 1 to 3 spatial dimensions."""
    if len(args) < 9 or not all(isinstance(t, torch.Tensor) for t in args[:2]):
        return None
    x, weight = args[0], args[1]
    stride, padding, dilation, transposed, output_padding, groups = args[3:9]
    spatial = weight.dim() - 2
    if x.device.type != "meta" or x.dtype != weight.dtype or x.dim() != spatial + 2:
        return None
    if not all(
        isinstance(v, (list, tuple)) and len(v) == spatial for v in (stride, padding, dilation)
    ):
        return None
    if transposed:
        channels = weight.shape[1] * groups
        if x.shape[1] != weight.shape[0] or len(output_padding) != spatial:
            return None
        sizes = [
            (n - 1) * s - 2 * p + d * (k - 1) + o + 1
            for n, s, p, d, k, o in zip(
                x.shape[2:],
                stride,
                padding,
                dilation,
                weight.shape[2:],
                output_padding,
                strict=True,
            )
        ]
    else:
        channels = weight.shape[0]
        if x.shape[1] != weight.shape[1] * groups:
            return None
        sizes = [
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, s, p, d, k in zip(
                x.shape[2:], stride, padding, dilation, weight.shape[2:], strict=True
            )
        ]
    if min(sizes) < 1:
        return None  # torch says the input is too small
    # (contiguous, as torch's meta kernel makes it whatever the input's layout)
    return torch.empty([x.shape[0], channels, *sizes], dtype=x.dtype, device="meta")


def _reduction(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """mean/sum/amax/amin(input, dim, keepdim) of a floating-point meta tensor."""
    if not args or not isinstance(args[0], torch.Tensor) or args[0].device.type != "meta":
        return None
    x = args[0]
    if not x.is_floating_point() or kwargs.get("dtype") is not None or len(args) > 3:
        return None
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keep = bool(args[2] if len(args) > 2 else kwargs.get("keepdim", False))
    rank = x.dim()
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):
        axes = set(range(rank))
    else:
        listed = [dims] if isinstance(dims, int) else dims
        if (
            not isinstance(listed, (list, tuple))
            or not rank
            or not all(isinstance(d, int) and -rank <= d < rank for d in listed)
        ):
            return None  # torch says what is wrong
        axes = {d % rank for d in listed}
    shape = [1 if i in axes else size for i, size in enumerate(x.shape) if keep or i not in axes]
    return torch.empty(shape, dtype=x.dtype, device="meta")


# Matrix products whose meta result is made here: operator -> (index of the first factor,
# batched). addmm(bias, a, b), mm(a, b), bmm(a, b), baddbmm(bias, a, b).
_PRODUCT_OPERANDS = {"mm": (0, False), "addmm": (1, False), "bmm": (0, True), "baddbmm": (1, True)}


def _product(args: tuple[Any, ...], first: int, batched: bool) -> Any:
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if len(args) < first + 2 or any(
        t.device.type != "meta" or t.dtype != tensors[0].dtype for t in tensors
    ):
        return None
    a, b = args[first], args[first + 1]
    rank = 3 if batched else 2
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return None
    if a.dim() != rank or b.dim() != rank or a.shape[-1] != b.shape[-2]:
        return None
    if batched and a.shape[0] != b.shape[0]:
        return None
    shape = [*a.shape[:-1], b.shape[-1]]
    if first == 1 and isinstance(args[0], torch.Tensor):
        if broadcast_shape([tuple(args[0].shape), tuple(shape)]) != tuple(shape):
            return None  # a bias that does not broadcast to the product: torch raises
    return torch.empty(shape, dtype=a.dtype, device="meta")


def _layer_norm(args: tuple[Any, ...]) -> Any:
    """(output, mean, rstd) of aten::native_layer_norm(input, normalized_shape, ...)."""
    if len(args) < 2 or not isinstance(args[0], torch.Tensor) or args[0].device.type != "meta":
        return None
    x, normalized = args[0], list(args[1])
    if not x.is_floating_point() or list(x.shape[x.dim() - len(normalized) :]) != normalized:
        return None
    stats = [*x.shape[: x.dim() - len(normalized)], *([1] * len(normalized))]
    stat_dtype = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    return (
        _empty_as(x),
        torch.empty(stats, dtype=stat_dtype, device="meta"),
        torch.empty(stats, dtype=stat_dtype, device="meta"),
    )


def _upsampling(args: tuple[Any, ...]) -> Any:
    """aten::upsample_*(input, output_size, ...) and the .vec overloads' (input, output_size
    or None, ..., scale_factors)."""
    if len(args) < 2 or not isinstance(args[0], torch.Tensor) or args[0].device.type != "meta":
        return None
    x, size = args[0], args[1]
    spatial = x.dim() - 2
    if spatial < 1 or not x.is_floating_point():
        return None
    if size is None:
        scales = args[-1]
        if not isinstance(scales, (list, tuple)) or len(scales) != spatial:
            return None
        size = [math.floor(d * float(f)) for d, f in zip(x.shape[2:], scales, strict=True)]
    size = [int(d) for d in size]
    if len(size) != spatial or min(size) < 1:
        return None
    return torch.empty([*x.shape[:2], *size], dtype=x.dtype, device="meta")


def _concatenation(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """torch.cat of meta tensors of one dtype and rank."""
    tensors = args[0] if args else kwargs.get("tensors")
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    if not isinstance(tensors, (list, tuple)) or not tensors or not isinstance(dim, int):
        return None
    first = tensors[0]
    rank = first.dim()
    if rank == 0 or any(
        not isinstance(t, torch.Tensor)
        or t.device.type != "meta"
        or t.dtype != first.dtype
        or t.dim() != rank
        for t in tensors
    ):
        return None
    axis = dim % rank
    if any(
        t.shape[:axis] != first.shape[:axis] or t.shape[axis + 1 :] != first.shape[axis + 1 :]
        for t in tensors
    ):
        return None
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in tensors)
    return torch.empty(shape, dtype=first.dtype, device="meta")


def failure_message(
    err: Exception, where: str, modules: dict[str, nn.Module], input_shape: tuple[int, ...]
) -> str:
    """The real forward's refusal in one line, naming the innermost module that was running."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if not where:
        return f"the forward pass failed on input {list(input_shape)}: {first}"
    return f"{where} ({type(modules[where]).__name__}) failed on input {list(input_shape)}: {first}"
