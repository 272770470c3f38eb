"""Single layers made from a LayerPlan, and the parameter-free shortcut of option A."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from resnet_inspect.blocks.layers import LayerPlan


class Shortcut:
    """Marks a module as a residual block's shortcut branch; `kind` says which (the analyzers
    read it from the model: identity is no module at all)."""

    kind = "shortcut"


class ZeroPadShortcut(nn.Module, Shortcut):
    """The paper's option A: subsample by the stride, then pad the new channels with zeros.

    Parameter-free, so it adds nothing to the parameter count (the CIFAR nets rely on this).
    """

    kind = "zeropad"

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        extra = self.out_channels - self.in_channels
        if extra:
            x = F.pad(x, (0, 0, 0, 0, 0, extra))
        return x

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def make_layer(layer: LayerPlan) -> nn.Module:
    """The torch module for one planned layer."""
    if layer.type == "conv":
        return nn.Conv2d(
            layer.in_channels,
            layer.out_channels,
            kernel_size=layer.kernel,
            stride=layer.stride,
            padding=layer.padding,
            groups=layer.groups,
            bias=layer.bias,
        )
    if layer.type == "bn":
        return nn.BatchNorm2d(layer.out_channels)
    if layer.type == "relu":
        return nn.ReLU(inplace=True)
    if layer.type == "maxpool":
        return nn.MaxPool2d(kernel_size=layer.kernel, stride=layer.stride, padding=layer.padding)
    if layer.type == "avgpool":
        return nn.AvgPool2d(kernel_size=layer.kernel, stride=layer.stride, padding=layer.padding)
    if layer.type == "pad":
        return nn.ZeroPad2d(layer.padding)
    if layer.type == "global_avgpool":
        return nn.AdaptiveAvgPool2d((1, 1))
    if layer.type == "global_maxpool":
        return nn.AdaptiveMaxPool2d((1, 1))
    if layer.type == "sigmoid":
        return nn.Sigmoid()
    if layer.type == "identity":
        return nn.Identity()
    if layer.type == "avgpool_ceil":
        return nn.AvgPool2d(layer.kernel, layer.stride, ceil_mode=True, count_include_pad=False)
    if layer.type == "linear":
        return nn.Linear(layer.in_channels, layer.out_channels, bias=layer.bias)
    if layer.type == "zeropad":
        return ZeroPadShortcut(layer.in_channels, layer.out_channels, layer.stride)
    raise ValueError(f"unknown layer type {layer.type!r}")  # the schema admits no other
