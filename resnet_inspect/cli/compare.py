"""`resnet-inspect compare`: blocks or networks side by side."""

from __future__ import annotations

import click

from resnet_inspect.cli.common import (
    BATCH_OPTION,
    DEVICE_OPTION,
    DTYPE_OPTION,
    FORMATS,
    IMPORT_OPTION,
    LATENCY_OPTION,
    MODELS_OPTION,
    OUTPUT_OPTION,
    check_output,
    diagram_format,
    emit,
    input_dims,
    measure_options,
    print_fitted,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.errors import UsageError
from resnet_inspect.options import Options
from resnet_inspect.render.diagram import STYLES as DIAGRAM_STYLES


@cli.command()
@IMPORT_OPTION
@click.argument("targets", nargs=-1)
@MODELS_OPTION
@click.option(
    "--input",
    "input_text",
    metavar="SHAPE",
    help="One input size for every item (HxW keeps each item's channels), e.g. "
    "256x28x28 for the blocks.",
)
@BATCH_OPTION
@DTYPE_OPTION
@click.option(
    "--baseline",
    help="The item the ratios divide by (a name or a target as typed); default the first.",
)
@click.option(
    "--by",
    type=click.Choice(("overview", "stage", "module")),
    default="overview",
    show_default=True,
    help="stage: add params, MACs and MACs per layer for each stage; module: list "
    "every module whose params or MACs differ from the baseline.",
)
@click.option("--diff", is_flag=True, help="List the spec keys that differ from the baseline.")
@click.option(
    "--diagram",
    "diagram_path",
    type=click.Path(dir_okay=False),
    help="Also draw the items side by side to this file (its extension picks the format: "
    "svg, png, jpg, pdf, dot).",
)
@click.option(
    "--style",
    type=click.Choice(DIAGRAM_STYLES),
    default="default",
    show_default=True,
    help="The --diagram's style; paper: each item as a column of Figure 3 of the ResNet paper "
    "(compare plain34 resnet34 --diagram fig3.svg --style paper).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write a self-contained HTML page of the comparison.",
)
@LATENCY_OPTION
@DEVICE_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json (every item's full report), csv or markdown for files.",
)
@OUTPUT_OPTION
def compare(
    targets: tuple[str, ...],
    model_paths: tuple[str, ...],
    input_text: str | None,
    batch_size: int | None,
    dtype: str,
    baseline: str | None,
    by: str,
    diff: bool,
    diagram_path: str | None,
    style: str,
    html_path: str | None,
    measure: bool,
    device: str,
    output_format: str,
    output: str | None,
) -> None:
    """Compare blocks or networks side by side, with ratios against a baseline.

    TARGETS are two or more spec files or presets, networks or blocks: `resnet-inspect compare
    bottleneck plain` puts the ResNet notes' bottleneck (69,632 conv weights) beside two 3x3
    convs of 256 (1,179,648): 16.9x. `compare plain34 resnet34` itemises what the shortcuts add.
    `--model MODULE:FACTORY` (repeatable) puts any nn.Module beside them, after the TARGETS:
    `compare resnet50 --model torchvision.models:resnet50` (its input: --input, else
    3x224x224).
    """
    from resnet_inspect.comparison import compare as compare_targets
    from resnet_inspect.inputs import resolve_batch

    if len(targets) + len(model_paths) < 2:
        raise UsageError("compare needs two or more specs, presets or --model items")
    if diagram_path:
        diagram_format(diagram_path, None)
    check_output(output, diagram_path, html_path)
    batch = resolve_batch(input_dims(input_text)[1], batch_size)
    options = Options(
        input_shape=input_text,
        batch_size=batch,
        dtype=dtype,
        latency=measure_options(measure, device, batch, dtype),
        graph=bool(diagram_path or html_path),
    )
    items: list[object] = list(targets)
    if model_paths:
        from resnet_inspect.model.factory import load_factory

        items += [(path, load_factory(path)) for path in model_paths]
    comparison = compare_targets(items, options, baseline)
    if diagram_path:
        from resnet_inspect.render.diagram import render_diagram

        drawing = render_diagram(comparison, diagram_format(diagram_path, None), style=style)
        emit(drawing, diagram_path)
    if html_path:
        from resnet_inspect.render.html import render_html

        emit(render_html(comparison), html_path)
    if output_format == "table" and not output:
        from resnet_inspect.render.comparison_table import render_comparison

        print_fitted(lambda width: render_comparison(comparison, by, diff, width))
        return
    if output_format == "table":
        from resnet_inspect.render import render_text
        from resnet_inspect.render.comparison_table import render_comparison

        emit(render_text(render_comparison(comparison, by, diff)), output)
        return
    from resnet_inspect.render.comparison_table import COMPARISON_RENDERERS

    emit(COMPARISON_RENDERERS[output_format](comparison), output)
