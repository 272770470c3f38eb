"""Per-layer shapes, parameters and multiply-adds from one pass on the meta device.

The pass runs forward hooks on a model whose tensors live on torch's "meta" device: shapes
propagate, but no activation memory is allocated and no arithmetic happens, so the cost does not
grow with batch size or resolution. (torchinfo on the meta device took 2.75 s for ResNet-152
here, this pass about 0.1 s; torchinfo stays the cross-check in the tests and the benchmark.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from resnet_inspect.errors import AnalysisError
from resnet_inspect.report import LayerRow


@dataclass
class _Record:
    calls: int = 0
    output_shape: list[int] = field(default_factory=list)
    macs: int = 0


def module_macs(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of conv and linear weights only (the paper's and torchvision's convention)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        per_output = (module.in_channels // module.groups) * math.prod(module.kernel_size)
        return output.numel() * per_output
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        for item in value.values():
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def _pair(value: Any) -> list[int] | None:
    if value is None:
        return None
    if isinstance(value, int):
        return [value, value]
    return [int(v) for v in value]


def _window_out(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _shape_only_forward(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A forward that returns an empty tensor of the module's output shape, where it is known.

    On the meta device torch runs Python decompositions and lazy imports for many ops (batch
    norm 7 ms a call; linear and adaptive pooling import torch._dynamo, 2 s; the first conv
    imports sympy, 1 s). The shapes of the common layers follow from their hyper-parameters, so
    the pass computes them; anything else runs its real forward on meta tensors.
    """
    if isinstance(module, (nn.modules.batchnorm._NormBase, nn.ReLU, nn.Identity, nn.Dropout)):
        return lambda x: x
    if isinstance(module, nn.Linear):
        return lambda x: x.new_empty((*x.shape[:-1], module.out_features))
    if (
        isinstance(module, nn.Conv2d)
        and not isinstance(module.padding, str)
        and module.padding_mode == "zeros"
    ):
        kernel, stride, padding, dilation = (
            module.kernel_size,
            module.stride,
            module.padding,
            module.dilation,
        )

        def conv(x: torch.Tensor) -> torch.Tensor:
            height, width = (
                _window_out(x.shape[-2], kernel[0], stride[0], padding[0], dilation[0]),
                _window_out(x.shape[-1], kernel[1], stride[1], padding[1], dilation[1]),
            )
            return x.new_empty((*x.shape[:-3], module.out_channels, height, width))

        return conv
    if (
        isinstance(module, (nn.MaxPool2d, nn.AvgPool2d))
        and not module.ceil_mode
        and not getattr(module, "return_indices", False)
    ):
        kernel, stride, padding = (
            _pair(module.kernel_size),
            _pair(module.stride or module.kernel_size),
            _pair(module.padding),
        )
        dilation = _pair(getattr(module, "dilation", 1))
        assert kernel and stride and padding and dilation

        def pool(x: torch.Tensor) -> torch.Tensor:
            height = _window_out(x.shape[-2], kernel[0], stride[0], padding[0], dilation[0])
            width = _window_out(x.shape[-1], kernel[1], stride[1], padding[1], dilation[1])
            return x.new_empty((*x.shape[:-2], height, width))

        return pool
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and not getattr(
        module, "return_indices", False
    ):
        size = module.output_size
        out_height, out_width = (size, size) if isinstance(size, int) else size

        def pooled(x: torch.Tensor) -> torch.Tensor:
            return x.new_empty((*x.shape[:-2], out_height or x.shape[-2], out_width or x.shape[-1]))

        return pooled
    return None


def trace_layers(model: nn.Module, input_shape: tuple[int, ...], batch_size: int) -> list[LayerRow]:
    """One row per module that ran, in the order the modules first ran.

    `model` must live on the meta device (see pipeline); hooks are removed in `finally`.
    """
    records: dict[str, _Record] = {}
    order: list[str] = []
    handles = []
    modules = dict(model.named_modules())

    def pre_hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def pre_hook(_module: nn.Module, _inputs: Any) -> None:
            if name not in records:
                records[name] = _Record()
                order.append(name)  # entry order = pre-order: a block before its convs

        return pre_hook

    def hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
            record = records[name]
            record.calls += 1
            tensor = _first_tensor(output)
            if tensor is not None:
                if not record.output_shape:
                    record.output_shape = list(tensor.shape)
                if not any(True for _ in module.children()):
                    record.macs += module_macs(module, tensor)

        return hook

    # Some ops run torch's Python decompositions on the meta device: batch norm costs 7 ms a
    # call and adaptive pooling imports torch._dynamo (1.5 s). Their output shapes are known, so
    # the pass swaps in shape-only forwards for them, restored in `finally`.
    shortcuts = {m: f for m in modules.values() if (f := _shape_only_forward(m)) is not None}
    try:
        for module, forward in shortcuts.items():
            module.forward = forward  # type: ignore[method-assign]
        for name, module in modules.items():
            if name:
                handles.append(module.register_forward_pre_hook(pre_hook_for(name)))
                handles.append(module.register_forward_hook(hook_for(name)))
        with torch.no_grad():
            model(torch.empty((batch_size, *input_shape), device="meta"))
    except Exception as err:  # a user model may raise anything on a bad input shape
        raise AnalysisError(f"forward pass failed on input {list(input_shape)}: {err}") from err
    finally:
        for handle in handles:
            handle.remove()
        for module in shortcuts:
            del module.forward

    subtree_macs: dict[str, int] = {}
    for name, record in records.items():
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            subtree_macs[prefix] = subtree_macs.get(prefix, 0) + record.macs

    rows: list[LayerRow] = []
    for name in order:
        module = modules[name]
        record = records[name]
        is_leaf = not any(True for _ in module.children())
        if is_leaf:
            params = sum(p.numel() for p in module.parameters(recurse=False))
            trainable = sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad)
            macs = record.macs
        else:
            params = sum(p.numel() for p in module.parameters())
            trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
            macs = subtree_macs[name]
        rows.append(
            LayerRow(
                name=name,
                type=type(module).__name__,
                depth=name.count(".") + 1,
                stage=name.split(".")[0],
                is_leaf=is_leaf,
                output_shape=record.output_shape,
                params=params,
                trainable_params=trainable,
                macs=macs,
                kernel=_pair(getattr(module, "kernel_size", None)) if is_leaf else None,
                stride=_pair(getattr(module, "stride", None)) if is_leaf else None,
                groups=getattr(module, "groups", None) if is_leaf else None,
                calls=record.calls,
            )
        )
    return rows
