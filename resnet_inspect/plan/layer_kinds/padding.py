"""Zero padding: the stem's ZeroPad2d (Keras' ZeroPadding2D before an unpadded 7×7), and the
paper's option A shortcut, which subsamples by the stride and pads the new channels with
zeros. Neither has parameters; autograd saves nothing for either."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.plan.layer_kinds import LayerKind
from resnet_inspect.plan.tree import Layer, ModuleRecipe, ShortcutModule, Size

if TYPE_CHECKING:
    import torch
    from torch import nn


class Pad(LayerKind):
    """nn.ZeroPad2d: `padding` is (left, right, top, bottom)."""

    name = "pad"
    module_type = "ZeroPad2d"
    operations = ("aten::constant_pad_nd",)
    saves = "nothing"

    def output(self, layer: Layer) -> tuple[int, Size]:
        left, right, top, bottom = layer.padding
        height, width = layer.in_size
        return layer.in_channels, (height + top + bottom, width + left + right)

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        left, right, top, bottom = layer.padding
        return (*shape[:-2], shape[-2] + top + bottom, shape[-1] + left + right)

    def attributes(self, layer: Layer) -> dict[str, Any]:
        left, _, top, _ = layer.padding
        return {"kernel": (1, 1), "stride": (1, 1), "padding": (top, left)}

    def make_module(self, layer: Layer) -> nn.Module:
        from torch import nn

        left, right, top, bottom = layer.padding
        return nn.ZeroPad2d((left, right, top, bottom))

    def module_classes(self) -> tuple[type, ...]:
        from torch import nn

        return (nn.ZeroPad2d,)

    def from_module(self, module: Any) -> Layer | None:
        return Layer("", self.name, 0, 0, (0, 0), (0, 0), padding=tuple(module.padding))


class ZeroPadShortcut(ShortcutModule, ModuleRecipe):
    """The paper's option A: subsample by the stride, then pad the new channels with zeros.

    Parameter-free, so it adds nothing to the parameter count (the CIFAR nets rely on this).
    """

    shortcut_kind = "zeropad"

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_channels - self.in_channels
        if extra:
            x = F.pad(x, (0, 0, 0, 0, 0, extra))
        return x

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


class ZeroPad(LayerKind):
    """Option A's shortcut as one layer: out_channels at the stride."""

    name = "zeropad"
    module_type = "ZeroPadShortcut"
    operations = ("aten::constant_pad_nd",)
    saves = "nothing"

    def output(self, layer: Layer) -> tuple[int, Size]:
        step = layer.stride[0]
        height, width = layer.in_size
        return layer.out_channels, ((height - 1) // step + 1, (width - 1) // step + 1)

    def output_shape(self, layer: Layer, shape: tuple[int, ...]) -> tuple[int, ...]:
        step = layer.stride[0]
        height, width = (shape[-2] - 1) // step + 1, (shape[-1] - 1) // step + 1
        return (*shape[:-3], layer.out_channels, height, width)

    def attributes(self, layer: Layer) -> dict[str, Any]:
        return {"kernel": (1, 1), "stride": layer.stride}

    def facts(self, layer: Layer) -> dict[str, Any]:
        return {"stride": list(layer.stride), "shortcut": ZeroPadShortcut.shortcut_kind}

    def make_module(self, layer: Layer) -> nn.Module:
        module: nn.Module = ZeroPadShortcut.Module(
            layer.in_channels, layer.out_channels, layer.stride[0]
        )
        return module

    def module_classes(self) -> tuple[type, ...]:
        return (ZeroPadShortcut.Module,)

    def from_module(self, module: Any) -> Layer | None:
        step = int(module.stride)
        return Layer(
            "",
            self.name,
            int(module.in_channels),
            int(module.out_channels),
            (0, 0),
            (0, 0),
            stride=(step, step),
        )
