"""Experiment results -> text: `signal`'s tables, JSON and CSV, `train`'s summary table."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text

from resnet_inspect.render.escape import spreadsheet_text
from resnet_inspect.render.table import titled_table
from resnet_inspect.report import SignalReport, TrainingRun


def figure(value: float | None) -> str:
    """3 significant figures, thousands separated; "-" for none (not finite)."""
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _span(values: list[float | None]) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    return f"{figure(known[0])} → {figure(known[-1])}"


def signal_overview(reports: Sequence[SignalReport]) -> RenderableType:
    """One row per network: how the signal grows through the blocks, the residual branch, and
    the gradient's first/last ratio."""
    first = reports[0]
    shape = "×".join(str(d) for d in first.input.get("shape", []))
    table = titled_table(
        f"Signal and gradient · batch {shape} · {first.mode} mode · seed {first.input.get('seed')}"
    )
    table.add_column("Network")
    table.add_column("Blocks", justify="right")
    table.add_column("Block output variance, first → last", justify="right")
    table.add_column("Residual variance, first → last", justify="right")
    table.add_column("Gradient norm, first → last layer", justify="right")
    table.add_column("First / last", justify="right")
    table.add_column("Loss", justify="right")
    for report in reports:
        main = [layer for layer in report.layers if layer.name in report.ratio_layers]
        table.add_row(
            report.model,
            str(len(report.blocks)),
            _span([block.avg_channel_variance for block in report.blocks]),
            _span([block.residual_variance for block in report.blocks]),
            _span([layer.grad_norm for layer in main]),
            Text(figure(report.grad_norm_ratio), style="bold"),
            figure(report.loss),
        )
    note = Text(
        "First / last: the gradient norm of the first convolution over the last one's (main "
        "path). A plain network's gradients grow towards the input with depth; a residual "
        "network's stay within an order of magnitude. --details lists every block and layer.",
        style="dim",
    )
    return Group(table, note)


def signal_details(report: SignalReport) -> RenderableType:
    blocks = titled_table(f"{report.model}: blocks (Signal Propagation Plot)")
    for column, justify in (
        ("Block", "left"),
        ("Type", "left"),
        ("Avg channel squared mean", "right"),
        ("Avg channel variance", "right"),
        ("Residual variance", "right"),
    ):
        blocks.add_column(column, justify=justify)
    for block in report.blocks:
        blocks.add_row(
            block.name,
            block.type,
            figure(block.avg_sq_channel_mean),
            figure(block.avg_channel_variance),
            figure(block.residual_variance),
        )
    layers = titled_table(f"{report.model}: weighted layers")
    for column, justify in (
        ("Layer", "left"),
        ("Type", "left"),
        ("Response of", "left"),
        ("Response std", "right"),
        ("Gradient norm", "right"),
    ):
        layers.add_column(column, justify=justify)
    for layer in report.layers:
        style = "" if layer.main_path else "dim"
        layers.add_row(
            Text(layer.name, style=style),
            layer.type,
            layer.response_of if layer.response_of != layer.name else "itself",
            figure(layer.response_std),
            figure(layer.grad_norm),
        )
    return Group(blocks, Text(""), layers, Text("Dim: off the main path.", style="dim"))


def render_signal_table(reports: Sequence[SignalReport], details: bool = False) -> RenderableType:
    parts: list[RenderableType] = [signal_overview(reports)]
    if details:
        for report in reports:
            parts += [Text(""), signal_details(report)]
    return Group(*parts)


def signal_json(reports: Sequence[SignalReport]) -> str:
    """A list with one object per network (SignalReport.to_dict)."""
    return json.dumps([report.to_dict() for report in reports], indent=2, allow_nan=False) + "\n"


SIGNAL_CSV_COLUMNS = (
    "network",
    "kind",
    "index",
    "name",
    "type",
    "main_path",
    "avg_sq_channel_mean",
    "avg_channel_variance",
    "residual_variance",
    "response_std",
    "grad_norm",
)


def signal_csv(reports: Sequence[SignalReport]) -> str:
    """One row per block and per weighted layer of every network (kind: block or layer)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SIGNAL_CSV_COLUMNS)

    def number(value: float | None) -> str:
        return "" if value is None else repr(value)

    for report in reports:
        name = spreadsheet_text(report.model)
        for index, block in enumerate(report.blocks, 1):
            writer.writerow(
                [
                    name,
                    "block",
                    index,
                    spreadsheet_text(block.name),
                    spreadsheet_text(block.type),
                    "",
                    number(block.avg_sq_channel_mean),
                    number(block.avg_channel_variance),
                    number(block.residual_variance),
                    "",
                    "",
                ]
            )
        for index, layer in enumerate(report.layers, 1):
            writer.writerow(
                [
                    name,
                    "layer",
                    index,
                    spreadsheet_text(layer.name),
                    spreadsheet_text(layer.type),
                    str(layer.main_path).lower(),
                    "",
                    "",
                    "",
                    number(layer.response_std),
                    number(layer.grad_norm),
                ]
            )
    return out.getvalue()


def render_training_table(run: TrainingRun) -> RenderableType:
    """One row per network: its final errors, best test error, speed, memory and status."""
    recipe = run.recipe
    table = titled_table(
        f"Training on {run.data} · {recipe.get('epochs')} epochs · batch "
        f"{recipe.get('batch_size')} · lr {recipe.get('lr')} · {recipe.get('device')}"
    )
    for column, justify in (
        ("Network", "left"),
        ("Params", "right"),
        ("Train error", "right"),
        ("Test error", "right"),
        ("Best test", "right"),
        ("Images/s", "right"),
        ("Saved for backward, predicted / measured", "right"),
        ("Status", "left"),
    ):
        table.add_column(column, justify=justify)
    for net in run.networks:
        last = net.epochs[-1] if net.epochs else None
        tests = [e.test_error for e in net.epochs if e.test_error is not None]
        memory = net.memory
        predicted, measured = (
            memory.get("predicted_saved_bytes"),
            memory.get("measured_saved_bytes"),
        )
        saved = (
            f"{predicted / 2**20:,.1f} / {measured / 2**20:,.1f} MiB"
            if predicted is not None and measured
            else "-"
        )
        table.add_row(
            net.name,
            f"{net.params:,}",
            f"{100 * last.train_error:.1f}%" if last else "-",
            f"{100 * last.test_error:.1f}%" if last and last.test_error is not None else "-",
            f"{100 * min(tests):.1f}%" if tests else "-",
            f"{last.images_per_s:,.0f}" if last else "-",
            saved,
            Text(net.status, style="" if net.status == "done" else "yellow"),
        )
    return table


__all__ = [
    "SIGNAL_CSV_COLUMNS",
    "render_signal_table",
    "render_training_table",
    "signal_csv",
    "signal_json",
]
