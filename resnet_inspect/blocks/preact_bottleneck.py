"""The pre-activation bottleneck (He et al. 2016, "Identity Mappings in Deep Residual Networks";
timm's PreActBottleneck): BN, ReLU, 1×1 reduce, BN, ReLU, 3×3 (grouped), BN, ReLU, 1×1 expand;
add shortcut; nothing after the add.

A projection shortcut is a 1×1 convolution without BN, fed by the pre-activated input; the
stride sits on the 3×3 (or the first 1×1 with `stride_on: 1x1`); the network ends with BN and
ReLU before pooling.
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.blocks import BlockInput, BlockType, bottleneck, recipe_of
from resnet_inspect.blocks.layers import LayerPlan, pre_activation


def plan(block: BlockInput) -> list[LayerPlan]:
    return pre_activation(bottleneck.convs(block))


def forward(self: Any, x: Any) -> Any:
    pre = self.relu1(self.bn1(x))
    out = self.conv1(pre)
    out = self.conv2(self.relu2(self.bn2(out)))
    out = self.conv3(self.relu3(self.bn3(out)))
    return self.add_shortcut(out, x if self.downsample is None else pre)


def complexity(block: BlockInput) -> tuple[int, int]:
    """The bottleneck's convolutions (bottleneck.complexity); its BNs move: one over the input
    (c_in) instead of one after the last 1×1 (f3)."""
    params, macs = bottleneck.complexity(block)
    return params - 2 * block.filters[-1] + 2 * block.in_channels, macs


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
    complexity=complexity,
    projection_bn=False,
    tail=("bn", "relu"),
)
