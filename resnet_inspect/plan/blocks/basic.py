"""The basic block (ResNet-18/34): 3×3 conv, BN, ReLU, 3×3 conv, BN; add shortcut; ReLU.

The stride sits on the first 3×3 (He et al. 2015, Fig. 2 left; torchvision's BasicBlock).
"""

from __future__ import annotations

from resnet_inspect.plan.blocks import Block, BlockInput, StandInTensor
from resnet_inspect.plan.layer_kinds import conv_layer, post_activation
from resnet_inspect.plan.tree import Layer


def basic_convs(block: BlockInput) -> list[Layer]:
    """The two 3×3 convolutions; the first carries the stride."""
    first, second = block.filters
    conv1 = conv_layer(
        "conv1", block.in_channels, first, 3, block.stride, block.in_size, 1, block.bias
    )
    return [conv1, conv_layer("conv2", first, second, 3, 1, conv1.out_size, 1, block.bias)]


class BasicBlock(Block):
    """3×3 conv, BN, ReLU, 3×3 conv, BN; add shortcut; ReLU."""

    name = "basic"
    filters = 2
    example = "[64, 64]"
    final_relu = "relu2"

    @classmethod
    def plan(cls, block: BlockInput) -> list[Layer]:
        return post_activation(basic_convs(block), block.norm)

    @classmethod
    def complexity(cls, block: BlockInput) -> tuple[int, int]:
        """Two 3×3 convs (c_in→f1, f1→f2) and two BNs; every weight used at each output
        position."""
        f1, f2 = block.filters
        weights = 9 * block.in_channels * f1 + 9 * f1 * f2
        params = weights + 2 * (f1 + f2) + (f1 + f2 if block.bias else 0)
        height = -(-block.in_size[0] // block.stride)
        width = -(-block.in_size[1] // block.stride)
        return params, weights * height * width

    def forward(self, x: StandInTensor) -> StandInTensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(self.add_shortcut(out, x))
