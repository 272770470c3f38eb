"""Layers that pass their input on and record nothing: nn.Identity (ResNet-D's pool at stride
1) and, in evaluation, nn.Dropout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind
from resnet_inspect.plan.tree import Layer

if TYPE_CHECKING:
    from torch import nn


class Identity(LayerKind):
    name = "identity"
    module_type = "Identity"
    saves = "nothing"

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.Identity()

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.Identity,)

    def from_module(self, module: Any) -> Layer | None:
        return Layer("", self.name, 0, 0, (0, 0), (0, 0))


class Dropout(Identity):
    """In evaluation nn.Dropout is the identity (in training it runs its own forward)."""

    name = "dropout"
    module_type = "Dropout"

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.Dropout()

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.Dropout,)

    def from_module(self, module: Any) -> Layer | None:
        return None if module.training else Layer("", self.name, 0, 0, (0, 0), (0, 0))
