"""The latency section -> rich tables."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from resnet_inspect.render.escape import plain
from resnet_inspect.render.table import titled_table
from resnet_inspect.report import LatencySection, Report


def _f(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def latency_title(section: LatencySection) -> str:
    mode = f"torch.compile({section.compile_mode})" if section.compile_mode else "eager"
    extras = [section.dtype, mode]
    if section.channels_last:
        extras.append("channels-last")
    if section.cuda_graphs:
        extras.append("CUDA graphs")
    return (
        f"{section.device_name} ({section.device}) · {' · '.join(extras)} · "
        f"{section.threads} threads · {section.timing} · torch {section.torch}"
    )


def render_latency(report: Report) -> RenderableType:
    section = report.latency
    if section is None:
        return Text("no latency was measured (latency, or summary --latency)")
    table = titled_table(f"Latency of {report.model}: {latency_title(section)}")
    for column in (
        "Batch",
        "Median ms",
        "p10 ms",
        "p90 ms",
        "CV",
        "Images/s",
        "TFLOP/s",
        "of peak",
    ):
        table.add_column(column, justify="right")
    for row in section.rows:
        if row.get("error"):
            table.add_row(str(row["batch_size"]), plain(row["error"], style="red"), *[""] * 6)
            continue
        cv = Text(f"{row['cv']:.1%}", style="yellow" if row["cv"] > 0.05 else "")
        fraction = f"{row['peak_fraction']:.1%}" if row["peak_fraction"] is not None else "-"
        table.add_row(
            str(row["batch_size"]),
            _f(row["median_ms"]),
            _f(row["p10_ms"]),
            _f(row["p90_ms"]),
            cv,
            _f(row["images_per_s"], 1),
            _f(row["tflops"]),
            fraction,
        )
    parts: list[RenderableType] = [table]
    if section.breakdown:
        batch = section.breakdown_batch_size
        breakdown = titled_table(f"Breakdown at batch {batch}")
        breakdown.add_column("Top-level module")
        breakdown.add_column("ms", justify="right")
        breakdown.add_column("share", justify="right")
        whole = section.breakdown[-1]["ms"] or 1.0
        for row in section.breakdown:
            breakdown.add_row(row["name"], _f(row["ms"]), f"{row['ms'] / whole:.1%}")
        parts += [
            Text(""),
            breakdown,
            Text(
                "Eager, with the table's warm-up and iterations: the median iteration, split "
                "by module; other is the time between modules.",
                style="dim",
            ),
        ]
    for warning in section.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    if section.interrupted:
        parts.append(
            Text("interrupted: the rows above were measured before Ctrl-C", style="yellow")
        )
    parts.append(
        Text(
            "MACs-based TFLOP/s count 2 FLOPs per multiply-add of conv and linear weights; the "
            "median is the figure to quote.",
            style="dim",
        )
    )
    return Group(*parts)
