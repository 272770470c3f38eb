"""The bottleneck (ResNet-50/101/152, ResNeXt, Wide ResNet).

The stride sits on the first 1×1 ("v1": the paper, Caffe, Keras) or on the 3×3 ("v1.5":
torchvision, which costs more MACs and is more accurate, as torchvision's resnet.py notes).
"""

from __future__ import annotations

from resnet_inspect.plan.blocks import Block, BlockInput, StandInTensor
from resnet_inspect.plan.layer_kinds import conv_layer, post_activation
from resnet_inspect.plan.tree import Layer


def bottleneck_convs(block: BlockInput) -> list[Layer]:
    """1×1 reduce, 3×3 (grouped), 1×1 expand; the stride on the first 1×1 or on the 3×3."""
    reduce, inner, expand = block.filters
    s1, s3 = (block.stride, 1) if block.stride_on == "1x1" else (1, block.stride)
    conv1 = conv_layer("conv1", block.in_channels, reduce, 1, s1, block.in_size, 1, block.bias)
    conv2 = conv_layer("conv2", reduce, inner, 3, s3, conv1.out_size, block.groups, block.bias)
    conv3 = conv_layer("conv3", inner, expand, 1, 1, conv2.out_size, 1, block.bias)
    return [conv1, conv2, conv3]


class Bottleneck(Block):
    """1×1 reduce, BN, ReLU, 3×3 (grouped), BN, ReLU, 1×1 expand, BN; add shortcut; ReLU."""

    name = "bottleneck"
    filters = 3
    example = "[64, 64, 256]"
    grouped = (0, 1)  # the 3x3's input (the 1x1 reduce's output) and output widths
    final_relu = "relu3"

    @classmethod
    def plan(cls, block: BlockInput) -> list[Layer]:
        return post_activation(bottleneck_convs(block), block.norm)

    @classmethod
    def complexity(cls, block: BlockInput) -> tuple[int, int]:
        """1×1 (c_in→f1), grouped 3×3 (f1→f2), 1×1 (f2→f3), three BNs. With the stride on the
        3×3 the first 1×1 runs at the input's size, the rest at the output's; on the 1×1 all
        at the output's."""
        f1, f2, f3 = block.filters
        reduce, rest = block.in_channels * f1, 9 * f1 * f2 // block.groups + f2 * f3
        params = reduce + rest + 2 * (f1 + f2 + f3) + (f1 + f2 + f3 if block.bias else 0)
        height = -(-block.in_size[0] // block.stride)
        width = -(-block.in_size[1] // block.stride)
        first = block.in_size[0] * block.in_size[1] if block.stride_on == "3x3" else height * width
        return params, reduce * first + rest * height * width

    def forward(self, x: StandInTensor) -> StandInTensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(self.add_shortcut(out, x))
