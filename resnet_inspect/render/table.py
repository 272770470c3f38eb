"""Report -> rich renderables: the per-layer table with stage subtotals, the totals panel and
the spec-vs-model check."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from resnet_inspect.errors import UsageError
from resnet_inspect.render import numbers
from resnet_inspect.render.escape import plain
from resnet_inspect.render.safe_table import Fitted, SafeTable, drop_to_fit
from resnet_inspect.report import OWN_PARAMETERS, CheckRow, LayerRow, Report, StageRow

CONVENTIONS = ("paper", "full")


def _ops(value: int) -> str:
    return numbers.count(value) if value else "-"


def _field(receptive_field: int | None, stride: int | float | None, whole: bool = False) -> str:
    """The local field and stride; "g" where a global operation upstream (pooling, attention,
    an SE gate) makes the output see the whole input."""
    return f"{receptive_field} /{stride}{' g' if whole else ''}" if receptive_field else ""


def input_text(report: Report) -> str:
    """'input 1×3×224×224', or each of a model's given inputs with its name and type."""
    if not report.inputs:
        return f"input {numbers.shape([report.batch_size, *report.input_shape])}"
    return "inputs " + ", ".join(
        " ".join(
            part for part in (item["name"], numbers.shape(item["shape"]), item["dtype"]) if part
        )
        for item in report.inputs
    )


def titled_table(title: str | Text) -> SafeTable:
    """The house style: a left-aligned title, bold header, no outer border. Plain-string
    cells are user-safe (render/escape.py)."""
    return SafeTable(title, title_justify="left", header_style="bold")


# The summary's columns: (key, header). `--columns` names them by key.
COLUMNS = (
    ("layer", "Layer (module path)"),
    ("type", "Type"),
    ("kernel", "Kernel/stride"),
    ("shape", "Output shape"),
    ("params", "Params"),
    ("macs", "MACs"),
    ("rf", "RF /stride"),
    ("memory", "Activations"),
)
# What a narrow terminal loses first. Layer, params and MACs are always shown.
DROP_ORDER = ("memory", "kernel", "type", "rf", "shape")
_LEFT = {"layer", "type", "kernel"}


def parse_columns(text: str | None) -> tuple[str, ...] | None:
    """`--columns layer,params,macs` or `all` -> column keys (None: choose by width)."""
    if text is None:
        return None
    keys = [key for key, _ in COLUMNS]
    if text.strip() == "all":
        return tuple(keys)
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in keys]
    if unknown or not chosen:
        raise UsageError(
            f"--columns {text!r}: unknown column {', '.join(map(repr, unknown)) or '(none)'}; "
            f"choose from {', '.join(keys)} or all"
        )
    return tuple(key for key in keys if key in chosen)


def _layer_table(
    report: Report, depth: str, convention: str, columns: tuple[str, ...]
) -> SafeTable:
    table = titled_table(f"{report.model} · {input_text(report)} · {report.dtype} · depth {depth}")
    for key, header in COLUMNS:
        if key in columns:
            if key == "macs" and convention != "paper":
                header = report.flops.label if report.flops else "full"
            # Only the layer column wraps (a subtotal's words); a value is never split.
            table.add_column(
                header, justify="left" if key in _LEFT else "right", no_wrap=key != "layer"
            )
    stages = {stage.name: stage for stage in report.stages if stage.kind == "stage"}
    group_of = _groups(report)
    current: str | None = None
    for row in report.layers_at(depth):
        group = group_of.get(row.stage, row.stage)
        if group != current:
            if current in stages and depth != "stage":
                _subtotal(table, stages[current], convention, columns)
            if current is not None:
                table.add_section()
            current = group
        table.add_row(
            *_cells(row, depth, convention, columns),
            style="bold" if row.depth == 1 and not row.is_leaf and depth != "stage" else None,
        )
    if current in stages and depth != "stage":
        _subtotal(table, stages[current], convention, columns)
    return table


_OWN_HELD = "\u00a0" + OWN_PARAMETERS.replace(" ", "\u00a0")


def _cells(row: LayerRow, depth: str, convention: str, columns: tuple[str, ...]) -> list[str]:
    indent = "  " * (row.depth - 1) if depth != "stage" else ""
    cells = {
        # "(own parameters)" held together: a table wraps between words
        "layer": indent + row.name.replace(f" {OWN_PARAMETERS}", _OWN_HELD),
        "type": row.type,
        "kernel": numbers.kernel(row.kernel, row.stride, row.groups),
        "shape": numbers.shape(row.output_shape),
        "params": _ops(row.params),
        "macs": _ops(row.macs if convention == "paper" else row.full_flops),
        "rf": _field(row.receptive_field, row.effective_stride, row.global_field),
        "memory": numbers.size_bytes(row.activation_bytes) if row.activation_bytes else "-",
    }
    return [cells[key] for key in columns]


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


