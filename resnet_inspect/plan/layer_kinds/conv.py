"""A 2-D convolution (nn.Conv2d): weights k_h·k_w·(C_in / groups)·C_out, plus a bias where
it has one; one multiply-add per weight at every output position."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind, numel, pair, window, window_size
from resnet_inspect.plan.tree import Layer, Size

if TYPE_CHECKING:
    from torch import nn


class Conv(LayerKind):
    name = "conv"
    module_type = "Conv2d"
    operations = ("aten::convolution",)
    windowed = True

    def output(self, layer: Layer) -> tuple[int, Size]:
        return layer.out_channels, window_size(layer)

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width = self._spatial(layer, shape)
        return (*shape[:-3], layer.out_channels, height, width)

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        if len(shape) not in (3, 4) or shape[-3] != layer.in_channels:
            return (
                f"{type_name}({layer.in_channels}, {layer.out_channels}) got input "
                f"{list(shape)}: expected {layer.in_channels} channels"
            )
        height, width = self._spatial(layer, shape)
        if height <= 0 or width <= 0:
            return f"{type_name} output would be {height}x{width} for input {list(shape)}"
        return None

    @staticmethod
    def _spatial(layer: Layer, shape: tuple[int, ...]) -> tuple[int, int]:
        return (
            window(
                shape[-2], layer.kernel[0], layer.stride[0], layer.padding[0], layer.dilation[0]
            ),
            window(
                shape[-1], layer.kernel[1], layer.stride[1], layer.padding[1], layer.dilation[1]
            ),
        )

    def weight_shapes(self, layer: Layer) -> list[tuple[int, ...]]:
        weight = (layer.out_channels, layer.in_channels // layer.groups, *layer.kernel)
        return [weight, (layer.out_channels,)] if layer.bias else [weight]

    def params(self, layer: Layer) -> int:
        return sum(numel(shape) for shape in self.weight_shapes(layer))

    def macs(self, layer: Layer) -> int:
        return numel(self.weight_shapes(layer)[0]) * numel(layer.out_size)

    def attributes(self, layer: Layer) -> dict[str, Any]:
        return {
            "kernel": layer.kernel,
            "stride": layer.stride,
            "dilation": layer.dilation,
            "padding": (layer.padding[0], layer.padding[1]),
            "weight_shape": self.weight_shapes(layer)[0],
        }

    def facts(self, layer: Layer) -> dict[str, Any]:
        return {
            **super().facts(layer),
            "groups": layer.groups,
            "conv_weights": numel(self.weight_shapes(layer)[0]),
            "is_conv2d": True,
        }

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.Conv2d(
            layer.in_channels,
            layer.out_channels,
            kernel_size=layer.kernel,
            stride=layer.stride,
            padding=(layer.padding[0], layer.padding[1]),
            dilation=layer.dilation,
            groups=layer.groups,
            bias=layer.bias,
        )

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.Conv2d,)

    def from_module(self, module: Any) -> Layer | None:
        if isinstance(module.padding, str) or module.padding_mode != "zeros":
            return None  # "same" padding and other modes run their own forward
        return Layer(
            "",
            self.name,
            module.in_channels,
            module.out_channels,
            (0, 0),
            (0, 0),
            kernel=pair(module.kernel_size),
            stride=pair(module.stride),
            padding=pair(module.padding),
            dilation=pair(module.dilation),
            groups=module.groups,
            bias=module.bias is not None,
        )
