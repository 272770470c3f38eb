"""A fully connected layer (nn.Linear): C_in·C_out weights and C_out biases; one multiply-add
per weight for each row of its input."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind, numel
from resnet_inspect.plan.tree import Layer, Size

if TYPE_CHECKING:
    from torch import nn


class Linear(LayerKind):
    name = "linear"
    module_type = "Linear"
    operations = ("aten::linear",)

    def output(self, layer: Layer) -> tuple[int, Size]:
        return layer.out_channels, layer.in_size

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*shape[:-1], layer.out_channels)

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        if len(shape) < 1 or shape[-1] != layer.in_channels:
            got = shape[-1] if shape else "a scalar"
            return (
                f"{type_name}({layer.in_channels}, {layer.out_channels}) got input "
                f"{list(shape)}: expected {layer.in_channels:,} features in the last "
                f"dimension, got {got}"
            )
        return None

    def weight_shapes(self, layer: Layer) -> list[tuple[int, ...]]:
        weight = (layer.out_channels, layer.in_channels)
        return [weight, (layer.out_channels,)] if layer.bias else [weight]

    def params(self, layer: Layer) -> int:
        return sum(numel(shape) for shape in self.weight_shapes(layer))

    def macs(self, layer: Layer) -> int:
        return layer.in_channels * layer.out_channels

    def attributes(self, layer: Layer) -> dict[str, Any]:
        return {"weight_shape": (layer.out_channels, layer.in_channels)}

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.Linear(layer.in_channels, layer.out_channels, bias=layer.bias)

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.Linear,)

    def from_module(self, module: Any) -> Layer | None:
        return Layer(
            "",
            self.name,
            module.in_features,
            module.out_features,
            (0, 0),
            (0, 0),
            bias=module.bias is not None,
        )
