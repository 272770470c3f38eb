"""`resnet-inspect summary`: the per-layer table, totals and every analyzer."""

from __future__ import annotations

import click

from resnet_inspect.cli.common import (
    BATCH_OPTION,
    CONVENTIONS,
    DEPTHS,
    DEVICE_OPTION,
    DTYPE_OPTION,
    FORMATS,
    IMPORT_OPTION,
    LATENCY_OPTION,
    MODEL_INPUTS_OPTION,
    MODEL_OPTION,
    OUTPUT_OPTION,
    check_output,
    emit,
    make_report,
    measure_options,
    model_inputs,
    one_target,
    print_fitted,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.errors import UsageError
from resnet_inspect.options import Options
from resnet_inspect.report import TOP_MEASURES


@cli.command()
@IMPORT_OPTION
@click.argument("target", required=False)
@MODEL_OPTION
@click.option(
    "--depth",
    type=click.Choice(DEPTHS),
    default="block",
    show_default=True,
    help="stage: children of the model; block: residual blocks; layer: every leaf.",
)
@MODEL_INPUTS_OPTION
@BATCH_OPTION
@DTYPE_OPTION
@click.option(
    "--convention",
    type=click.Choice(CONVENTIONS),
    default="paper",
    show_default=True,
    help="paper: MACs of conv + linear weights; full: fvcore's count (+ batch norm, "
    "pooling). JSON always has both.",
)
@click.option(
    "--columns",
    metavar="LIST",
    help="Table columns, e.g. layer,shape,params,macs, or all (layer, type, kernel, shape, "
    "params, macs, rf, memory). By default every column that fits the terminal; the "
    "narrowest drop memory, kernel, type, rf, shape in that order, and a line says so.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Hold the layer-by-layer count to closed-form arithmetic on the spec's fields "
    "(params and MACs per stage, written per block type, apart from the layer plan); exit 3 "
    "on any difference.",
)
@click.option(
    "--fvcore",
    "use_fvcore",
    is_flag=True,
    help="Count FLOPs with fvcore itself on real tensors (slower: builds weights; "
    'pip install "resnet-inspect[fvcore]").',
)
@click.option(
    "--from-model",
    is_flag=True,
    help="Build the nn.Module on torch's meta device and trace it, instead of running the "
    "spec's planned layers through the blocks' forward code without torch (slower; the "
    "same numbers, which a test holds every preset to).",
)
@click.option(
    "--top",
    type=click.IntRange(1, 1_000_000),
    metavar="N",
    help="Only the N heaviest layers (leaf modules), ranked by --by, with their share of the "
    "total: where the cost is, without scrolling the whole table.",
)
@click.option(
    "--by",
    type=click.Choice(TOP_MEASURES),
    default="macs",
    show_default=True,
    help="What --top ranks by: multiply-adds, parameters, activations (bytes a layer's "
    "operations allocate) or latency (measures each top-level module on --device).",
)
@LATENCY_OPTION
@DEVICE_OPTION
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table for people; json (every module whatever --depth says), csv or markdown "
    "for files and other tools.",
)
@OUTPUT_OPTION
def summary(
    target: str | None,
    model_path: str | None,
    depth: str,
    input_texts: tuple[str, ...],
    batch_size: int | None,
    dtype: str,
    convention: str,
    columns: str | None,
    check: bool,
    use_fvcore: bool,
    from_model: bool,
    top: int | None,
    by: str,
    measure: bool,
    device: str,
    output_format: str,
    output: str | None,
) -> None:
    """Per-layer table: module path, type, kernel/stride, output shape, params, MACs,
    receptive field, activation memory; stage subtotals; totals.

    Shapes, params, FLOPs, memory and receptive fields come from one pass: over the spec's
    planned layers through the blocks' forward code (a few milliseconds, no torch), or, for
    --model and --from-model, over the nn.Module on torch's meta device. No weights or
    activations are allocated, so any batch size or resolution costs the same. MACs are the
    multiply-adds of convolution and linear weights (the ResNet paper's "FLOPs"); FLOPs = 2 x
    MACs; fvcore flops add batch norm and pooling.
    """
    from resnet_inspect.render.table import parse_columns

    one_target(target, model_path)
    input_value, batch = model_inputs(input_texts, model_path, batch_size)
    chosen = parse_columns(columns)
    check_output(output)
    if top is not None and output_format == "csv":
        raise UsageError("--top writes a table, json or markdown; csv lists every module")
    latency = measure_options(
        measure or (top is not None and by == "latency"), device, batch, dtype
    )
    if latency is not None and top is not None and by == "latency":
        import dataclasses

        latency = dataclasses.replace(latency, breakdown=True)
    options = Options(
        input_shape=input_value,
        batch_size=batch,
        dtype=dtype,
        check=check,
        fvcore=use_fvcore,
        from_model=from_model,
        latency=latency,
    )
    report = make_report(target, model_path, options)
    if top is not None:
        _print_top(report, top, by, output_format, output)
    elif output_format == "table" and not output:
        from resnet_inspect.render import render_table

        print_fitted(lambda width: render_table(report, depth, convention, chosen, width))
    elif output_format == "table":
        from resnet_inspect.render import render_table, render_text

        emit(render_text(render_table(report, depth, convention, chosen)), output)
    else:
        from resnet_inspect.render import RENDERERS

        emit(RENDERERS[output_format](report, depth, convention), output)
    if report.check is not None and not report.check.ok:
        from resnet_inspect.errors import AnalysisError

        raise AnalysisError(
            "the spec's arithmetic and the model's layer-by-layer count disagree (see the table)"
        )


def _print_top(report: object, top: int, by: str, output_format: str, output: str | None) -> None:
    from resnet_inspect.render.top_table import TOP_RENDERERS, render_top_table

    if output_format == "table" and not output:
        print_fitted(lambda width: render_top_table(report, top, by))  # type: ignore[arg-type]
    elif output_format == "table":
        from resnet_inspect.render import render_text

        emit(render_text(render_top_table(report, top, by)), output)  # type: ignore[arg-type]
    else:
        emit(TOP_RENDERERS[output_format](report, top, by), output)  # type: ignore[arg-type]