def _subtotal(table: SafeTable, stage: StageRow, convention: str, columns: tuple[str, ...]) -> None:
    blocks = f"{stage.blocks} {stage.unit}" + ("" if stage.blocks == 1 else "s")
    cells: dict[str, str | Text] = {
        "layer": plain(f"{stage.name} subtotal ({blocks})", style="italic cyan"),
        "shape": numbers.shape(stage.output_shape),
        "params": Text(numbers.count(stage.params), style="cyan"),
        "macs": Text(
            numbers.count(stage.macs if convention == "paper" else stage.full_flops), style="cyan"
        ),
        "rf": _field(stage.receptive_field, stage.effective_stride),
    }
    table.add_row(*[cells.get(key, "") for key in columns])


def _totals_panel(report: Report, width: int | None) -> Panel:
    totals = report.totals
    grid = SafeTable.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(style="dim")
    grid.add_row("Total params", numbers.count(totals.params), numbers.si(totals.params))
    grid.add_row("Trainable params", numbers.count(totals.trainable_params), "")
    grid.add_row("Non-trainable params", numbers.count(totals.non_trainable_params), "")
    grid.add_row("Buffers", numbers.count(totals.buffers), "BN running mean + variance")
    grid.add_row("Keras-style total", numbers.count(totals.keras_total_params), "params + buffers")
    grid.add_row(
        "MACs",
        numbers.count(totals.macs),
        f"{numbers.si(totals.macs)} conv + linear multiply-adds (the paper's “FLOPs”)",
    )
    grid.add_row("FLOPs", numbers.count(totals.flops), f"{numbers.si(totals.flops)} = 2 × MACs")
    if totals.attention_macs:
        grid.add_row(
            "Attention MACs",
            numbers.count(totals.attention_macs),
            f"{numbers.si(totals.attention_macs)} products of two activations (q·kᵀ, × v), "
            "not in MACs",
        )
    flops = report.flops
    if flops:
        grid.add_row(
            flops.label[0].upper() + flops.label[1:],
            numbers.count(flops.full_total),
            f"{numbers.si(flops.full_total)} + batch norm, pooling, products of activations"
            + (" (fvcore itself ran)" if flops.engine == "fvcore" else ""),
        )
        uncounted = ", ".join(  # a no-break space: an item is never split across lines
            f"{name.removeprefix('aten::')}\u00a0×{count}"
            for name, count in flops.uncounted_ops.items()
        )
        if uncounted:
            grid.add_row("Not counted", "", uncounted)
    aside = totals.weighted_layers - totals.depth
    grid.add_row(
        "Depth",
        str(totals.depth),
        "weighted layers on the main path, as the paper counts; "
        + (
            f"{totals.weighted_layers} with the {aside} off it (projection shortcuts, gates)"
            if aside
            else "none off it (no projection shortcuts)"
        ),
    )
    if totals.receptive_field == "global":
        grid.add_row(
            "Receptive field",
            "global",
            f"the last feature map sees the whole input (global from {totals.global_from}); "
            f"through windows and resampling {totals.local_receptive_field} px, "
            f"effective stride {totals.effective_stride}",
        )
    elif totals.receptive_field:
        grid.add_row(
            "Receptive field",
            f"{totals.receptive_field} px",
            f"effective stride {totals.effective_stride}, last feature map, max over all paths",
        )
    memory = report.memory
    if memory:
        grid.add_row(
            "Weights",
            numbers.size_bytes(totals.param_bytes),
            f"{report.dtype}; buffers {numbers.size_bytes(totals.buffer_bytes)}",
        )
        grid.add_row(
            "Inference memory",
            numbers.size_bytes(memory.inference_bytes),
            "weights + buffers + peak live activations "
            f"{numbers.size_bytes(memory.inference_peak_activation_bytes)}",
        )
        training = memory.training_bytes
        grid.add_row(
            "Training memory",
            numbers.size_bytes(int(training["sgd_momentum"])),
            f"SGD momentum; Adam {numbers.size_bytes(int(training['adam']))}; "
            "saved activations "
            f"{numbers.size_bytes(memory.saved_activation_bytes)}",
        )
    if report.inputs and len(report.inputs) > 1:
        grid.add_row("Inputs", str(len(report.inputs)), plain(input_text(report)))
    if totals.outputs and len(totals.outputs) > 1:
        grid.add_row(
            "Outputs",
            str(len(totals.outputs)),
            plain(", ".join(f"{o['name']} {numbers.shape(o['shape'])}" for o in totals.outputs)),
        )
    latency = report.latency
    if latency and latency.rows and not latency.rows[0].get("error"):
        row = latency.rows[0]
        grid.add_row(
            "Latency",
            f"{row['median_ms']:,.3f} ms",
            f"median on {latency.device_name} ({latency.device}), "
            f"p10–p90 {row['p10_ms']:,.3f}–{row['p90_ms']:,.3f} ms, "
            f"{row['images_per_s']:,.1f} images/s",
        )
    note = Text(
        f"Batch {report.batch_size}. MACs: multiply-adds of conv and linear weights — the ResNet "
        "paper's “FLOPs” and torchvision's _ops. torchinfo's Mult-Adds also count BN parameters "
        "and biases; fvcore's “flops” are multiply-adds plus batch norm and pooling. RF: the "
        "field through windows and resampling; “g”: a global operation upstream (pooling, "
        "attention, an SE gate) makes that output see the whole input.",
        style="dim",
    )
    # The panel is never narrower than the grid's words: a border must not cut a number.
    fitted = min(110, width) if width else 110
    return Panel(
        Group(grid, Text(""), note),
        title="Totals",
        title_align="left",
        width=max(fitted, grid.minimum_width() + 4),
    )


