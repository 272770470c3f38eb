"""Complexity from the spec alone: parameters and MACs per stage by the shape arithmetic of the
plan, to compare with what the built model measures (`summary --check`). No torch."""

from __future__ import annotations

from resnet_inspect.report import CheckRow, CheckSection, StageRow
from resnet_inspect.spec import LayerPlan, NetworkPlan


def _totals(layers: list[LayerPlan] | tuple[LayerPlan, ...]) -> tuple[int, int]:
    return sum(layer.params for layer in layers), sum(layer.macs for layer in layers)


def analytic_stages(plan: NetworkPlan) -> dict[str, tuple[int, int]]:
    """Stage name ("stem", "layer1", ..., "head") -> (params, MACs per image)."""
    result = {"stem": _totals(plan.stem)} if plan.stem else {}
    for stage in sorted({block.stage for block in plan.blocks}):
        layers = [layer for block in plan.stage_blocks(stage) for layer in block.layers]
        result[f"layer{stage + 1}"] = _totals(layers)
    if plan.head:
        result["head"] = _totals(plan.head)
    return result


def check_against_plan(plan: NetworkPlan, stages: list[StageRow], batch_size: int) -> CheckSection:
    """Per-stage analytic vs measured params and MACs; `ok` is False on any difference."""
    expected = analytic_stages(plan)
    measured = {stage.name: (stage.params, stage.macs) for stage in stages}
    rows = []
    for name in dict.fromkeys([*expected, *measured]):
        params, macs = expected.get(name, (0, 0))
        got_params, got_macs = measured.get(name, (0, 0))
        rows.append(
            CheckRow(
                name=name,
                analytic_params=params,
                measured_params=got_params,
                analytic_macs=macs * batch_size,
                measured_macs=got_macs,
                ok=params == got_params and macs * batch_size == got_macs,
            )
        )
    return CheckSection(ok=all(row.ok for row in rows), stages=rows)
