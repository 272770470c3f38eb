"""Batch norm (nn.BatchNorm2d): a learnable scale and shift per channel (2·C parameters) and
the running mean and variance (2·C buffers; num_batches_tracked is not counted, as
torchvision's documentation counts). The networks' default norm (`norm: bn`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind
from resnet_inspect.plan.tree import Layer

if TYPE_CHECKING:
    from torch import nn


class BatchNorm(LayerKind):
    name = "bn"
    module_type = "BatchNorm2d"
    role = "norm"
    operations = ("aten::batch_norm",)

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        if len(shape) < 2 or shape[1] != layer.in_channels:
            got = shape[1] if len(shape) >= 2 else "none"
            return (
                f"{type_name}({layer.in_channels}) got input {list(shape)}: "
                f"expected {layer.in_channels} channels, got {got}"
            )
        return None

    def weight_shapes(self, layer: Layer) -> list[tuple[int, ...]]:
        return [(layer.out_channels,), (layer.out_channels,)] if layer.affine else []

    def params(self, layer: Layer) -> int:
        return 2 * layer.out_channels if layer.affine else 0

    def buffers(self, layer: Layer) -> int:
        return 2 * layer.out_channels

    def attributes(self, layer: Layer) -> dict[str, Any]:
        return {"affine": layer.affine}

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.BatchNorm2d(layer.out_channels, affine=layer.affine)

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)

    def from_module(self, module: Any) -> Layer | None:
        if module.training:
            return None  # the batch's statistics: its own forward, recorded as it runs
        features = module.num_features
        return Layer("", self.name, features, features, (0, 0), (0, 0), affine=bool(module.affine))
