"""Report -> rich renderables: the per-layer table with stage subtotals, and the totals panel."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from resnet_inspect.render import numbers
from resnet_inspect.report import Report


def _layer_table(report: Report, depth: str) -> Table:
    table = Table(
        title=f"{report.model} · input {numbers.shape([report.batch_size, *report.input_shape])}"
        f" · depth {depth}",
        title_justify="left",
        header_style="bold",
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("Layer (module path)", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Kernel/stride", no_wrap=True)
    table.add_column("Output shape", justify="right", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    rows = report.layers_at(depth)
    stages = {stage.name: stage for stage in report.stages if stage.kind == "stage"}
    group_of = _groups(report)
    current: str | None = None
    for row in rows:
        group = group_of.get(row.stage, row.stage)
        if group != current:
            if current in stages and depth != "stage":
                _subtotal(table, current, stages)
            if current is not None:
                table.add_section()
            current = group
        indent = "  " * (row.depth - 1) if depth != "stage" else ""
        table.add_row(
            indent + row.name,
            row.type,
            numbers.kernel(row.kernel, row.stride, row.groups),
            numbers.shape(row.output_shape),
            numbers.count(row.params) if row.params else "-",
            numbers.count(row.macs) if row.macs else "-",
            style="bold" if row.depth == 1 and not row.is_leaf and depth != "stage" else None,
        )
    if current in stages and depth != "stage":
        _subtotal(table, current, stages)
    return table


def _groups(report: Report) -> dict[str, str]:
    """Top-level module name -> its section: 'stem', the stage's name, or 'head'."""
    names = [row.name for row in report.layers if row.depth == 1]
    containers = [i for i, name in enumerate(names) if name in {s.name for s in report.stages}]
    if not containers:
        return {}
    first, last = containers[0], containers[-1]
    return {
        name: "stem" if i < first else "head" if i > last else name for i, name in enumerate(names)
    }


def _subtotal(table: Table, name: str | None, stages: dict) -> None:  # type: ignore[type-arg]
    stage = stages[name]
    table.add_row(
        Text(f"{name} subtotal ({stage.blocks} blocks)", style="italic cyan"),
        "",
        "",
        numbers.shape(stage.output_shape),
        Text(numbers.count(stage.params), style="cyan"),
        Text(numbers.count(stage.macs), style="cyan"),
    )


def _totals_panel(report: Report) -> Panel:
    totals = report.totals
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right")
    grid.add_column(style="dim")
    grid.add_row("Total params", numbers.count(totals.params), numbers.si(totals.params))
    grid.add_row("Trainable params", numbers.count(totals.trainable_params), "")
    grid.add_row("Non-trainable params", numbers.count(totals.non_trainable_params), "")
    grid.add_row("Buffers", numbers.count(totals.buffers), "BN running mean + variance")
    grid.add_row("Keras-style total", numbers.count(totals.keras_total_params), "params + buffers")
    grid.add_row(
        "Parameter size",
        numbers.size_bytes(totals.param_bytes),
        f"{report.dtype}; buffers {numbers.size_bytes(totals.buffer_bytes)}",
    )
    grid.add_row("MACs", numbers.count(totals.macs), f"{numbers.si(totals.macs)} multiply-adds")
    grid.add_row("FLOPs", numbers.count(totals.flops), f"{numbers.si(totals.flops)} = 2 × MACs")
    grid.add_row(
        "Depth",
        str(totals.depth),
        f"weighted layers on the main path, as the paper counts; {totals.weighted_layers} with "
        "projection shortcuts",
    )
    note = Text(
        f"MACs: multiply-adds of conv and linear weights for batch {report.batch_size} — the "
        "ResNet paper's “FLOPs” and torchvision's _ops. torchinfo's Mult-Adds also count BN "
        "parameters and biases; fvcore's “flops” are multiply-adds too.",
        style="dim",
    )
    return Panel(Group(grid, Text(""), note), title="Totals", title_align="left", width=104)


def render_table(report: Report, depth: str = "block") -> RenderableType:
    """The summary as a rich renderable (the CLI prints it)."""
    return Group(_layer_table(report, depth), Text(""), _totals_panel(report))
