"""Reports -> the ResNet paper's Table 1: one row per stage, one column per network.

Each cell stacks a stage's block recipe as the paper writes it ("[1×1, 64 / 3×3, 64 / 1×1, 256]
×3"), read from the report's main-path convolutions of the stage's first block; the stem's
convolutions make the conv1 row and its pools open the conv2_x row; the head row names the
pool and the classifier; the last row is the MACs (the paper's "FLOPs"). Terminal (rich),
Markdown, HTML and SVG.
"""

from __future__ import annotations

import html

from rich.console import Group, RenderableType
from rich.text import Text

from resnet_inspect.render.escape import markdown_text, plain
from resnet_inspect.render.safe_table import Fitted, SafeTable, split_to_fit
from resnet_inspect.render.table import titled_table
from resnet_inspect.report import LayerRow, Report

Row = tuple[str, str, list[str]]  # layer name, output size, one cell per network


def _size(shape: list[int]) -> str:
    return "×".join(str(d) for d in shape[2:]) if len(shape) > 2 else "1×1"


def _layer(row: LayerRow, with_stride: bool = True) -> str:
    """ "7×7, 64, stride 2" for a conv; "3×3 max pool, stride 2" for a pool. Inside a stage the
    paper leaves the stride out (its text says the first block of conv3_x… downsamples)."""
    kernel = "×".join(str(k) for k in row.kernel or [1, 1])
    strided = with_stride and row.stride and row.stride[0] > 1
    stride = f", stride {row.stride[0]}" if strided and row.stride else ""
    if row.type.startswith("Conv"):
        groups = f", groups {row.groups}" if row.groups and row.groups > 1 else ""
        return f"{kernel}, {row.output_shape[1]}{groups}{stride}"
    kind = "max pool" if "Max" in row.type else "avg pool"
    return f"{kernel} {kind}{stride}"


def _recipe(report: Report, stage: str, blocks: int) -> str:
    first = f"{stage}.0."
    convs = [
        row
        for row in report.layers
        if row.is_leaf and row.main_path and row.name.startswith(first)
        if row.type.startswith("Conv")
    ]
    inner = " / ".join(_layer(row, with_stride=False) for row in convs)
    return f"[{inner}] ×{blocks}"


def architecture_rows(reports: list[Report]) -> list[Row]:
    """The table's rows: conv1, conv2_x … (the stages), the head, FLOPs."""
    rows: list[Row] = []
    first = reports[0]
    stems = []
    for report in reports:
        top = [row for row in report.layers if row.depth == 1]
        stages = [s.name for s in report.stages if s.kind == "stage"]
        start = next((i for i, row in enumerate(top) if row.name in stages), len(top))
        convs = [row for row in top[:start] if row.type.startswith("Conv")]
        pools = [row for row in top[:start] if "Pool" in row.type]
        stems.append((convs, pools))
    conv1 = next((convs[-1] for convs, _ in stems if convs), None)
    rows.append(
        (
            "conv1",
            _size(conv1.output_shape) if conv1 else "",
            [" / ".join(_layer(row) for row in convs) for convs, _ in stems],
        )
    )
    stage_names = [s for s in first.stages if s.kind == "stage"]
    for index, stage in enumerate(stage_names):
        cells = []
        for report, (_, pools) in zip(reports, stems, strict=True):
            own = next((s for s in report.stages if s.name == stage.name), None)
            cell = _recipe(report, stage.name, own.blocks) if own else ""
            if index == 0 and pools:
                cell = " / ".join(_layer(row) for row in pools) + "\n" + cell
            cells.append(cell)
        rows.append((f"conv{index + 2}_x", _size(stage.output_shape), cells))
    heads = []
    for report in reports:
        top = [row for row in report.layers if row.depth == 1]
        pools = [row for row in top if row.type.startswith("Adaptive")]
        fcs = [row for row in top if row.type == "Linear"]
        pool = "average pool" if pools and "Avg" in pools[-1].type else "max pool"
        heads.append(f"{pool}, {fcs[-1].output_shape[-1]}-d fc, softmax" if fcs else "")
    rows.append(("", "1×1", heads))
    rows.append(("FLOPs", "", [flops_as_printed(report.totals.macs) for report in reports]))
    return rows


