"""The forward code that the built model and the plan's pass share (no torch): a residual
block's options and shortcut, and the network's order of stem, stages and head.

The block types' own forwards (basic.py, bottleneck.py, …) are shared the same way: build/ gives
them to nn.Modules, and analyzers/plan_pass.py runs them over stand-ins of the planned layers,
so the order of operations is written once, here and in each block's module.
"""

from __future__ import annotations

from typing import Any


def add_shortcut(block: Any, out: Any, x: Any) -> Any:
    """The block options (an SE gate…) on the main path's output, then + shortcut(x): in
    place, as torchvision does (`out += identity`). A plain block (`shortcut: none`) adds
    nothing."""
    for name in block.options:
        out = getattr(block, name)(out)
    if not block.residual:
        return out
    out += x if block.downsample is None else block.downsample(x)
    return out


def forward_network(network: Any, x: Any) -> Any:
    """Stem layers, stages, then the head (a pre-activation net's final BN-ReLU, the global
    pool, the classifier after flattening)."""
    for name in network.stem_names:
        x = getattr(network, name)(x)
    for name in network.stage_names:
        x = getattr(network, name)(x)
    for name in network.head_names:
        if name in network.flatten_before:
            x = x.flatten(1)
        x = getattr(network, name)(x)
    return x
