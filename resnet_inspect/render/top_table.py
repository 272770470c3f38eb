"""`summary --top N`: the heaviest modules as a terminal table, JSON or Markdown."""

from __future__ import annotations

import json
from typing import Any

from resnet_inspect.render import numbers
from resnet_inspect.render.escape import markdown_text, plain
from resnet_inspect.render.safe_table import SafeTable
from resnet_inspect.render.table import input_text, titled_table
from resnet_inspect.report import Report

_HEADINGS = {
    "macs": "MACs",
    "params": "Params",
    "activations": "Activations",
    "latency": "Time",
}


def _value(item: dict[str, Any]) -> str:
    by, value = item["by"], item["value"]
    if by == "activations":
        return numbers.size_bytes(int(value))
    if by == "latency":
        return f"{value:.3f} ms"
    return numbers.count(int(value))


def _share(item: dict[str, Any]) -> str:
    return f"{100 * item['share']:.1f}%"


def _title(report: Report, items: list[dict[str, Any]], by: str) -> str:
    what = "top-level modules" if by == "latency" else "layers"
    return (
        f"{report.model} · the {len(items)} heaviest {what} by {_HEADINGS[by].lower()}"
        f" · {input_text(report)}"
    )


def render_top_table(report: Report, n: int = 10, by: str = "macs") -> SafeTable:
    items = report.top(n, by)
    table = titled_table(_title(report, items, by))
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Layer (module path)", justify="left")
    table.add_column("Type", justify="left")
    table.add_column(_HEADINGS[by], justify="right", no_wrap=True)
    table.add_column("Share", justify="right", no_wrap=True)
    table.add_column("Output shape", justify="right", no_wrap=True)
    for item in items:
        table.add_row(
            str(item["rank"]),
            plain(item["name"]),
            plain(item["type"] or ""),
            _value(item),
            _share(item),
            numbers.shape(item["output_shape"]) if item["output_shape"] else "-",
        )
    return table


def render_top_json(report: Report, n: int = 10, by: str = "macs") -> str:
    """{"model", "by", "top": [...]}: Report.top's items."""
    data = {"model": report.model, "by": by, "top": report.top(n, by)}
    return json.dumps(data, indent=2) + "\n"


def render_top_markdown(report: Report, n: int = 10, by: str = "macs") -> str:
    items = report.top(n, by)
    lines = [
        f"**{markdown_text(_title(report, items, by))}**",
        "",
        f"| # | Layer | Type | {_HEADINGS[by]} | Share | Output shape |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for item in items:
        shape = numbers.shape(item["output_shape"]) if item["output_shape"] else "-"
        lines.append(
            f"| {item['rank']} | {markdown_text(item['name'])} | "
            f"{markdown_text(item['type'] or '')} | {_value(item)} | {_share(item)} | {shape} |"
        )
    return "\n".join(lines) + "\n"


TOP_RENDERERS = {"json": render_top_json, "markdown": render_top_markdown}
