"""The pre-activation basic block (He et al. 2016, "Identity Mappings in Deep Residual Networks",
Fig. 4e): BN, ReLU, 3×3 conv, BN, ReLU, 3×3 conv; add shortcut; nothing after the add.

A projection shortcut is a 1×1 convolution without BN, fed by the pre-activated input (the
identity adds the input itself); the network ends with BN and ReLU before pooling.
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.blocks import BlockInput, BlockType, basic, recipe_of
from resnet_inspect.blocks.layers import LayerPlan, pre_activation


def plan(block: BlockInput) -> list[LayerPlan]:
    return pre_activation(basic.convs(block))


def forward(self: Any, x: Any) -> Any:
    pre = self.relu1(self.bn1(x))
    out = self.conv1(pre)
    out = self.conv2(self.relu2(self.bn2(out)))
    return self.add_shortcut(out, x if self.downsample is None else pre)


def complexity(block: BlockInput) -> tuple[int, int]:
    """The basic block's convolutions (basic.complexity); its BNs move: one over the input
    (c_in) instead of one after the last conv (f2)."""
    params, macs = basic.complexity(block)
    return params - 2 * block.filters[-1] + 2 * block.in_channels, macs


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
    complexity=complexity,
    projection_bn=False,
    tail=("bn", "relu"),
)
