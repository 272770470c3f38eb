"""`diagram` and `report`: the drawing and the self-contained HTML page."""

from __future__ import annotations

import click

from resnet_inspect.cli.common import (
    BATCH_OPTION,
    DEPTHS,
    DEVICE_OPTION,
    INPUT_OPTION,
    LATENCY_OPTION,
    OUTPUT_OPTION,
    _check_output,
    _diagram_format,
    _emit,
    _input,
    _measure_options,
    _print,
    _write_diagram,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.render import render_text
from resnet_inspect.render.diagram import FORMATS as DIAGRAM_FORMATS


@cli.command()
@click.argument("target")
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
    help="stage: stem, stages, head; block: every block; layer: every layer, with "
    "the shortcuts drawn.",
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
@INPUT_OPTION
@click.option("-v", "--verbose", is_flag=True, help="Say which renderer drew the diagram.")
def diagram(
    target: str,
    output: str,
    fmt: str | None,
    depth: str,
    fold: bool,
    rankdir: str,
    input_text: str | None,
    verbose: bool,
) -> None:
    """Draw the architecture with its numbers: Graphviz SVG, PNG, JPG, PDF or DOT.

    Nodes show type, kernel/stride, filters, groups, params and MACs; edges carry tensor
    shapes; shortcut edges are dashed and labelled identity / projection 1x1 / zero-pad; stages
    are clusters. Rendered by Graphviz's dot when it is installed, else by the graphviz-pure
    binary that comes with resnet-inspect (no PDF).

    Deep networks at layer level make tall drawings: prefer SVG (Graphviz caps PNG at 32,767
    pixels and scales the picture down to fit).
    """
    from resnet_inspect import pipeline
    from resnet_inspect.render.diagram import to_dot

    _diagram_format(output, fmt)  # a bad extension fails before any work
    _check_output(output)
    report = pipeline.summarize(target, input_shape=input_text, graph=True)
    _write_diagram(to_dot(report, depth, fold, rankdir), output, fmt, verbose)


@cli.command()
@click.argument("target")
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
@INPUT_OPTION
@BATCH_OPTION
@LATENCY_OPTION
@DEVICE_OPTION
def report(
    target: str,
    output: str,
    depth: str,
    input_text: str | None,
    batch_size: int | None,
    measure: bool,
    device: str,
) -> None:
    """Write one self-contained HTML page: the diagram (zoomable), tables, per-stage bar
    charts, memory, receptive field, and latency when measured. Nothing is fetched from the
    network when it is opened."""
    from resnet_inspect import pipeline
    from resnet_inspect.inputs import resolve_batch
    from resnet_inspect.render.html import render_html

    _check_output(output)
    batch = resolve_batch(_input(input_text)[1], batch_size)
    result = pipeline.summarize(
        target,
        input_shape=input_text,
        batch_size=batch,
        latency=_measure_options(measure, device, batch, "float32"),
        graph=True,
    )
    _emit(render_html(result, depth), output)


@cli.command("table")
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

    _check_output(output)
    reports = [pipeline.summarize(target, input_shape=input_text) for target in targets]
    if output_format == "table" and not output:
        _print(lambda width: architecture.render_architecture(reports))
        return
    render = {
        "table": lambda: render_text(architecture.render_architecture(reports)),
        "markdown": lambda: architecture.architecture_markdown(reports),
        "html": lambda: architecture.architecture_html(reports),
        "svg": lambda: architecture.architecture_svg(reports),
    }[output_format]
    _emit(render(), output)
