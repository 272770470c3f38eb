"""Comparison -> rich tables (metrics with ratios, per stage, per module, spec keys), CSV,
Markdown, JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from resnet_inspect.render import numbers
from resnet_inspect.render.escape import markdown_text, plain, spreadsheet_text
from resnet_inspect.render.safe_table import Fitted, SafeTable, drop_to_fit, split_to_fit
from resnet_inspect.render.table import titled_table
from resnet_inspect.report import Comparison, Report

_Metric = tuple[str, Callable[[Report], Any], Callable[[Any], str]]


def _bytes(value: Any) -> str:
    return numbers.size_bytes(int(value)) if value is not None else "-"


def _count(value: Any) -> str:
    return numbers.count(int(value)) if value is not None else "-"


METRICS: list[_Metric] = [
    ("Input shape", lambda r: [r.batch_size, *r.input_shape], numbers.shape),
    ("Conv weights", lambda r: r.totals.conv_weights, numbers.count),
    ("Params (with BN)", lambda r: r.totals.params, numbers.count),
    ("MACs", lambda r: r.totals.macs, numbers.count),
    ("FLOPs (2 × MACs)", lambda r: r.totals.flops, numbers.count),
    ("full (fvcore's convention)", lambda r: r.flops.full_total if r.flops else None, _count),
    ("Depth (paper)", lambda r: r.totals.depth, str),
    ("Weighted layers", lambda r: r.totals.weighted_layers, str),
    (
        "Activations, inference peak",
        lambda r: r.memory.inference_peak_activation_bytes if r.memory else None,
        _bytes,
    ),
    (
        "Saved for backward",
        lambda r: r.memory.saved_activation_bytes if r.memory else None,
        _bytes,
    ),
    (
        "Training memory (SGD momentum)",
        lambda r: r.memory.training_bytes["sgd_momentum"] if r.memory else None,
        _bytes,
    ),
    (
        "Receptive field",
        lambda r: (r.totals.receptive_field, r.totals.local_receptive_field),
        lambda v: numbers.field(*v),
    ),
    ("Effective stride", lambda r: r.totals.effective_stride, lambda v: str(v) if v else "-"),
    ("Output shape", lambda r: _output_shape(r), numbers.shape),
]
LATENCY_METRICS: list[_Metric] = [
    ("Latency, median", lambda r: _latency(r, "median_ms"), lambda v: f"{v:,.3f} ms" if v else "-"),
    (
        "Throughput",
        lambda r: _latency(r, "images_per_s"),
        lambda v: f"{v:,.1f} img/s" if v else "-",
    ),
]


def _latency(report: Report, key: str) -> float | None:
    rows = report.latency.rows if report.latency else []
    return rows[0].get(key) if rows and not rows[0].get("error") else None


def metrics_for(comparison: Comparison) -> list[_Metric]:
    measured = any(item.latency for item in comparison.items)
    return METRICS + LATENCY_METRICS if measured else METRICS


def _output_shape(report: Report) -> list[int]:
    top = [row for row in report.layers if row.depth == 1]
    return top[-1].output_shape if top else []


def item_labels(comparison: Comparison) -> list[str]:
    """Each item's name; where names repeat, the file it came from, else its position."""
    names = [item.model for item in comparison.items]
    labels = []
    for index, (name, item) in enumerate(zip(names, comparison.items, strict=True)):
        if names.count(name) == 1:
            labels.append(name)
        elif item.source and item.source != name:
            labels.append(f"{name} ({item.source})")
        else:
            labels.append(f"{name} (#{index + 1})")
    return labels


def ratio_of(value: Any, base: Any) -> float | None:
    if isinstance(value, (int, float)) and isinstance(base, (int, float)) and base:
        return value / base
    return None


def _ratio_text(ratio: float | None) -> Text:
    if ratio is None:
        return Text("")
    style = "dim" if abs(ratio - 1) < 0.005 else ("yellow" if ratio > 1 else "green")
    return Text(f"{ratio:.3g}×" if ratio < 100 else f"{ratio:,.0f}×", style=style)


