"""The plain baseline's two design rules (He et al. 2015, Sec. 3.3, after VGG), as warnings:

1. for the same output feature-map size, the layers have the same number of filters;
2. if the feature-map size is halved, the number of filters is doubled, so as to preserve the
   time complexity per layer.

They are checked on the 3x3 convolutions of the blocks (the layers the rules were written
for; a bottleneck's 1x1 convolutions change the width by design). No torch.
"""

from __future__ import annotations

from resnet_inspect.errors import Problem
from resnet_inspect.plan.network import NetworkPlan
from resnet_inspect.plan.tree import Layer, walk
from resnet_inspect.spec.parser import Spec
from resnet_inspect.spec.source import Path, SourceMap


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def check_rules(spec: Spec, plan: NetworkPlan, source: SourceMap) -> list[Problem]:
    """Warnings for the 3x3 convolutions of the blocks that break a rule, located at the
    filters that set their width."""
    overridden = {
        (s, b)
        for s, stage in enumerate(spec.stages)
        for b, entry in enumerate(stage.overrides)
        if entry.filters is not None
    }
    convs = []
    for block in plan.blocks:
        facts = block.block
        assert facts is not None
        for name, layer, _ in walk(block, facts.path):
            if isinstance(layer, Layer) and layer.kind == "conv" and layer.kernel == (3, 3):
                path: Path = ("stages", facts.stage, "filters")
                if (facts.stage, facts.index) in overridden:
                    path = ("stages", facts.stage, "blocks", facts.index, "filters")
                convs.append((name, layer, path))
    warnings: list[Problem] = []
    by_size: dict[tuple[int, int], tuple[str, int]] = {}
    for name, layer, path in convs:
        first = by_size.setdefault(layer.out_size, (name, layer.out_channels))
        if layer.out_channels != first[1]:
            warnings.append(
                source.problem(
                    path,
                    f"{name}: {layer.out_channels} filters at {_size(layer.out_size)} where "
                    f"{first[0]} has {first[1]} (rule 1: same output size, same number of "
                    "filters)",
                    severity="warning",
                )
            )
    for (name, layer, path), (_, before, _) in zip(convs[1:], convs, strict=False):
        halved = before.out_size[0] in (2 * layer.out_size[0], 2 * layer.out_size[0] - 1)
        if halved and layer.out_channels != 2 * before.out_channels:
            warnings.append(
                source.problem(
                    path,
                    f"{name}: the feature map halves to {_size(layer.out_size)} but "
                    f"the filters go from {before.out_channels} to {layer.out_channels}, not "
                    f"{2 * before.out_channels} (rule 2: size halved, filters doubled, so the time "
                    "complexity per layer is preserved)",
                    severity="warning",
                )
            )
    return sorted(warnings, key=lambda w: (w.line or 0, w.column or 0))
