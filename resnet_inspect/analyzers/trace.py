"""One forward pass on the meta device that records every module call and every operation.

The model runs on torch's "meta" device: shapes propagate but nothing is allocated and no
arithmetic happens, so the cost does not grow with batch size or resolution. Three recorders
run at once:

* forward (pre-)hooks on every module give the module rows and the module stack: execution
  order, calls, output shape, and the innermost module running each operation. The model's own
  hooks (and torch's global module hooks) are set aside for the pass and put back after it: a
  hook that reads values would fail on meta tensors, and analysis must not run user code that
  is not the forward itself;
* a TorchDispatchMode records every ATen operator (aten::convolution, aten::addmm, aten::bmm,
  aten::add_, ...) with its input and output tensors, identified by their storage, so every
  multiply-add is seen however the model calls it: through modules, functionals
  (F.multi_head_attention_forward's projections), containers it loops over (nn.ModuleList) or
  subclasses with their own forward;
* a TorchFunctionMode marks the calls of the functions fvcore's formulas are written for
  (linear, einsum, matmul, the norms, interpolate, ...): the ATen operators inside one such call
  are recorded as one operation under the function's name, so `full` can follow fvcore's
  convention exactly (an instance norm is not a batch norm; an einsum is counted as fvcore
  counts it).

Each tensor is marked as an activation (computed from the input) or a weight (parameters,
buffers and anything computed from them alone): a matrix product with a weight operand is a
layer's work (`macs`), one of two activations is attention (`attention_macs`).

For modules of exactly the common layer types (conv, linear, batch norm, ReLU, pooling, padding;
never a subclass, whose own forward may pad or add an activation) the pass swaps in a forward
that checks the input as the layer would, makes an empty output of the right shape and records
one operation with the layer's hyper-parameters. torch runs Python decompositions and lazy
imports for many ops on the meta device (batch norm 7 ms a call; the first convolution imports
sympy, 1 s); computing these shapes is exact and ~10x faster. Every other module and all
functional code runs its real forward on meta tensors.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from resnet_inspect.analyzers.records import (
    ModuleCall,
    ModuleInfo,
    OpCall,
    TensorRef,
    Trace,
    pair,
)
from resnet_inspect.build import Shortcut
from resnet_inspect.build.blocks import OptionModule
from resnet_inspect.errors import AnalysisError

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


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    values = tuple(int(v) for v in value)
    return (values[0], values[-1]) if values else (1, 1)


def _window_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []


class _Tracer:
    def __init__(self, model: nn.Module) -> None:
        self.ops: list[OpCall] = []
        self.stack: list[str] = [""]
        self.keep: list[torch.Tensor] = []  # holds every seen tensor so storage keys stay unique
        self.activations: set[int] = set()  # storages computed from the input
        self.in_function = 0  # > 0 inside a function recorded as one operation

    def key(self, tensor: torch.Tensor) -> int:
        self.keep.append(tensor)
        return int(tensor.untyped_storage()._cdata)

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
        self.record(f"aten::{name}", _tensors(args) + _tensors(kwargs), _tensors(out), **attributes)

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
            attributes = _conv_attributes(args[1], args[3], args[5], bool(args[6]))
        elif name == "batch_norm":
            # (input, weight, bias, [running_mean, running_var,] training, ...); the
            # no_training variant has no flag
            flag = None if packet.endswith("no_training") else args[5 if len(args) >= 7 else 3]
            attributes = {"affine": args[1] is not None, "training": bool(flag)}
        elif name in ("layer_norm", "group_norm"):
            attributes = {"affine": len(args) > 2 and args[2] is not None}
        elif name in ("max_pool2d", "avg_pool2d"):
            attributes = _pool_attributes(name, args, kwargs)
        elif packet in ("mean", "sum", "amax", "amin") and len(args) > 1 and args[1] is not None:
            rank = args[0].dim()
            dims = {
                d % rank for d in (args[1] if isinstance(args[1], (list, tuple)) else [args[1]])
            }
            attributes = {"global_reduce": rank >= 3 and {rank - 1, rank - 2} <= dims}
        self.record(f"aten::{name}", _tensors(args) + _tensors(kwargs), _tensors(out), **attributes)


def _conv_attributes(
    weight: torch.Tensor, stride: Any, dilation: Any, transposed: bool
) -> dict[str, Any]:
    """What the counters read of a convolution, from F.conv*d's or aten::convolution's
    arguments."""
    spatial = weight.dim() - 2
    return {
        "kernel": tuple(int(k) for k in weight.shape[2:]),
        "stride": _tuple(stride, spatial),
        "dilation": _tuple(dilation, spatial),
        "weight_shape": tuple(weight.shape),
        "transposed": transposed,
    }


def _pool_attributes(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Kernel, stride and dilation of a pool: F.max_pool2d / F.avg_pool2d and their ATen
    operators take (input, kernel_size, stride, padding[, dilation]) alike."""
    kernel = _pair(_arg(args, kwargs, 1, "kernel_size"))
    stride = _arg(args, kwargs, 2, "stride", None)
    dilation = _arg(args, kwargs, 4, "dilation", 1) if name == "max_pool2d" else 1
    return {
        "kernel": kernel,
        "stride": _pair(stride) if stride else kernel,
        "dilation": _pair(dilation),
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


class _Functions(TorchFunctionMode):
    """Marks the calls of the functions in _FUNCTIONS (at the Python level, as TorchScript and
    fvcore see them); the outermost such call is recorded as one operation."""

    def __init__(self, tracer: _Tracer) -> None:
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
            return func(*args, **kwargs)
        return self.tracer.call_whole(name, raw, func, args, kwargs)


class _Operators(TorchDispatchMode):
    """Records every ATen operator that runs outside the functions recorded whole."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in dynamo's "disable", which imports
        # torch._dynamo (about 2 s) on first use; nothing here is ever compiled.
        return False

    def __init__(self, tracer: _Tracer) -> None:
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
        out = _pointwise(func, args, kwargs)
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


def _pointwise(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
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
    shape: list[int] = []
    for tensor in tensors:  # broadcasting, from the last dimension
        dims = list(tensor.shape)
        if len(dims) > len(shape):
            shape = [1] * (len(dims) - len(shape)) + shape
        dims = [1] * (len(shape) - len(dims)) + dims
        for index, (have, new) in enumerate(zip(shape, dims, strict=True)):
            if have != new and 1 not in (have, new):
                return None
            shape[index] = max(have, new) if 1 in (have, new) else have
    first = tensors[0]
    if inplace:
        return first if list(first.shape) == shape else None
    if list(first.shape) == shape:
        return torch.empty_like(first)
    return torch.empty(shape, dtype=first.dtype, device="meta")


def _expect(condition: bool, message: str) -> None:
    """The check the real layer would make before computing (shape-only forwards skip it)."""
    if not condition:
        raise RuntimeError(message)


def _shape_only_forward(module: nn.Module, tracer: _Tracer) -> Callable[..., Any] | None:
    """For a module of exactly one of the common layer types, a forward that checks the input
    as the layer would, makes the output of the right shape and records one operation. None for
    anything else, subclasses included: they run their own forward."""
    kind = type(module)

    # the layer's own tensors are operands too (a weight operand makes a product a layer's work)
    weights = (getattr(module, "weight", None), getattr(module, "bias", None))
    operands = [t for t in weights if isinstance(t, torch.Tensor)]

    def wrap(
        name: str, make: Callable[[torch.Tensor], torch.Tensor], **attributes: Any
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        def forward(x: torch.Tensor) -> torch.Tensor:
            # only shape reads and new_empty, which neither mode records: torch functions are
            # not intercepted here (thousands of calls a model)
            with torch._C.DisableTorchFunction():
                out = make(x)
                tracer.record(name, [x, *operands], [out], synthetic=True, **attributes)
            return out

        return forward

    if (
        isinstance(module, nn.modules.batchnorm._BatchNorm)
        and kind in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
        and not module.training
    ):
        features = module.num_features

        def norm(x: torch.Tensor) -> torch.Tensor:
            _expect(
                x.dim() >= 2 and x.shape[1] == features,
                f"{kind.__name__}({features}) got input {list(x.shape)}: "
                f"expected {features} channels, got {x.shape[1] if x.dim() >= 2 else 'none'}",
            )
            return x.new_empty(x.shape)

        return wrap("aten::batch_norm", norm, affine=bool(module.affine))
    if isinstance(module, nn.ReLU) and kind is nn.ReLU:
        if module.inplace:
            return wrap("aten::relu_", lambda x: x)
        return wrap("aten::relu", lambda x: x.new_empty(x.shape))
    if kind is nn.Identity or (kind is nn.Dropout and not module.training):
        return lambda x, *args, **kwargs: x
    if isinstance(module, nn.Linear) and kind is nn.Linear:
        in_features, out_features = module.in_features, module.out_features

        def linear(x: torch.Tensor) -> torch.Tensor:
            _expect(
                x.dim() >= 1 and x.shape[-1] == in_features,
                f"Linear({in_features}, {out_features}) got input {list(x.shape)}: "
                f"expected {in_features:,} features in the last dimension, got "
                f"{x.shape[-1] if x.dim() else 'a scalar'}",
            )
            return x.new_empty((*x.shape[:-1], out_features))

        return wrap("aten::linear", linear, weight_shape=(out_features, in_features))
    if (
        isinstance(module, nn.Conv2d)
        and kind is nn.Conv2d
        and not isinstance(module.padding, str)
        and module.padding_mode == "zeros"
    ):
        kernel, stride, padding, dilation = (
            _pair(module.kernel_size),
            _pair(module.stride),
            _pair(module.padding),
            _pair(module.dilation),
        )
        in_channels, out_channels = module.in_channels, module.out_channels

        def conv(x: torch.Tensor) -> torch.Tensor:
            _expect(
                x.dim() in (3, 4) and x.shape[-3] == in_channels,
                f"Conv2d({in_channels}, {out_channels}) got input {list(x.shape)}: "
                f"expected {in_channels} channels",
            )
            height = _window_out(x.shape[-2], kernel[0], stride[0], padding[0], dilation[0])
            width = _window_out(x.shape[-1], kernel[1], stride[1], padding[1], dilation[1])
            _expect(
                height > 0 and width > 0,
                f"Conv2d output would be {height}x{width} for input {list(x.shape)}",
            )
            return x.new_empty((*x.shape[:-3], out_channels, height, width))

        return wrap(
            "aten::convolution",
            conv,
            kernel=kernel,
            stride=stride,
            dilation=dilation,
            weight_shape=tuple(module.weight.shape),
        )
    if (
        isinstance(module, (nn.MaxPool2d, nn.AvgPool2d))
        and kind in (nn.MaxPool2d, nn.AvgPool2d)
        and not module.ceil_mode
        and not getattr(module, "return_indices", False)
        and getattr(module, "divisor_override", None) is None
    ):
        kernel = _pair(module.kernel_size)
        stride = _pair(module.stride or module.kernel_size)
        padding = _pair(module.padding)
        dilation = _pair(getattr(module, "dilation", 1))

        def pool(x: torch.Tensor) -> torch.Tensor:
            height = _window_out(x.shape[-2], kernel[0], stride[0], padding[0], dilation[0])
            width = _window_out(x.shape[-1], kernel[1], stride[1], padding[1], dilation[1])
            _expect(
                x.dim() in (3, 4) and height > 0 and width > 0,
                f"{kind.__name__} output would be {height}x{width} for input {list(x.shape)}",
            )
            return x.new_empty((*x.shape[:-2], height, width))

        name = "aten::max_pool2d" if kind is nn.MaxPool2d else "aten::avg_pool2d"
        return wrap(name, pool, kernel=kernel, stride=stride, dilation=dilation)
    if (
        isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))
        and kind in (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
        and not getattr(module, "return_indices", False)
    ):
        size = module.output_size
        out_height, out_width = (size, size) if isinstance(size, int) else tuple(size)  # type: ignore[arg-type]

        def pooled(x: torch.Tensor) -> torch.Tensor:
            _expect(x.dim() in (3, 4), f"{kind.__name__} got input {list(x.shape)}")
            height, width = out_height or x.shape[-2], out_width or x.shape[-1]
            return x.new_empty((*x.shape[:-2], height, width))

        name = (
            "aten::adaptive_avg_pool2d"
            if kind is nn.AdaptiveAvgPool2d
            else "aten::adaptive_max_pool2d"
        )
        return wrap(name, pooled)
    if isinstance(module, nn.ZeroPad2d) and kind is nn.ZeroPad2d:
        left, right, top, bottom = module.padding

        def pad(x: torch.Tensor) -> torch.Tensor:
            return x.new_empty(
                (*x.shape[:-2], x.shape[-2] + top + bottom, x.shape[-1] + left + right)
            )

        return wrap("aten::constant_pad_nd", pad, kernel=(1, 1), stride=(1, 1))
    if kind.__name__ == "ZeroPadShortcut" and kind.__module__ == "resnet_inspect.build.layers":
        step = int(getattr(module, "stride"))  # noqa: B009 - typed as Tensor | Module
        out_channels = int(getattr(module, "out_channels"))  # noqa: B009

        def shortcut(x: torch.Tensor) -> torch.Tensor:
            height, width = (x.shape[-2] - 1) // step + 1, (x.shape[-1] - 1) // step + 1
            return x.new_empty((*x.shape[:-3], out_channels, height, width))

        return wrap("aten::constant_pad_nd", shortcut, kernel=(1, 1), stride=(step, step))
    return None


# The hooks a module keeps (and torch's global ones): set aside during the pass.
_HOOK_ATTRIBUTES = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)
_GLOBAL_HOOKS = (
    "_global_forward_hooks",
    "_global_forward_hooks_with_kwargs",
    "_global_forward_hooks_always_called",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)


def trace_model(model: nn.Module, input_shape: tuple[int, ...], batch_size: int) -> Trace:
    """Run `model` (on the meta device) once and record its modules and operations.

    The model's own hooks and torch's global module hooks do not run; they, the swapped
    forwards and our hooks are put back as they were in `finally`. `model` must be the
    caller's copy. A shape the real forward would refuse is an AnalysisError naming the
    module."""
    from torch.nn.modules import module as module_globals

    tracer = _Tracer(model)
    modules = dict(model.named_modules())
    calls: dict[str, ModuleCall] = {}
    handles = []

    def pre_hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def pre_hook(module: nn.Module, _inputs: Any) -> None:
            if name not in calls:
                calls[name] = ModuleCall(name, first_op=len(tracer.ops))
            tracer.stack.append(name)

        return pre_hook

    def hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tracer.stack.pop()
            call = calls[name]
            call.calls += 1
            if call.calls == 1:
                call.first_end = len(tracer.ops)
            found = _tensors(output)
            if found and not call.output_shape:
                call.output_shape = list(found[0].shape)
                call.output_key = tracer.key(found[0])

        return hook

    swapped = {}
    for module in modules.values():
        forward = _shape_only_forward(module, tracer)
        if forward is not None:
            swapped[module] = forward
    # the model's hooks, set aside in place (the dicts emptied, not replaced) and put back after
    saved_hooks = [
        (hooks, dict(hooks))
        for module in modules.values()
        for hooks in (getattr(module, attribute, None) for attribute in _HOOK_ATTRIBUTES)
        if hooks
    ]
    saved_hooks += [
        (hooks, dict(hooks))
        for hooks in (getattr(module_globals, name, None) for name in _GLOBAL_HOOKS)
        if hooks
    ]
    parameter = next(iter(model.parameters()), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    try:
        for hooks, _ in saved_hooks:
            hooks.clear()
        for module, forward in swapped.items():
            module.__dict__["forward"] = forward  # an instance attribute, as `module.forward =`
        for name, module in modules.items():
            if name:
                handles.append(module.register_forward_pre_hook(pre_hook_for(name)))
                handles.append(module.register_forward_hook(hook_for(name)))
        x = torch.empty((batch_size, *input_shape), device="meta", dtype=dtype)
        tracer.activations.add(tracer.key(x))
        input_ref = tracer.ref(x)
        with torch.no_grad(), _Functions(tracer), _Operators(tracer), _whole_attention(tracer):
            output = model(x)
    except AnalysisError:
        raise
    except Exception as err:  # a user model may raise anything on a bad input shape
        raise AnalysisError(_failure(err, tracer.stack[-1], modules, input_shape)) from err
    finally:
        for handle in handles:
            handle.remove()
        for module in swapped:
            del module.__dict__["forward"]
        for hooks, kept in saved_hooks:
            hooks.clear()
            hooks.update(kept)
    return Trace(
        modules=calls,
        ops=tracer.ops,
        input=input_ref,
        outputs=[tracer.ref(t) for t in _tensors(output)],
        batch_size=batch_size,
        element_bytes=torch.empty((), dtype=dtype).element_size(),
        infos=module_infos(model),
    )


def module_infos(model: nn.Module) -> dict[str, ModuleInfo]:
    """What the analyzers need of every module, in one walk: parameters below each module
    (a weight shared by two children counts once), kernel, stride and groups of the leaves,
    and what our own modules declare (a build.Shortcut's kind, a block option's child)."""
    named = dict(model.named_modules())
    below: dict[str, dict[int, nn.Parameter]] = {name: {} for name in named}
    for name, module in named.items():
        own = [p for p in module._parameters.values() if p is not None]
        if not own:
            continue
        parts = name.split(".") if name else []
        for end in range(len(parts) + 1):
            found = below.get(".".join(parts[:end]))
            if found is not None:
                for parameter in own:
                    found[id(parameter)] = parameter
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    infos = {}
    for name, module in named.items():
        is_leaf = not module._modules
        parameters = below[name].values()
        weight = getattr(module, "weight", None)
        infos[name] = ModuleInfo(
            name=name,
            type=type(module).__name__,
            is_leaf=is_leaf,
            params=sum(p.numel() for p in parameters),
            trainable_params=sum(p.numel() for p in parameters if p.requires_grad),
            own_params=sum(p.numel() for p in module.parameters(recurse=False)),
            buffers=buffers if not name else 0,
            kernel=pair(getattr(module, "kernel_size", None)) if is_leaf else None,
            stride=pair(getattr(module, "stride", None)) if is_leaf else None,
            groups=getattr(module, "groups", None) if is_leaf else None,
            conv_weights=weight.numel()
            if isinstance(module, nn.modules.conv._ConvNd) and isinstance(weight, torch.Tensor)
            else 0,
            is_conv2d=isinstance(module, nn.Conv2d),
            shortcut=module.kind if isinstance(module, Shortcut) else None,
            option=isinstance(module, OptionModule),
        )
    return infos


@contextlib.contextmanager
def _whole_attention(tracer: _Tracer) -> Iterator[None]:
    """F.scaled_dot_product_attention recorded as one operation also where a composite
    function calls it (nn.MultiheadAttention with need_weights=False, nn.TransformerEncoderLayer):
    the function mode does not see calls made inside another torch function, and on the meta
    device its ATen decomposition would look like plain bmm. fvcore has no handler for it, so
    `full` leaves it out as fvcore does; `attention_macs` counts it. Put back in `finally`."""
    import torch.nn.functional as functional

    original = functional.scaled_dot_product_attention

    def attention(*args: Any, **kwargs: Any) -> Any:
        if tracer.in_function:
            return original(*args, **kwargs)
        name = "scaled_dot_product_attention"
        return tracer.call_whole(name, name, original, args, kwargs)

    functional.scaled_dot_product_attention = attention
    try:
        yield
    finally:
        functional.scaled_dot_product_attention = original


def _failure(
    err: Exception, where: str, modules: dict[str, nn.Module], input_shape: tuple[int, ...]
) -> str:
    """The real forward's refusal in one line, naming the innermost module that was running."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if not where:
        return f"the forward pass failed on input {list(input_shape)}: {first}"
    return f"{where} ({type(modules[where]).__name__}) failed on input {list(input_shape)}: {first}"
