"""One forward pass on the meta device that records every module call and every operation.

The model runs on torch's "meta" device: shapes propagate but nothing is allocated and no
arithmetic happens, so the cost does not grow with batch size or resolution. Two recorders run
at once:

* forward (pre-)hooks on every module give the module rows: execution order, calls, output shape;
* a TorchDispatchMode records each aten operation with its input and output tensors, identified
  by their storage, so later analyzers can follow the data flow (liveness for memory, paths for
  the receptive field) and count FLOPs per operator.

For the common layers (conv, linear, batch norm, ReLU, pooling, padding) the pass swaps in a
forward that makes an empty output of the right shape and records one operation with the
layer's hyper-parameters. torch runs Python decompositions and lazy imports for many ops on the
meta device (batch norm 7 ms a call; linear and adaptive pooling import torch._dynamo, 2 s; the
first convolution imports sympy, 1 s); computing these shapes is exact and ~10x faster. Every
other module and all functional code (the residual add, flatten) runs its real forward on meta
tensors and is recorded by the dispatch mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from resnet_inspect.errors import AnalysisError


@dataclass(frozen=True)
class TensorRef:
    """A tensor seen in the pass: its storage (identity), shape and storage size in bytes."""

    key: int
    shape: tuple[int, ...]
    nbytes: int
    is_state: bool = False  # a parameter or buffer, not an activation


@dataclass
class OpCall:
    """One operation: aten name ("aten::convolution"), the innermost module that ran it, its
    tensors, and the hyper-parameters the counters need."""

    name: str
    module: str
    inputs: list[TensorRef]
    outputs: list[TensorRef]
    kernel: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    dilation: tuple[int, int] = (1, 1)
    weight_shape: tuple[int, ...] | None = None
    affine: bool = False
    synthetic: bool = False  # recorded from a layer's hyper-parameters, not from dispatch


@dataclass
class ModuleCall:
    name: str
    module: nn.Module
    calls: int = 0
    output_shape: list[int] = field(default_factory=list)
    output_key: int | None = None  # storage of the first call's output
    first_op: int = 0  # ops[first_op:first_end] ran inside the module's first call
    first_end: int = 0


@dataclass
class Trace:
    modules: dict[str, ModuleCall]  # in order of first call (pre-order)
    ops: list[OpCall]
    input: TensorRef
    outputs: list[TensorRef]
    batch_size: int
    element_bytes: int


# Functions that only reinterpret memory, make empty tensors or read metadata: no arithmetic.
VIEW_OPS = {
    "view",
    "reshape",
    "t",
    "transpose",
    "permute",
    "expand",
    "expand_as",
    "select",
    "squeeze",
    "unsqueeze",
    "detach",
    "alias",
    "as_strided",
    "flatten",
    "getitem",
    "split",
    "chunk",
    "unbind",
    "contiguous",
    "size",
    "dim",
    "numel",
    "empty",
    "empty_like",
    "new_empty",
    "new_zeros",
    "zeros",
    "ones",
    "tensor",
    "to",
    "type",
    "float",
    "is_floating_point",
    "requires_grad_",
    "stride",
    "storage_offset",
    "data_ptr",
    "untyped_storage",
    "narrow",
}


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    values = tuple(int(v) for v in value)
    return (values[0], values[-1]) if values else (1, 1)


def _window_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class _Tracer:
    def __init__(self, model: nn.Module) -> None:
        self.ops: list[OpCall] = []
        self.stack: list[str] = [""]
        self.keep: list[torch.Tensor] = []  # holds every seen tensor so storage keys stay unique
        self.state_keys = {
            t.untyped_storage()._cdata for t in [*model.parameters(), *model.buffers()]
        }

    def ref(self, tensor: torch.Tensor) -> TensorRef:
        self.keep.append(tensor)
        storage = tensor.untyped_storage()
        key = storage._cdata
        return TensorRef(key, tuple(tensor.shape), storage.nbytes(), key in self.state_keys)

    def tensors(self, value: Any) -> list[torch.Tensor]:
        if isinstance(value, torch.Tensor):
            return [value]
        if isinstance(value, (list, tuple)):
            return [t for item in value for t in self.tensors(item)]
        if isinstance(value, dict):
            return [t for item in value.values() for t in self.tensors(item)]
        return []

    def record(
        self, name: str, inputs: list[torch.Tensor], outputs: list[torch.Tensor], **attributes: Any
    ) -> None:
        self.ops.append(
            OpCall(
                name=name,
                module=self.stack[-1],
                inputs=[self.ref(t) for t in inputs],
                outputs=[self.ref(t) for t in outputs],
                **attributes,
            )
        )

    def record_function(
        self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
    ) -> None:
        raw = getattr(func, "__name__", str(func))
        name = _DUNDERS.get(raw, raw)
        if name.startswith("__") or name in VIEW_OPS:
            return  # attribute access, views, tensor creation: no arithmetic
        inputs = self.tensors(args) + self.tensors(kwargs)
        attributes: dict[str, Any] = {}
        if name in ("conv1d", "conv2d", "conv3d"):
            weight = _arg(args, kwargs, 1, "weight")
            name = "convolution"
            attributes = {
                "kernel": _pair(weight.shape[2:]),
                "stride": _pair(_arg(args, kwargs, 3, "stride", 1)),
                "dilation": _pair(_arg(args, kwargs, 5, "dilation", 1)),
                "weight_shape": tuple(weight.shape),
            }
        elif name == "linear":
            attributes = {"weight_shape": tuple(_arg(args, kwargs, 1, "weight").shape)}
        elif name in ("max_pool2d", "avg_pool2d"):
            kernel = _pair(_arg(args, kwargs, 1, "kernel_size"))
            stride = _arg(args, kwargs, 2, "stride", None)
            dilation = _arg(args, kwargs, 4, "dilation", 1) if name == "max_pool2d" else 1
            attributes = {
                "kernel": kernel,
                "stride": _pair(stride) if stride else kernel,
                "dilation": _pair(dilation),
            }
        elif name in ("batch_norm", "layer_norm", "group_norm", "instance_norm"):
            index, key = {"batch_norm": (3, "weight")}.get(name, (2, "weight"))
            attributes = {"affine": _arg(args, kwargs, index, key, None) is not None}
        elif name == "interpolate":
            mode = _arg(args, kwargs, 3, "mode", "nearest")
            name = "upsample_bilinear2d" if mode == "bilinear" else f"upsample_{mode}2d"
        self.record(f"aten::{name}", inputs, self.tensors(out), **attributes)


# Python operators as torch-function names.
_DUNDERS = {
    "__iadd__": "add_",
    "__add__": "add",
    "__radd__": "add",
    "__isub__": "sub_",
    "__sub__": "sub",
    "__imul__": "mul_",
    "__mul__": "mul",
    "__rmul__": "mul",
    "__truediv__": "div",
    "__itruediv__": "div_",
    "__matmul__": "matmul",
    "__getitem__": "getitem",
}


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


class _Recorder(TorchFunctionMode):
    """Sees every torch function call (F.conv2d, Tensor.add_, ...) at the Python level.

    A function mode, not a dispatch mode: on the meta device a Python dispatch mode takes a
    path that imports torch._dynamo (2 s), a function mode does not.
    """

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
        out = func(*args, **kwargs)
        self.tracer.record_function(func, args, kwargs, out)
        return out


def _expect(condition: bool, message: str) -> None:
    """The check the real layer would make before computing (shape-only forwards skip it)."""
    if not condition:
        raise RuntimeError(message)


def _shape_only_forward(module: nn.Module, tracer: _Tracer) -> Callable[..., Any] | None:
    """A forward that makes the output of the right shape and records one operation."""

    def wrap(
        name: str, make: Callable[[torch.Tensor], torch.Tensor], **attributes: Any
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        def forward(x: torch.Tensor) -> torch.Tensor:
            out = make(x)  # only new_empty and shape reads: the recorder ignores both
            tracer.record(name, [x], [out], synthetic=True, **attributes)
            return out

        return forward

    if isinstance(module, nn.modules.batchnorm._NormBase):

        def norm(x: torch.Tensor) -> torch.Tensor:
            _expect(
                x.dim() >= 2 and x.shape[1] == module.num_features,
                f"{type(module).__name__}({module.num_features}) got input {list(x.shape)}",
            )
            return x.new_empty(x.shape)

        return wrap("aten::batch_norm", norm, affine=module.affine)
    if isinstance(module, nn.ReLU):
        if module.inplace:
            return wrap("aten::relu_", lambda x: x)
        return wrap("aten::relu", lambda x: x.new_empty(x.shape))
    if isinstance(module, (nn.Identity, nn.Dropout)):
        return lambda x: x
    if isinstance(module, nn.Linear):
        shape = (module.out_features, module.in_features)
        return wrap(
            "aten::linear",
            lambda x: x.new_empty((*x.shape[:-1], module.out_features)),
            weight_shape=shape,
        )
    if (
        isinstance(module, nn.Conv2d)
        and not isinstance(module.padding, str)
        and module.padding_mode == "zeros"
    ):
        kernel, stride, padding, dilation = (
            _pair(module.kernel_size),
            _pair(module.stride),
            _pair(module.padding),
            _pair(module.dilation),
        )

        def conv(x: torch.Tensor) -> torch.Tensor:
            _expect(
                x.dim() in (3, 4) and x.shape[-3] == module.in_channels,
                f"Conv2d({module.in_channels}, {module.out_channels}) got input "
                f"{list(x.shape)}: expected {module.in_channels} channels",
            )
            height = _window_out(x.shape[-2], kernel[0], stride[0], padding[0], dilation[0])
            width = _window_out(x.shape[-1], kernel[1], stride[1], padding[1], dilation[1])
            _expect(
                height > 0 and width > 0,
                f"Conv2d output would be {height}x{width} for input {list(x.shape)}",
            )
            return x.new_empty((*x.shape[:-3], module.out_channels, height, width))

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
        and not module.ceil_mode
        and not getattr(module, "return_indices", False)
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
                f"{type(module).__name__} output would be {height}x{width} for input "
                f"{list(x.shape)}",
            )
            return x.new_empty((*x.shape[:-2], height, width))

        name = "aten::max_pool2d" if isinstance(module, nn.MaxPool2d) else "aten::avg_pool2d"
        return wrap(name, pool, kernel=kernel, stride=stride, dilation=dilation)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and not getattr(
        module, "return_indices", False
    ):
        size = module.output_size
        out_height, out_width = (size, size) if isinstance(size, int) else tuple(size)  # type: ignore[arg-type]

        def pooled(x: torch.Tensor) -> torch.Tensor:
            height, width = out_height or x.shape[-2], out_width or x.shape[-1]
            return x.new_empty((*x.shape[:-2], height, width))

        name = (
            "aten::adaptive_avg_pool2d"
            if isinstance(module, nn.AdaptiveAvgPool2d)
            else "aten::adaptive_max_pool2d"
        )
        return wrap(name, pooled)
    if isinstance(module, nn.ZeroPad2d):
        left, right, top, bottom = module.padding

        def pad(x: torch.Tensor) -> torch.Tensor:
            return x.new_empty(
                (*x.shape[:-2], x.shape[-2] + top + bottom, x.shape[-1] + left + right)
            )

        return wrap("aten::constant_pad_nd", pad, kernel=(1, 1), stride=(1, 1))
    if type(module).__name__ == "ZeroPadShortcut":  # build.layers; parameter-free option A
        step = int(getattr(module, "stride"))  # noqa: B009 - typed as Tensor | Module
        out_channels = int(getattr(module, "out_channels"))  # noqa: B009

        def shortcut(x: torch.Tensor) -> torch.Tensor:
            height, width = (x.shape[-2] - 1) // step + 1, (x.shape[-1] - 1) // step + 1
            return x.new_empty((*x.shape[:-3], out_channels, height, width))

        return wrap("aten::constant_pad_nd", shortcut, kernel=(1, 1), stride=(step, step))
    return None


def trace_model(model: nn.Module, input_shape: tuple[int, ...], batch_size: int) -> Trace:
    """Run `model` (on the meta device) once and record its modules and operations.

    Hooks and swapped forwards are removed in `finally`; `model` must be the caller's copy.
    """
    tracer = _Tracer(model)
    modules = dict(model.named_modules())
    calls: dict[str, ModuleCall] = {}
    handles = []

    def pre_hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def pre_hook(module: nn.Module, _inputs: Any) -> None:
            if name not in calls:
                calls[name] = ModuleCall(name, module, first_op=len(tracer.ops))
            tracer.stack.append(name)

        return pre_hook

    def hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tracer.stack.pop()
            call = calls[name]
            call.calls += 1
            if call.calls == 1:
                call.first_end = len(tracer.ops)
            found = tracer.tensors(output)
            if found and not call.output_shape:
                call.output_shape = list(found[0].shape)
                call.output_key = tracer.ref(found[0]).key

        return hook

    swapped = {}
    for module in modules.values():
        forward = _shape_only_forward(module, tracer)
        if forward is not None:
            swapped[module] = forward
    parameter = next(iter(model.parameters()), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    try:
        for module, forward in swapped.items():
            module.forward = forward
        for name, module in modules.items():
            if name:
                handles.append(module.register_forward_pre_hook(pre_hook_for(name)))
                handles.append(module.register_forward_hook(hook_for(name)))
        x = torch.empty((batch_size, *input_shape), device="meta", dtype=dtype)
        input_ref = tracer.ref(x)
        with torch.no_grad(), _Recorder(tracer):
            output = model(x)
    except AnalysisError:
        raise
    except Exception as err:  # a user model may raise anything on a bad input shape
        raise AnalysisError(f"forward pass failed on input {list(input_shape)}: {err}") from err
    finally:
        for handle in handles:
            handle.remove()
        for module in swapped:
            del module.forward
    return Trace(
        modules=calls,
        ops=tracer.ops,
        input=input_ref,
        outputs=[tracer.ref(t) for t in tracer.tensors(output)],
        batch_size=batch_size,
        element_bytes=torch.empty((), dtype=dtype).element_size(),
    )


def numel(shape: tuple[int, ...] | list[int]) -> int:
    return math.prod(shape)
