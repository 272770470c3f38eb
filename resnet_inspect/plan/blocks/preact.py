"""Pre-activation blocks (He et al. 2016, "Identity Mappings in Deep Residual Networks",
Fig. 4e; timm's PreActBasic and PreActBottleneck): BN and ReLU before each convolution,
nothing after the residual add. A projection shortcut is a 1×1 convolution without BN, fed by
the pre-activated input (the identity adds the input itself); the network ends with BN and
ReLU before pooling.
"""

from __future__ import annotations

from resnet_inspect.plan.blocks import Block, BlockInput, StandInTensor
from resnet_inspect.plan.blocks.basic import BasicBlock, basic_convs
from resnet_inspect.plan.blocks.bottleneck import Bottleneck, bottleneck_convs
from resnet_inspect.plan.layer_kinds import pre_activation
from resnet_inspect.plan.tree import Layer


class _PreActivation(Block):
    """What both pre-activation blocks share: no ReLU after the add, no BN on a projection,
    BN-ReLU after the last stage."""

    projection_norm = False
    tail = (("final_bn", "norm"), ("final_relu", "relu"))


class PreActBasicBlock(_PreActivation):
    """BN, ReLU, 3×3 conv, BN, ReLU, 3×3 conv; add shortcut; nothing after the add."""

    name = "preact_basic"
    filters = 2
    example = "[64, 64]"

    @classmethod
    def plan(cls, block: BlockInput) -> list[Layer]:
        return pre_activation(basic_convs(block), block.norm)

    @classmethod
    def complexity(cls, block: BlockInput) -> tuple[int, int]:
        """The basic block's convolutions (BasicBlock.complexity); its BNs move: one over the
        input (c_in) instead of one after the last conv (f2)."""
        params, macs = BasicBlock.complexity(block)
        return params - 2 * block.filters[-1] + 2 * block.in_channels, macs

    def forward(self, x: StandInTensor) -> StandInTensor:
        pre = self.relu1(self.bn1(x))
        out = self.conv1(pre)
        out = self.conv2(self.relu2(self.bn2(out)))
        return self.add_shortcut(out, x if self.downsample is None else pre)


class PreActBottleneck(_PreActivation):
    """BN, ReLU, 1×1 reduce, BN, ReLU, 3×3 (grouped), BN, ReLU, 1×1 expand; add shortcut;
    nothing after the add."""

    name = "preact_bottleneck"
    filters = 3
    example = "[64, 64, 256]"
    grouped = (0, 1)

    @classmethod
    def plan(cls, block: BlockInput) -> list[Layer]:
        return pre_activation(bottleneck_convs(block), block.norm)

    @classmethod
    def complexity(cls, block: BlockInput) -> tuple[int, int]:
        """The bottleneck's convolutions (Bottleneck.complexity); its BNs move: one over the
        input (c_in) instead of one after the last 1×1 (f3)."""
        params, macs = Bottleneck.complexity(block)
        return params - 2 * block.filters[-1] + 2 * block.in_channels, macs

    def forward(self, x: StandInTensor) -> StandInTensor:
        pre = self.relu1(self.bn1(x))
        out = self.conv1(pre)
        out = self.conv2(self.relu2(self.bn2(out)))
        out = self.conv3(self.relu3(self.bn3(out)))
        return self.add_shortcut(out, x if self.downsample is None else pre)
