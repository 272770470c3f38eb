"""The basic block (ResNet-18/34): 3×3 conv, BN, ReLU, 3×3 conv, BN; add shortcut; ReLU.

The stride sits on the first 3×3 (He et al. 2015, Fig. 2 left; torchvision's BasicBlock).
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.blocks import BlockInput, BlockType, recipe_of
from resnet_inspect.blocks.layers import LayerPlan, conv_layer, post_activation


def convs(block: BlockInput) -> list[LayerPlan]:
    """The two 3×3 convolutions; the first carries the stride."""
    first, second = block.filters
    conv1 = conv_layer(
        "conv1", block.in_channels, first, 3, block.stride, block.in_size, 1, block.bias
    )
    return [conv1, conv_layer("conv2", first, second, 3, 1, conv1.out_size, 1, block.bias)]


def plan(block: BlockInput) -> list[LayerPlan]:
    return post_activation(convs(block))


def forward(self: Any, x: Any) -> Any:
    out = self.relu1(self.bn1(self.conv1(x)))
    out = self.bn2(self.conv2(out))
    return self.relu2(self.add_shortcut(out, x))


def complexity(block: BlockInput) -> tuple[int, int]:
    """Two 3×3 convs (c_in→f1, f1→f2) and two BNs; every weight used at each output position."""
    f1, f2 = block.filters
    weights = 9 * block.in_channels * f1 + 9 * f1 * f2
    params = weights + 2 * (f1 + f2) + (f1 + f2 if block.bias else 0)
    height, width = -(-block.in_size[0] // block.stride), -(-block.in_size[1] // block.stride)
    return params, weights * height * width


BLOCK = BlockType(
    name="basic",
    class_name="BasicBlock",
    filters=2,
    example="[64, 64]",
    grouped=(),
    final_relu="relu2",
    plan=plan,
    forward=forward,
    recipe=recipe_of(__doc__),
    complexity=complexity,
)
