"""Squeeze-and-excitation (Hu et al. 2018, "Squeeze-and-Excitation Networks").

`se: {reduction: 16}`. The reduced width is C/r rounded to a multiple of `divisor` (8 by
default, as timm's SEModule rounds; `divisor: 1` keeps C/r exactly as the paper writes it);
both 1×1 convolutions have a bias.
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.plan.blocks import BlockOption, SettingProblem, StandInTensor
from resnet_inspect.plan.layer_kinds import conv_layer, make, relu_layer
from resnet_inspect.plan.tree import Layer

_KEYS = ("reduction", "divisor")


def reduced_width(channels: int, reduction: int, divisor: int) -> int:
    """C/r rounded to the nearest multiple of `divisor` (at least `divisor`), as timm's
    make_divisible(channels / reduction, divisor, round_limit=0) does."""
    value = channels / reduction
    return max(divisor, int(value + divisor / 2) // divisor * divisor)


class SqueezeExcitation(BlockOption):
    """Global average pool, 1×1 conv to C/r channels, ReLU, 1×1 conv back to C, sigmoid; the
    block's main-path output is multiplied by that per-channel gate before the shortcut is
    added."""

    key = "se"
    example = "se: {reduction: 16}"

    @classmethod
    def parse(cls, value: Any) -> tuple[dict[str, Any], list[SettingProblem]]:
        if value is True or value == {}:
            value = {}
        if not isinstance(value, dict):
            return {}, [((), "se takes a mapping", "e.g. se: {reduction: 16}")]
        problems: list[SettingProblem] = []
        for key in value:
            if key not in _KEYS:
                problems.append(((str(key),), "unknown key in se", f"allowed: {', '.join(_KEYS)}"))
        settings = {"reduction": value.get("reduction", 16), "divisor": value.get("divisor", 8)}
        for key, number in settings.items():
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 4096:
                problems.append(((key,), f"{key} must be a whole number from 1 to 4,096", ""))
        return settings, problems

    @classmethod
    def plan(cls, settings: dict[str, Any], after: Layer) -> list[Layer]:
        channels = after.out_channels
        reduced = reduced_width(channels, settings["reduction"], settings["divisor"])
        pool = make("adaptive_avgpool", "pool", channels, after.out_size, out_size=(1, 1))
        fc1 = conv_layer("fc1", channels, reduced, 1, 1, (1, 1), 1, True)
        fc2 = conv_layer("fc2", reduced, channels, 1, 1, (1, 1), 1, True)
        gate = make("sigmoid", "gate", channels, (1, 1))
        return [pool, fc1, relu_layer("relu", fc1), fc2, gate]

    @classmethod
    def complexity(cls, settings: dict[str, Any], channels: int) -> tuple[int, int]:
        """Two 1×1 convs with biases on the pooled 1×1 map: C→r and r→C."""
        reduced = reduced_width(channels, settings["reduction"], settings["divisor"])
        return 2 * channels * reduced + reduced + channels, 2 * channels * reduced

    def forward(self, x: StandInTensor) -> StandInTensor:
        return x * self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))
