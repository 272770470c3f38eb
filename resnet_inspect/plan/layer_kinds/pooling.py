"""Pooling: max and average windows (the stem's pool), ResNet-D's ceil-mode average pool, and
adaptive pools (the head's global pool, an SE gate's squeeze). No parameters; the analyzers
read the window's kernel and stride for the receptive field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind, pair, window
from resnet_inspect.plan.tree import Layer, Size

if TYPE_CHECKING:
    from torch import nn


class _Window(LayerKind):
    """A pooling window: kernel, stride, padding (and dilation for max pooling)."""

    windowed = True

    def output(self, layer: Layer) -> tuple[int, Size]:
        return layer.in_channels, self._spatial(layer, layer.in_size)

    def _spatial(self, layer: Layer, size: tuple[int, ...]) -> tuple[int, int]:
        return (
            window(size[-2], layer.kernel[0], layer.stride[0], layer.padding[0], layer.dilation[0]),
            window(size[-1], layer.kernel[1], layer.stride[1], layer.padding[1], layer.dilation[1]),
        )

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*shape[:-2], *self._spatial(layer, shape))

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        height, width = self._spatial(layer, shape)
        if len(shape) not in (3, 4) or height <= 0 or width <= 0:
            return f"{type_name} output would be {height}x{width} for input {list(shape)}"
        return None

    def attributes(self, layer: Layer) -> dict[str, Any]:
        return {
            "kernel": layer.kernel,
            "stride": layer.stride,
            "dilation": layer.dilation,
            "padding": (layer.padding[0], layer.padding[1]),
        }

    def _read(self, module: Any) -> Layer:
        return Layer(
            "",
            self.name,
            0,
            0,
            (0, 0),
            (0, 0),
            kernel=pair(module.kernel_size),
            stride=pair(module.stride or module.kernel_size),
            padding=pair(module.padding),
            dilation=pair(getattr(module, "dilation", 1)),
        )


class MaxPool(_Window):
    name = "maxpool"
    module_type = "MaxPool2d"
    operations = ("aten::max_pool2d",)

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.MaxPool2d(layer.kernel, layer.stride, (layer.padding[0], layer.padding[1]))

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.MaxPool2d,)

    def from_module(self, module: Any) -> Layer | None:
        if module.ceil_mode or module.return_indices:
            return None
        return self._read(module)


class AvgPool(_Window):
    name = "avgpool"
    module_type = "AvgPool2d"
    operations = ("aten::avg_pool2d",)

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.AvgPool2d(layer.kernel, layer.stride, (layer.padding[0], layer.padding[1]))

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.AvgPool2d,)

    def from_module(self, module: Any) -> Layer | None:
        if module.ceil_mode or module.divisor_override is not None:
            return None
        return self._read(module)


class CeilAvgPool(AvgPool):
    """ResNet-D's shortcut pool (timm's avg_down): ceil mode, padding not counted. The meta
    pass runs its own forward (no fast path), which calls F.avg_pool2d."""

    name = "avgpool_ceil"
    fast_path = False

    def _spatial(self, layer: Layer, size: tuple[int, ...]) -> tuple[int, int]:
        return (
            _ceil_window(size[-2], layer.kernel[0], layer.stride[0], layer.padding[0]),
            _ceil_window(size[-1], layer.kernel[1], layer.stride[1], layer.padding[1]),
        )

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        padding = (layer.padding[0], layer.padding[1])
        return nn.AvgPool2d(
            layer.kernel, layer.stride, padding, ceil_mode=True, count_include_pad=False
        )

    def module_classes(self) -> tuple[type, ...]:
        return ()


def _ceil_window(size: int, kernel: int, stride: int, padding: int) -> int:
    """torch's output length in ceil mode: the last window may start in the padding only if it
    starts inside the input."""
    out = -(-(size + 2 * padding - kernel) // stride) + 1
    return out - 1 if (out - 1) * stride >= size + padding else out


class _Adaptive(LayerKind):
    """An adaptive pool to out_size (0 keeps the input's size on that axis)."""

    def output(self, layer: Layer) -> tuple[int, Size]:
        return layer.in_channels, layer.out_size

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width = layer.out_size
        return (*shape[:-2], height or shape[-2], width or shape[-1])

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        return None if len(shape) in (3, 4) else f"{type_name} got input {list(shape)}"

    def _read(self, module: Any) -> Layer | None:
        if getattr(module, "return_indices", False):
            return None
        size = module.output_size
        height, width = (size, size) if isinstance(size, int) else tuple(size)
        return Layer("", self.name, 0, 0, (0, 0), (height or 0, width or 0))


class AdaptiveAvgPool(_Adaptive):
    name = "adaptive_avgpool"
    module_type = "AdaptiveAvgPool2d"
    operations = ("aten::adaptive_avg_pool2d",)

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.AdaptiveAvgPool2d(layer.out_size)

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.AdaptiveAvgPool2d,)

    def from_module(self, module: Any) -> Layer | None:
        return self._read(module)


class AdaptiveMaxPool(_Adaptive):
    name = "adaptive_maxpool"
    module_type = "AdaptiveMaxPool2d"
    operations = ("aten::adaptive_max_pool2d",)

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.AdaptiveMaxPool2d(layer.out_size)

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.AdaptiveMaxPool2d,)

    def from_module(self, module: Any) -> Layer | None:
        return self._read(module)
