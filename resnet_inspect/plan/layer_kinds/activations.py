"""Activations: ReLU (in place, as every ReLU the plan makes; autograd keeps its output) and
the sigmoid of a squeeze-and-excitation gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind
from resnet_inspect.plan.tree import Layer

if TYPE_CHECKING:
    from torch import nn


class ReLU(LayerKind):
    name = "relu"
    module_type = "ReLU"
    operations = ("aten::relu_", "aten::relu")
    saves = "output"

    def operation(self, layer: Layer) -> str:
        return self.operations[0] if layer.inplace else self.operations[1]

    def in_place(self, layer: Layer) -> bool:
        return layer.inplace

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.ReLU(inplace=layer.inplace)

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.ReLU,)

    def from_module(self, module: Any) -> Layer | None:
        return Layer("", self.name, 0, 0, (0, 0), (0, 0), inplace=bool(module.inplace))


class Sigmoid(LayerKind):
    """The meta pass runs nn.Sigmoid's own forward (no fast path): its operation is recorded
    as the ATen operator that runs."""

    name = "sigmoid"
    module_type = "Sigmoid"
    operations = ("aten::sigmoid",)
    saves = "output"
    fast_path = False

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.Sigmoid()
