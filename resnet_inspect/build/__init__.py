"""Spec -> torch.nn.Module. torch is imported here and in analyze/ only."""

from resnet_inspect.build.blocks import BLOCKS, BasicBlock, Bottleneck
from resnet_inspect.build.network import ResNet, build_model

__all__ = ["BLOCKS", "BasicBlock", "Bottleneck", "ResNet", "build_model"]
