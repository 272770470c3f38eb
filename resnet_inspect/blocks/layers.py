"""One planned layer (no torch): its type, channels, feature-map sizes, and what it costs.

Block types describe their layers with these helpers; the spec's plan (spec/plan.py) uses them
for the stem, shortcuts and head; the builder turns each LayerPlan into a module. Output size
of a convolution or pool: floor((size + 2*padding - kernel) / stride) + 1.
"""

from __future__ import annotations

from dataclasses import dataclass

Size = tuple[int, int]


@dataclass(frozen=True)
class LayerPlan:
    """One module with its shape. `name` is the dotted path it gets in the built model."""

    name: str
    # conv | bn | relu | sigmoid | identity | maxpool | avgpool | avgpool_ceil | pad | linear |
    # global_avgpool | global_maxpool | zeropad
    type: str
    in_channels: int
    out_channels: int
    in_size: Size
    out_size: Size
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False

    @property
    def params(self) -> int:
        if self.type == "conv":
            weights = (
                self.kernel * self.kernel * (self.in_channels // self.groups) * self.out_channels
            )
            return weights + (self.out_channels if self.bias else 0)
        if self.type == "bn":
            return 2 * self.out_channels
        if self.type == "linear":
            return self.in_channels * self.out_channels + self.out_channels
        return 0

    @property
    def buffers(self) -> int:
        """BN running mean and variance (num_batches_tracked not counted, as torchvision's docs)."""
        return 2 * self.out_channels if self.type == "bn" else 0

    @property
    def macs(self) -> int:
        """Multiply-adds of weights only, per image (the paper's and torchvision's convention)."""
        if self.type == "conv":
            per_pixel = (
                self.kernel * self.kernel * (self.in_channels // self.groups) * self.out_channels
            )
            return per_pixel * self.out_size[0] * self.out_size[1]
        if self.type == "linear":
            return self.in_channels * self.out_channels
        return 0


def out_size(size: Size, kernel: int, stride: int, padding: int) -> Size:
    """The feature-map size after a window of `kernel` at `stride` with `padding`."""
    return (
        (size[0] + 2 * padding - kernel) // stride + 1,
        (size[1] + 2 * padding - kernel) // stride + 1,
    )


def conv_layer(
    name: str,
    in_channels: int,
    out_channels: int,
    kernel: int,
    stride: int,
    size: Size,
    groups: int = 1,
    bias: bool = False,
) -> LayerPlan:
    """A k×k convolution with "same" padding (k // 2), as every ResNet block uses."""
    padding = kernel // 2
    return LayerPlan(
        name,
        "conv",
        in_channels,
        out_channels,
        size,
        out_size(size, kernel, stride, padding),
        kernel,
        stride,
        padding,
        groups,
        bias,
    )


def bn_layer(name: str, after: LayerPlan) -> LayerPlan:
    """Batch norm over the output of `after`."""
    return LayerPlan(
        name, "bn", after.out_channels, after.out_channels, after.out_size, after.out_size
    )


def relu_layer(name: str, after: LayerPlan) -> LayerPlan:
    """ReLU over the output of `after`."""
    return LayerPlan(
        name, "relu", after.out_channels, after.out_channels, after.out_size, after.out_size
    )


def post_activation(convs: list[LayerPlan]) -> list[LayerPlan]:
    """conv, BN, ReLU for each convolution, without the last ReLU (it follows the residual
    add): conv1, bn1, relu1, conv2, bn2, … as torchvision names them."""
    layers: list[LayerPlan] = []
    for index, conv in enumerate(convs, start=1):
        layers += [conv, bn_layer(f"bn{index}", conv)]
        if index < len(convs):
            layers.append(relu_layer(f"relu{index}", conv))
    return layers


def pre_activation(convs: list[LayerPlan]) -> list[LayerPlan]:
    """BN and ReLU over each convolution's input, then the convolution (He et al. 2016):
    bn1, relu1, conv1, bn2, relu2, conv2, …"""
    layers: list[LayerPlan] = []
    for index, conv in enumerate(convs, start=1):
        channels, size = conv.in_channels, conv.in_size
        bn = LayerPlan(f"bn{index}", "bn", channels, channels, size, size)
        layers += [bn, relu_layer(f"relu{index}", bn), conv]
    return layers