def _check_tables(report: Report, width: int | None) -> list[SafeTable]:
    """The closed forms against the layer-by-layer count: one table, or, where it does not fit,
    one for the parameters and one for the MACs."""
    check = report.check
    rows = check.stages if check else []

    def verdict(row: CheckRow) -> Text:
        if row.analytic_params is None or row.analytic_macs is None:
            return Text("no closed form: the block type states none", style="dim")
        return Text("✓ equal", style="green") if row.ok else Text("✗ MISMATCH", style="bold red")

    def count(value: int | None) -> str:
        return "-" if value is None else numbers.count(value)

    def build(parts: tuple[str, ...]) -> SafeTable:
        title = "Closed-form arithmetic from the spec vs the model, counted layer by layer"
        if parts != ("params", "macs"):
            title += f" ({'parameters' if parts == ('params',) else 'MACs'})"
        table = titled_table(title)
        table.add_column("Stage")
        for part in parts:
            name = "Params" if part == "params" else "MACs"
            table.add_column(f"{name} (spec)", justify="right")
            table.add_column(f"{name} (model)", justify="right")
        table.add_column("")
        for row in rows:
            cells: list[str | Text] = [row.name]
            if "params" in parts:
                cells += [count(row.analytic_params), numbers.count(row.measured_params)]
            if "macs" in parts:
                cells += [count(row.analytic_macs), numbers.count(row.measured_macs)]
            table.add_row(*cells, verdict(row))
        return table

    both = build(("params", "macs"))
    if width is None or both.fits(width):
        return [both]
    return [build(("params",)), build(("macs",))]


def render_table(
    report: Report,
    depth: str = "block",
    convention: str = "paper",
    columns: tuple[str, ...] | None = None,
    width: int | None = None,
) -> RenderableType:
    """The summary as a rich renderable: the layer table, the totals, the check.

    `columns` are keys of COLUMNS (all by default). Without `columns`, columns are dropped in
    DROP_ORDER until the table fits `width` — or, without `width`, the width of the console it
    is printed on — and a line says which were hidden. A number or a name is never cut or
    split: cells wrap only between words."""
    if width is None:
        return Fitted(lambda fitted: render_table(report, depth, convention, columns, fitted))
    chosen = columns or tuple(key for key, _ in COLUMNS)
    table, hidden = drop_to_fit(
        lambda keys: _layer_table(report, depth, convention, keys),
        chosen,
        DROP_ORDER if columns is None else (),
        width,
    )
    parts: list[RenderableType] = [table]
    if hidden:
        names = ", ".join(header for key, header in COLUMNS if key in hidden)
        parts.append(
            Text(
                f"Hidden to fit {width} columns: {names}. --columns all shows every column.",
                style="dim",
            )
        )
    parts += [Text(""), _totals_panel(report, width)]
    if report.check is not None:
        for check in _check_tables(report, width):
            parts += [Text(""), check]
    return Group(*parts)


def render_presets(rows: list[tuple[str, str]], width: int | None = None) -> RenderableType:
    """The presets, a row each: the name (never split) and its description, wrapped between
    words to fit `width` (without it, the console's)."""
    if width is None:
        return Fitted(lambda fitted: render_presets(rows, fitted))
    table = SafeTable(box=None, padding=(0, 1), header_style="bold")
    table.add_column("Preset", no_wrap=True)
    table.add_column("What it is")
    for name, description in rows:
        table.add_row(name, description)
    return table