def _overview(comparison: Comparison, width: int | None) -> list[SafeTable]:
    """One column per item; each value of an item other than the baseline carries its ratio to
    the baseline's, so the table stays narrow however many items there are (split into tables
    of as many items as fit, each with the metrics' names)."""
    labels = item_labels(comparison)
    base = comparison.items[comparison.baseline]
    metrics = [
        (name, [get(item) for item in comparison.items], show)
        for name, get, show in metrics_for(comparison)
    ]

    def build(indices: list[int]) -> SafeTable:
        table = titled_table(
            f"Compared at batch {base.batch_size} · {base.dtype} · ratios against "
            f"{labels[comparison.baseline]}"
        )
        table.add_column("", min_width=14)
        for index in indices:  # the name, and what it is where the name could mislead
            kind = numbers.kind_of(comparison.items[index].spec)
            header = plain(labels[index])
            if kind:
                header.append(f"\n{kind}", style="not bold dim")
            table.add_column(header, justify="right")
        for name, values, show in metrics:
            cells: list[Text] = []
            for i in indices:
                cell = plain(show(values[i]))
                if i != comparison.baseline and name not in ("Output shape", "Input shape"):
                    ratio = _ratio_text(ratio_of(values[i], values[comparison.baseline]))
                    if ratio.plain:
                        cell.append(" ")
                        cell.append_text(ratio)
                cells.append(cell)
            table.add_row(name, *cells)
        return table

    return split_to_fit(build, len(labels), width)


def _stages(comparison: Comparison, width: int | None) -> list[SafeTable]:
    labels = item_labels(comparison)
    names = list(dict.fromkeys(s.name for item in comparison.items for s in item.stages))

    def build(indices: list[int]) -> SafeTable:
        table = titled_table(
            "Per stage: params, MACs, MACs per weighted layer (the paper's time complexity per "
            "layer)"
        )
        table.add_column("Stage")
        for index in indices:
            table.add_column(f"{labels[index]} params", justify="right")
            table.add_column(f"{labels[index]} MACs", justify="right")
            table.add_column("MACs/layer", justify="right")
        for name in names:
            cells = []
            for index in indices:
                stage = next((s for s in comparison.items[index].stages if s.name == name), None)
                cells += (
                    [
                        numbers.count(stage.params),
                        numbers.count(stage.macs),
                        numbers.count(stage.macs_per_layer),
                    ]
                    if stage
                    else ["", "", ""]
                )
            table.add_row(name, *cells)
        return table

    return split_to_fit(build, len(labels), width)


# The modules table's columns: (key, header); the narrowest terminals lose them in DROP order.
_MODULE_COLUMNS = (
    ("module", "Module"),
    ("type", "Type"),
    ("base_params", "Params (base)"),
    ("params", "Params"),
    ("delta_params", "Δ params"),
    ("base_macs", "MACs (base)"),
    ("macs", "MACs"),
    ("delta_macs", "Δ MACs"),
)
_MODULE_DROP = ("type", "base_macs", "base_params", "macs", "params")


def _modules(
    comparison: Comparison, index: int, labels: list[str], width: int | None
) -> list[RenderableType]:
    rows = comparison.module_differences[index]
    base = labels[comparison.baseline]

    def build(keys: tuple[str, ...]) -> SafeTable:
        table = titled_table(f"Modules that differ: {labels[index]} vs {base} (the base)")
        for key, header in _MODULE_COLUMNS:
            if key in keys:
                table.add_column(
                    header,
                    justify="left" if key in ("module", "type") else "right",
                    no_wrap=key != "module",
                )
        for row in rows:
            cells = {
                "module": row["module"],
                "type": row["type"],
                "base_params": numbers.count(row["baseline_params"]),
                "params": numbers.count(row["params"]),
                "delta_params": f"{row['params'] - row['baseline_params']:+,}",
                "base_macs": numbers.count(row["baseline_macs"]),
                "macs": numbers.count(row["macs"]),
                "delta_macs": f"{row['macs'] - row['baseline_macs']:+,}",
            }
            table.add_row(*(cells[key] for key in keys))
        table.add_section()
        totals = {
            "module": Text(f"total ({len(rows)} modules)", style="bold"),
            "delta_params": Text(
                f"{sum(r['params'] - r['baseline_params'] for r in rows):+,}", style="bold"
            ),
            "delta_macs": Text(
                f"{sum(r['macs'] - r['baseline_macs'] for r in rows):+,}", style="bold"
            ),
        }
        table.add_row(*(totals.get(key, "") for key in keys))
        return table

    table, dropped = drop_to_fit(
        build, tuple(key for key, _ in _MODULE_COLUMNS), _MODULE_DROP, width
    )
    if not dropped:
        return [table]
    names = ", ".join(header for key, header in _MODULE_COLUMNS if key in dropped)
    return [table, Text(f"Hidden to fit {width} columns: {names}.", style="dim")]


