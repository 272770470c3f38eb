"""Spec -> torch.nn.Module. torch is imported here, in analyzers/ and in pipeline.py only."""

from resnet_inspect.build.blocks import (
    BLOCK_MODULES,
    AvgPoolProjection,
    Projection,
    ResidualBlock,
)
from resnet_inspect.build.layers import Shortcut, ZeroPadShortcut
from resnet_inspect.build.network import ResNet, build_model

__all__ = [
    "BLOCK_MODULES",
    "AvgPoolProjection",
    "Projection",
    "ResNet",
    "ResidualBlock",
    "Shortcut",
    "ZeroPadShortcut",
    "build_model",
]
