"""Comparison: two or more specs or models side by side, and what differs from a baseline.

Module by module (leaf parameters and MACs) and spec key by key (after `extends:` is resolved).
Each spec is summarised by pipeline.summarize, each nn.Module analysed by pipeline.analyze;
this module only lines the reports up.
"""

from __future__ import annotations

from typing import Any

from resnet_inspect.errors import UsageError
from resnet_inspect.options import Options
from resnet_inspect.pipeline import analyze, summarize
from resnet_inspect.report import Comparison, Report


def _report(target: Any, options: Options) -> tuple[Report, str]:
    """An item's Report and the name it answers to as a baseline."""
    if isinstance(target, tuple):  # (name, nn.Module): --model's import path and its model
        name, model = target
        return analyze(model, options, name), name
    if isinstance(target, str) or not hasattr(target, "forward"):
        report = summarize(target, options)
        return report, target if isinstance(target, str) else report.model
    report = analyze(target, options)
    return report, report.model


def compare(
    targets: list[Any], options: Options | None = None, baseline: str | None = None
) -> Comparison:
    """Two or more specs, spec files or presets (networks or single blocks) or nn.Modules (or
    (name, nn.Module) pairs) side by side: each item's Report, made as `options` say (the same
    input, batch and dtype for every item; a module's input defaults to 3x224x224; `latency`
    measures each; `graph` keeps each item's data-flow graph for drawing them side by side),
    and what differs from the baseline (the first, or the item whose name or target is
    `baseline`) module by module and spec key by key."""
    if len(targets) < 2:
        raise UsageError("compare needs two or more specs, presets or models")
    made = [_report(target, options or Options()) for target in targets]
    items = [report for report, _ in made]
    index = 0
    if baseline is not None:
        names = [item.model for item in items]
        matches = [
            i
            for i, (item, (_, target)) in enumerate(zip(items, made, strict=True))
            if baseline in (item.model, target)
        ]
        if not matches:
            raise UsageError(
                f"--baseline {baseline!r} is not one of the compared items: {', '.join(names)}"
            )
        index = matches[0]
    base = items[index]
    return Comparison(
        items=items,
        baseline=index,
        module_differences=[_module_differences(base, item) for item in items],
        spec_differences=[_spec_differences(base.spec or {}, item.spec or {}) for item in items],
    )


def _module_differences(base: Report, other: Report) -> list[dict[str, object]]:
    """Leaf modules whose params or MACs differ (absent modules count as 0), in model order."""
    theirs = {row.name: row for row in other.layers if row.is_leaf}
    ours = {row.name: row for row in base.layers if row.is_leaf}
    rows = []
    for name in dict.fromkeys([*ours, *theirs]):
        a, b = ours.get(name), theirs.get(name)
        values = (
            a.params if a else 0,
            b.params if b else 0,
            a.macs if a else 0,
            b.macs if b else 0,
        )
        if values[0] != values[1] or values[2] != values[3]:
            rows.append(
                {
                    "module": name,
                    "type": (b or a).type,  # type: ignore[union-attr]
                    "baseline_params": values[0],
                    "params": values[1],
                    "baseline_macs": values[2],
                    "macs": values[3],
                }
            )
    return rows


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            if key not in ("name", "description", "source"):
                out.update(_flatten(item, f"{prefix}{key}."))
        return out
    if isinstance(value, list) and value and isinstance(value[0], dict):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}{i}."))
        return out
    return {prefix.rstrip("."): value}


def _spec_differences(base: dict[str, object], other: dict[str, object]) -> list[dict[str, object]]:
    """Spec keys (after extends: is resolved) whose values differ; missing keys are null."""
    ours, theirs = _flatten(base), _flatten(other)
    return [
        {"key": key, "baseline": ours.get(key), "value": theirs.get(key)}
        for key in dict.fromkeys([*ours, *theirs])
        if ours.get(key) != theirs.get(key)
    ]


__all__ = ["compare"]
