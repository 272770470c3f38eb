"""Shortcut kinds (no torch at load): what a residual block adds its input through.

The paper's options (He et al. 2015, Sec. 3.3) choose a kind per block: A zero-pads where the
shape changes, B projects where it changes, C projects everywhere; D (He et al. 2019, "Bag of
Tricks", ResNet-D) average-pools, then projects, where it changes; `none` is a plain network.
Each kind owns its plan (the `downsample` module, if any), its closed-form cost and how
drawings and reports name it. A shortcut of more than one layer is a module of its own class
(Projection, AvgPoolProjection), so the analyzers read what a branch is from the model, never
from a module's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from resnet_inspect.plan.layer_kinds import Settings, conv_layer, make, norm_layer
from resnet_inspect.plan.tree import Container, Layer, ModuleRecipe, Node, ShortcutModule, Size

if TYPE_CHECKING:
    from torch import nn

# shortcut kind -> its class; filled as the classes below are defined
SHORTCUTS: dict[str, type[Shortcut]] = {}
# The spec's `shortcut:` letters, as the paper names them (`none`: no shortcut at all).
OPTIONS = {
    "A": "zero-padding where the shape changes, identity elsewhere (no parameters)",
    "B": "a 1×1 projection where the shape changes, identity elsewhere",
    "C": "a 1×1 projection on every block",
    "D": "average pool, then a 1×1 projection, where the shape changes (ResNet-D)",
    "none": "no shortcut: a plain network",
}
NAME = "downsample"  # the shortcut module's name in a block, as torchvision names it


def shortcut_for(option: str, same_shape: bool) -> str:
    """The shortcut kind a block gets from the spec's option letter."""
    if option == "none":
        return "none"
    if option == "C":
        return "projection"
    if same_shape:
        return "identity"
    return {"A": "zeropad", "D": "avgpool_projection"}.get(option, "projection")


class Shortcut(ShortcutModule, ModuleRecipe):
    """A kind of shortcut. `plan` gives its module (None for identity and none)."""

    label: ClassVar[str] = ""  # how drawings and reports name it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "shortcut_kind" in cls.__dict__:
            SHORTCUTS[cls.shortcut_kind] = cls

    @classmethod
    def plan(
        cls, in_channels: int, out_channels: int, stride: int, size: Size, settings: Settings
    ) -> Node | None:
        """The module named `downsample`, from the block's input; settings: bias (the spec's),
        norm (the spec's) and projection_norm (the block type's)."""
        return None

    @classmethod
    def complexity(
        cls, in_channels: int, out_channels: int, out_size: Size, settings: Settings
    ) -> tuple[int, int]:
        """(params, MACs per image) by closed-form arithmetic, apart from `plan`."""
        return 0, 0


class IdentityShortcut(Shortcut):
    """The block's input itself: no module."""

    shortcut_kind = "identity"
    label = "identity"


class Projection(Shortcut):
    """Option B/C's shortcut: a strided 1×1 convolution and its BN (torchvision's
    `downsample`, state_dict keys `downsample.0.*` and `downsample.1.*`); pre-activation
    blocks have no BN there."""

    shortcut_kind = "projection"
    label = "projection 1×1"
    sequential = True

    def __init__(self, node: Container, children: dict[str, nn.Module]) -> None:
        super().__init__(*children.values())

    @classmethod
    def plan(
        cls, in_channels: int, out_channels: int, stride: int, size: Size, settings: Settings
    ) -> Node | None:
        conv = conv_layer("0", in_channels, out_channels, 1, stride, size, 1, settings["bias"])
        layers: list[Layer] = [conv]
        if settings["projection_norm"]:
            layers.append(norm_layer("1", conv, settings["norm"]))
        return Container(NAME, "shortcut", tuple(layers), cls)

    @classmethod
    def complexity(
        cls, in_channels: int, out_channels: int, out_size: Size, settings: Settings
    ) -> tuple[int, int]:
        """A 1×1 convolution c_in → c_out at the output's size, its bias and its BN."""
        norm = 2 * out_channels if settings["projection_norm"] else 0
        params = in_channels * out_channels + (out_channels if settings["bias"] else 0) + norm
        return params, in_channels * out_channels * out_size[0] * out_size[1]


class ZeroPadding(Shortcut):
    """Option A: subsample by the stride and pad the new channels with zeros, one layer
    (plan/layer_kinds/padding.py's ZeroPadShortcut)."""

    shortcut_kind = "zeropad"
    label = "zero-pad"

    @classmethod
    def plan(
        cls, in_channels: int, out_channels: int, stride: int, size: Size, settings: Settings
    ) -> Node | None:
        return make(
            "zeropad", NAME, in_channels, size, out_channels=out_channels, stride=(stride, stride)
        )


class AvgPoolProjection(Projection):
    """ResNet-D's shortcut (He et al. 2019; timm's avg_down): a 2×2 average pool at the stride
    (ceil mode, padding not counted; an identity at stride 1), then a 1×1 convolution and BN at
    stride 1 (`downsample.0/1/2`), so the projection sees every input position instead of a
    quarter of them."""

    shortcut_kind = "avgpool_projection"
    label = "avg-pool + projection 1×1"

    @classmethod
    def plan(
        cls, in_channels: int, out_channels: int, stride: int, size: Size, settings: Settings
    ) -> Node | None:
        if stride > 1:
            pool = make(
                "avgpool_ceil", "0", in_channels, size, kernel=(2, 2), stride=(stride, stride)
            )
        else:
            pool = make("identity", "0", in_channels, size)
        conv = conv_layer("1", in_channels, out_channels, 1, 1, pool.out_size, 1, settings["bias"])
        norm = norm_layer("2", conv, settings["norm"])
        return Container(NAME, "shortcut", (pool, conv, norm), cls)

    @classmethod
    def complexity(
        cls, in_channels: int, out_channels: int, out_size: Size, settings: Settings
    ) -> tuple[int, int]:
        """As a projection, always with its BN."""
        return super().complexity(
            in_channels, out_channels, out_size, {**settings, "projection_norm": True}
        )


class NoShortcut(Shortcut):
    """A plain block: nothing is added."""

    shortcut_kind = "none"
    label = "none"


__all__ = ["NAME", "OPTIONS", "SHORTCUTS", "Shortcut", "shortcut_for"]
