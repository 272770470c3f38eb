"""`diagram` and `report`: the drawing and the self-contained HTML page."""

from __future__ import annotations

import click

from resnet_inspect.cli.common import (
    BATCH_OPTION,
    DEPTHS,
    DEVICE_OPTION,
    IMPORT_OPTION,
    INPUT_OPTION,
    LATENCY_OPTION,
    MODEL_INPUTS_OPTION,
    MODEL_OPTION,
    OUTPUT_OPTION,
    check_output,
    diagram_format,
    emit,
    make_report,
    measure_options,
    model_inputs,
    one_target,
    print_fitted,
    write_diagram,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.options import Options
from resnet_inspect.render import render_text
from resnet_inspect.render.diagram import FORMATS as DIAGRAM_FORMATS
from resnet_inspect.render.diagram import STYLES as DIAGRAM_STYLES


@cli.command()
@IMPORT_OPTION
@click.argument("target", required=False)
@MODEL_OPTION
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Output file; the extension picks the format (svg, png, jpg, pdf, dot). - is "
    "standard output (SVG unless --format says otherwise).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(DIAGRAM_FORMATS),
    help="Override the format the extension implies.",
)
@click.option(
    "--depth",
    type=click.Choice(DEPTHS),
    default="block",
    show_default=True,
    help="stage: one box per stage; block: every block as its body and its + node, the "
    "shortcut an edge of its own (solid identity, dashed projection, dotted zero-pad); layer: "
    "every layer and operation.",
)
@click.option(
    "--fold",
    is_flag=True,
    help='Fold runs of identical blocks into one node ("identity block ×5").',
)
@click.option(
    "--rankdir",
    type=click.Choice(("TB", "LR")),
    default="TB",
    show_default=True,
    help="TB: top to bottom, as the paper draws networks; LR: left to right, for wide screens.",
)
@click.option(
    "--style",
    type=click.Choice(DIAGRAM_STYLES),
    default="default",
    show_default=True,
    help='paper: Figure 3 of the ResNet paper, one column of boxes ("3×3 conv, 128, /2", '
    '"pool, /2", "fc 1000") with each shortcut an arc on the side, solid for identity, '
    "dotted where the dimensions increase.",
)
@MODEL_INPUTS_OPTION
@click.option(
    "--dpi",
    type=click.IntRange(24, 600),
    help="Pixels per inch of a PNG or JPG [default: 192, twice Graphviz's 96: legible on a slide].",
)
@click.option("-v", "--verbose", is_flag=True, help="Say which renderer drew the diagram.")
def diagram(
    target: str | None,
    model_path: str | None,
    output: str,
    fmt: str | None,
    depth: str,
    fold: bool,
    rankdir: str,
    style: str,
    input_texts: tuple[str, ...],
    dpi: int | None,
    verbose: bool,
) -> None:
    """Draw the architecture with its numbers: Graphviz SVG, PNG, JPG, PDF or DOT.

    Nodes show type, kernel/stride, filters, groups, params and MACs; edges carry tensor
    shapes; each block's shortcut is an orange edge into its + node: solid for identity,
    dashed and labelled for a projection ("1×1 conv, 512, /2"), dotted for zero-padding.
    Stages are clusters. TARGET is a spec file or preset; --model draws any nn.Module
    (branches and concatenations as they run). SVGs embed their font, so labels fit their
    boxes in any browser. Rendered by Graphviz's dot when it is installed, else by the
    graphviz-pure binary that comes with resnet-inspect (no PDF).

    Deep networks at layer level make tall drawings: prefer SVG (Graphviz's dot scales a PNG
    down to fit 32,767 pixels a side; the bundled renderer does not). A layer-level drawing of
    many concatenations (a DenseNet) is refused at once, with the depth to use instead.
    """
    from resnet_inspect.render.diagram import paper_dot, to_dot

    one_target(target, model_path)
    diagram_format(output, fmt)  # a bad extension fails before any work
    check_output(output)
    input_value, _ = model_inputs(input_texts, model_path)
    report = make_report(target, model_path, Options(input_shape=input_value, graph=True))
    drawing = paper_dot(report) if style == "paper" else to_dot(report, depth, fold, rankdir)
    write_diagram(drawing, output, fmt, verbose, dpi)


@cli.command()
@IMPORT_OPTION
@click.argument("target", required=False)
@MODEL_OPTION
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The HTML file to write (- for standard output).",
)
@click.option(
    "--depth",
    type=click.Choice(DEPTHS),
    default="block",
    show_default=True,
    help="Rows of the layer table and detail of the diagram.",
)
@MODEL_INPUTS_OPTION
@BATCH_OPTION
@LATENCY_OPTION
@DEVICE_OPTION
@click.option(
    "--signal",
    "with_signal",
    is_flag=True,
    help="Add the Signal Propagation Plot: one batch of 64 N(0, 1) images at initialisation, "
    "as `resnet-inspect signal` measures it (runs the real network on --device).",
)
def report(
    target: str | None,
    model_path: str | None,
    output: str,
    depth: str,
    input_texts: tuple[str, ...],
    batch_size: int | None,
    measure: bool,
    device: str,
    with_signal: bool,
) -> None:
    """Write one self-contained HTML page: the diagram (zoomable), tables, per-stage bar
    charts, memory, receptive field, and latency when measured. Nothing is fetched from the
    network when it is opened."""
    from resnet_inspect.render.html import render_html

    one_target(target, model_path)
    check_output(output)
    input_value, batch = model_inputs(input_texts, model_path, batch_size)
    options = Options(
        input_shape=input_value,
        batch_size=batch,
        latency=measure_options(measure, device, batch, "float32"),
        graph=True,
    )
    result = make_report(target, model_path, options)
    signal = None
    if with_signal:
        from resnet_inspect.experiments.signal import signal as signal_of

        shape = tuple(result.input_shape)
        signal = [signal_of(target, input_shape=shape, device=device, model_path=model_path)]
    emit(render_html(result, depth, signal), output)


@cli.command("table")
@IMPORT_OPTION
@click.argument("targets", nargs=-1, required=True)
@INPUT_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("table", "markdown", "html", "svg")),
    default="table",
    show_default=True,
    help="table for the terminal; markdown, html or svg for documents.",
)
@OUTPUT_OPTION
def table_command(
    targets: tuple[str, ...], input_text: str | None, output_format: str, output: str | None
) -> None:
    """The ResNet paper's Table 1 for any specs: a row per stage with its output size, a column
    per network, each cell the stage's block recipe ("[1×1, 64 / 3×3, 64 / 1×1, 256] ×3"), and
    a last row of FLOPs (multiply-adds, the paper's convention).

    `resnet-inspect table resnet18 resnet34 resnet50_v1 resnet101_v1 resnet152_v1` is the
    paper's table (the v1 presets have its stride placement).
    """
    from resnet_inspect import pipeline
    from resnet_inspect.render import architecture

    check_output(output)
    options = Options(input_shape=input_text)
    reports = [pipeline.summarize(target, options) for target in targets]
    if output_format == "table" and not output:
        print_fitted(lambda width: architecture.render_architecture(reports))
        return
    render = {
        "table": lambda: render_text(architecture.render_architecture(reports)),
        "markdown": lambda: architecture.architecture_markdown(reports),
        "html": lambda: architecture.architecture_html(reports),
        "svg": lambda: architecture.architecture_svg(reports),
    }[output_format]
    emit(render(), output)
