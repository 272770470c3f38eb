"""Group norm (Wu & He 2018, "Group Normalization"; nn.GroupNorm): the channels in `groups`
groups, each normalised over its channels and positions; a learnable scale and shift per
channel (2·C parameters) and no running statistics, so it behaves the same at any batch size.
`norm: group_norm` (32 groups, the paper's default) or `norm: {type: group_norm, groups: 16}`
puts it wherever the network normalises, as timm's resnet50_gn does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind, SettingProblem, Settings
from resnet_inspect.plan.tree import Layer, Size

if TYPE_CHECKING:
    from torch import nn

DEFAULT_GROUPS = 32  # Wu & He 2018's G = 32, timm's GroupNorm default


class GroupNorm(LayerKind):
    name = "group_norm"
    module_type = "GroupNorm"
    role = "norm"
    operations = ("aten::group_norm",)

    def parse_settings(self, value: dict[str, Any]) -> tuple[Settings, list[SettingProblem]]:
        problems: list[SettingProblem] = [
            ((str(key),), "unknown key in norm", "group_norm takes groups")
            for key in value
            if key != "groups"
        ]
        groups = value.get("groups", DEFAULT_GROUPS)
        if isinstance(groups, bool) or not isinstance(groups, int) or not 1 <= groups <= 65_536:
            problems.append((("groups",), "groups must be a whole number from 1 to 65,536", ""))
        return {"groups": groups}, problems

    def layer(self, name: str, channels: int, size: Size, settings: Settings) -> Layer:
        groups = settings.get("groups", DEFAULT_GROUPS)
        return Layer(name, self.name, channels, channels, size, size, groups=groups)

    def problem(self, layer: Layer) -> str | None:
        if layer.in_channels % layer.groups:
            return (
                f"{layer.groups} groups do not divide {layer.in_channels} channels "
                "(GroupNorm needs whole groups)"
            )
        return None

    def check_input(self, layer: Layer, shape: tuple[int, ...], type_name: str) -> str | None:
        if len(shape) < 2 or shape[1] != layer.in_channels:
            got = shape[1] if len(shape) >= 2 else "none"
            return (
                f"{type_name}({layer.groups}, {layer.in_channels}) got input {list(shape)}: "
                f"expected {layer.in_channels} channels, got {got}"
            )
        return None

    def weight_shapes(self, layer: Layer) -> list[tuple[int, ...]]:
        return [(layer.out_channels,), (layer.out_channels,)] if layer.affine else []

    def params(self, layer: Layer) -> int:
        return 2 * layer.out_channels if layer.affine else 0

    def attributes(self, layer: Layer) -> dict[str, Any]:
        return {"affine": layer.affine}

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        return nn.GroupNorm(layer.groups, layer.out_channels, affine=layer.affine)

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.GroupNorm,)

    def from_module(self, module: Any) -> Layer | None:
        channels = module.num_channels
        return Layer(
            "",
            self.name,
            channels,
            channels,
            (0, 0),
            (0, 0),
            groups=module.num_groups,
            affine=bool(module.affine),
        )
