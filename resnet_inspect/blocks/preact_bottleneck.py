"""The pre-activation bottleneck (He et al. 2016, "Identity Mappings in Deep Residual Networks";
timm's PreActBottleneck): BN, ReLU, 1×1 reduce, BN, ReLU, 3×3 (grouped), BN, ReLU, 1×1 expand;
add shortcut; nothing after the add.

A projection shortcut is a 1×1 convolution without BN, fed by the pre-activated input; the
stride sits on the 3×3 (or the first 1×1 with `stride_on: 1x1`); the network ends with BN and
ReLU before pooling.
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.blocks import BlockInput, BlockType, recipe_of
from resnet_inspect.blocks.layers import LayerPlan, bn_layer, conv_layer, relu_layer
from resnet_inspect.blocks.preact_basic import input_bn


def plan(block: BlockInput) -> list[LayerPlan]:
    reduce, inner, expand = block.filters
    s1, s3 = (block.stride, 1) if block.stride_on == "1x1" else (1, block.stride)
    bn1 = input_bn(block)
    conv1 = conv_layer("conv1", block.in_channels, reduce, 1, s1, block.in_size, 1, block.bias)
    conv2 = conv_layer("conv2", reduce, inner, 3, s3, conv1.out_size, block.groups, block.bias)
    conv3 = conv_layer("conv3", inner, expand, 1, 1, conv2.out_size, 1, block.bias)
    return [
        bn1,
        relu_layer("relu1", bn1),
        conv1,
        bn_layer("bn2", conv1),
        relu_layer("relu2", conv1),
        conv2,
        bn_layer("bn3", conv2),
        relu_layer("relu3", conv2),
        conv3,
    ]


def forward(self: Any, x: Any) -> Any:
    pre = self.relu1(self.bn1(x))
    out = self.conv1(pre)
    out = self.conv2(self.relu2(self.bn2(out)))
    out = self.conv3(self.relu3(self.bn3(out)))
    return self.add_shortcut(out, x if self.downsample is None else pre)


BLOCK = BlockType(
    name="preact_bottleneck",
    class_name="PreActBottleneck",
    filters=3,
    example="[64, 64, 256]",
    grouped=(0, 1),
    final_relu=None,
    plan=plan,
    forward=forward,
    recipe=recipe_of(__doc__),
    projection_bn=False,
    tail=("bn", "relu"),
)