def flops_as_printed(macs: int) -> str:
    """MACs in units of 10⁹, rounded to two decimals (the paper prints one)."""
    return f"{macs / 1e9:.2f}×10⁹"


def _headers(reports: list[Report]) -> list[str]:
    return ["layer name", "output size", *[f"{r.model} ({r.totals.depth}-layer)" for r in reports]]


def render_architecture(reports: list[Report], width: int | None = None) -> RenderableType:
    """The table as a rich renderable: the networks side by side, in as many tables as it
    takes to fit `width` (without it, the console's), the layer names repeated in each."""
    if width is None:
        return Fitted(lambda fitted: render_architecture(reports, fitted))
    headers = _headers(reports)
    rows = architecture_rows(reports)

    def build(indices: list[int]) -> SafeTable:
        table = titled_table("Architecture (the ResNet paper's Table 1); FLOPs are multiply-adds")
        table.add_column(headers[0])
        table.add_column(headers[1], justify="center", no_wrap=True)
        for index in indices:
            table.add_column(headers[2 + index])
        for position, (name, size, cells) in enumerate(rows):
            if position:
                table.add_section()
            table.add_row(name, size, *[_lines(cells[index]) for index in indices])
        return table

    exact = ", ".join(f"{r.model} {r.totals.macs:,}" for r in reports)
    note = f"FLOPs: multiply-adds of convolution and linear weights ({exact})."
    parts: list[RenderableType] = []
    for table in split_to_fit(build, len(reports), width):
        parts += [table, Text("")]
    return Group(*parts[:-1], plain(note, style="dim"))


def _lines(cell: str) -> Text:
    """A cell whose layers stand one per line (user text escaped line by line)."""
    return Text("\n").join(plain(part) for part in cell.replace(" / ", "\n").split("\n"))


def architecture_markdown(reports: list[Report]) -> str:
    """Table 1 in Markdown: the networks' names escaped (they are the user's), our own
    recipes and numbers as written."""
    headers = [
        "layer name",
        "output size",
        *[f"{markdown_text(r.model)} ({r.totals.depth}-layer)" for r in reports],
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for name, size, cells in architecture_rows(reports):
        shown = ["<br>".join(cell.split("\n")) for cell in cells]
        lines.append("| " + " | ".join([name, size, *shown]) + " |")
    return "\n".join(lines) + "\n"


def architecture_html(reports: list[Report]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _headers(reports))
    body = []
    for name, size, cells in architecture_rows(reports):
        shown = "".join(
            "<td>" + html.escape(cell).replace(" / ", "<br>").replace("\n", "<br>") + "</td>"
            for cell in cells
        )
        body.append(f"<tr><td>{html.escape(name)}</td><td>{size}</td>{shown}</tr>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Architecture'
        "</title><style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:"
        "collapse}td,th{border:1px solid #ced4da;padding:6px 10px;vertical-align:middle;"
        "text-align:center}</style></head><body><table><thead><tr>"
        f"{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n"
    )


def architecture_svg(reports: list[Report]) -> str:
    """Table 1 as a paper-style SVG in the diagrams' embedded font, the stage rows in the
    diagrams' stage colours; nothing in it is fetched when it is opened."""
    from resnet_inspect.render.diagram import STAGE_COLOURS
    from resnet_inspect.render.svg_table import SvgColumn, svg_table

    headers = _headers(reports)
    columns = [SvgColumn(headers[0]), SvgColumn(headers[1], "middle")]
    columns += [SvgColumn(header, "middle") for header in headers[2:]]
    rows = architecture_rows(reports)
    stages = sum(1 for name, _, _ in rows if name.endswith("_x"))
    colours: list[str | None] = [None]
    colours += [STAGE_COLOURS[index % len(STAGE_COLOURS)] for index in range(stages)]
    colours += [None] * (len(rows) - len(colours))
    exact = ", ".join(f"{r.model} {r.totals.macs:,}" for r in reports)
    return svg_table(
        "Architecture (the ResNet paper's Table 1); FLOPs are multiply-adds",
        columns,
        [
            [name, size, *(cell.replace(" / ", "\n") for cell in cells)]
            for name, size, cells in rows
        ],
        f"FLOPs: multiply-adds of convolution and linear weights ({exact}).",
        colours,
    )
