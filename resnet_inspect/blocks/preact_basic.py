"""The pre-activation basic block (He et al. 2016, "Identity Mappings in Deep Residual Networks",
Fig. 4e): BN, ReLU, 3×3 conv, BN, ReLU, 3×3 conv; add shortcut; nothing after the add.

A projection shortcut is a 1×1 convolution without BN, fed by the pre-activated input (the
identity adds the input itself); the network ends with BN and ReLU before pooling.
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.blocks import BlockInput, BlockType, recipe_of
from resnet_inspect.blocks.layers import LayerPlan, bn_layer, conv_layer, relu_layer


def input_bn(block: BlockInput) -> LayerPlan:
    """BN over the block's input: the first layer of a pre-activation block."""
    channels, size = block.in_channels, block.in_size
    return LayerPlan("bn1", "bn", channels, channels, size, size)


def plan(block: BlockInput) -> list[LayerPlan]:
    first, second = block.filters
    bn1 = input_bn(block)
    conv1 = conv_layer(
        "conv1", block.in_channels, first, 3, block.stride, block.in_size, 1, block.bias
    )
    conv2 = conv_layer("conv2", first, second, 3, 1, conv1.out_size, 1, block.bias)
    return [
        bn1,
        relu_layer("relu1", bn1),
        conv1,
        bn_layer("bn2", conv1),
        relu_layer("relu2", conv1),
        conv2,
    ]


def forward(self: Any, x: Any) -> Any:
    pre = self.relu1(self.bn1(x))
    out = self.conv1(pre)
    out = self.conv2(self.relu2(self.bn2(out)))
    return self.add_shortcut(out, x if self.downsample is None else pre)


BLOCK = BlockType(
    name="preact_basic",
    class_name="PreActBasicBlock",
    filters=2,
    example="[64, 64]",
    grouped=(),
    final_relu=None,
    plan=plan,
    forward=forward,
    recipe=recipe_of(__doc__),
    projection_bn=False,
    tail=("bn", "relu"),
)