def _spec_diff(comparison: Comparison, index: int, labels: list[str]) -> SafeTable:
    base = labels[comparison.baseline]
    table = titled_table(f"Spec differences: {labels[index]} vs {base}")
    table.add_column("Key")
    table.add_column(base)
    table.add_column(labels[index])
    for row in comparison.spec_differences[index]:
        table.add_row(row["key"], json.dumps(row["baseline"]), json.dumps(row["value"]))
    if not comparison.spec_differences[index]:
        table.add_row("(none)", "", "")
    return table


MODULE_ROWS_SHOWN_BY_DEFAULT = 12


def render_comparison(
    comparison: Comparison, by: str = "overview", diff: bool = False, width: int | None = None
) -> RenderableType:
    """The comparison as a rich renderable: the side-by-side table with ratios to the
    baseline, then, per item, the modules that differ. `by`: "overview", "stage" (adds
    params, MACs and MACs per layer for each stage) or "module" (every differing module);
    `diff` adds the spec keys that differ. Tables fit `width` (without it, the width of the
    console they are printed on): items split over several tables, columns of the modules
    table dropped, cells wrapped between words; a number or a name is never split."""
    if width is None:
        return Fitted(lambda fitted: render_comparison(comparison, by, diff, fitted))
    labels = item_labels(comparison)
    parts: list[RenderableType] = []
    for table in _overview(comparison, width):
        parts += [Text(""), table] if parts else [table]
    if by == "stage":
        for table in _stages(comparison, width):
            parts += [Text(""), table]
    for index in range(len(labels)):
        if index == comparison.baseline:
            continue
        rows = comparison.module_differences[index]
        if not rows:
            parts += [
                Text(""),
                plain(
                    f"No module of {labels[index]} differs from {labels[comparison.baseline]} "
                    "in parameters or MACs.",
                    style="dim",
                ),
            ]
        elif by == "module" or len(rows) <= MODULE_ROWS_SHOWN_BY_DEFAULT:
            parts += [Text(""), *_modules(comparison, index, labels, width)]
        else:
            parts += [
                Text(""),
                plain(
                    f"{len(rows)} modules differ between {labels[index]} and "
                    f"{labels[comparison.baseline]}; --by module lists them.",
                    style="dim",
                ),
            ]
        if diff:
            parts += [Text(""), _spec_diff(comparison, index, labels)]
    return Group(*parts)


def _plain(value: Any) -> Any:
    return "x".join(str(v) for v in value) if isinstance(value, list) else value


def render_comparison_csv(comparison: Comparison) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["metric", *[spreadsheet_text(label) for label in item_labels(comparison)]])
    for name, get, _ in metrics_for(comparison):
        writer.writerow([name, *[_plain(get(item)) for item in comparison.items]])
    return out.getvalue()


def render_comparison_markdown(comparison: Comparison) -> str:
    labels = [markdown_text(label) for label in item_labels(comparison)]
    base = comparison.baseline
    others = [i for i in range(len(labels)) if i != base]
    header = ["", *labels, *[f"{labels[i]} / {labels[base]}" for i in others]]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for name, get, show in metrics_for(comparison):
        values = [get(item) for item in comparison.items]
        ratios = [ratio_of(values[i], values[base]) for i in others]
        cells = [f"{r:.3g}×" if r is not None and name != "Output shape" else "" for r in ratios]
        shown = [show(v) for v in values]  # our own numbers, as written
        lines.append("| " + " | ".join([name, *shown, *cells]) + " |")
    return "\n".join(lines) + "\n"


def render_comparison_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2) + "\n"


COMPARISON_RENDERERS: dict[str, Callable[[Comparison], str]] = {
    "json": render_comparison_json,
    "csv": render_comparison_csv,
    "markdown": render_comparison_markdown,
}
