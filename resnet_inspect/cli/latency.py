"""`resnet-inspect latency`: measured latency and throughput on a device."""

from __future__ import annotations

import sys

import click

from resnet_inspect.cli.common import (
    DEVICE_OPTION,
    DTYPE_OPTION,
    IMPORT_OPTION,
    INPUT_OPTION,
    MAX_ITERS,
    MAX_PEAK_TFLOPS,
    MAX_SECONDS,
    MAX_THREADS,
    MODEL_OPTION,
    OUTPUT_OPTION,
    batch_sizes,
    check_output,
    emit,
    input_dims,
    make_report,
    one_target,
    print_fitted,
    progress_bar,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.errors import UsageError
from resnet_inspect.options import LatencyOptions, Options


@cli.command()
@IMPORT_OPTION
@click.argument("target", required=False)
@MODEL_OPTION
@DEVICE_OPTION
@click.option(
    "--batch-size",
    "batch_text",
    default="1",
    show_default=True,
    help="One size or a sweep: 1,8,32.",
)
@INPUT_OPTION
@DTYPE_OPTION
@click.option("--channels-last", is_flag=True, help="NHWC memory format (fast on tensor cores).")
@click.option(
    "--compile",
    "compile_mode",
    is_flag=False,
    flag_value="default",
    default=None,
    type=click.Choice(("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")),
    help="torch.compile the model first; optionally name the mode.",
)
@click.option(
    "--cuda-graphs",
    is_flag=True,
    help="Capture one forward in a CUDA graph and time its replay (CUDA only).",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0, max=MAX_ITERS),
    default=10,
    show_default=True,
    help="Untimed iterations first (compilation happens here).",
)
@click.option(
    "--iters",
    type=click.IntRange(min=1, max=MAX_ITERS),
    default=50,
    show_default=True,
    help="Timed iterations per batch size (at least).",
)
@click.option(
    "--min-time",
    type=click.FloatRange(min=0, max=MAX_SECONDS),
    default=0.0,
    show_default=True,
    help="Keep timing until this many seconds have passed.",
)
@click.option(
    "--threads", type=click.IntRange(min=1, max=MAX_THREADS), help="CPU threads for torch."
)
@click.option(
    "--breakdown",
    is_flag=True,
    help="Time each top-level module too, at the first batch size, with the table's "
    "iterations and warm-up.",
)
@click.option(
    "--peak-tflops",
    type=click.FloatRange(min=0, max=MAX_PEAK_TFLOPS, min_open=True),
    help="The device's peak, where the built-in table does not know it.",
)
@click.option("--force", is_flag=True, help="Build even a model larger than half the memory.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="table for people; json: the whole report with every timing and the environment.",
)
@OUTPUT_OPTION
def latency(
    target: str | None,
    model_path: str | None,
    device: str,
    batch_text: str,
    input_text: str | None,
    dtype: str,
    channels_last: bool,
    compile_mode: str | None,
    cuda_graphs: bool,
    warmup: int,
    iters: int,
    min_time: float,
    threads: int | None,
    breakdown: bool,
    peak_tflops: float | None,
    force: bool,
    output_format: str,
    output: str | None,
) -> None:
    """Measure latency and throughput on a device, with benchmark-harness care.

    CUDA work is timed with CUDA events; statistics are the median, p10/p90 and coefficient of
    variation, images/s, and TFLOP/s from the counted MACs (with the fraction of the device's
    peak where known). Out of memory at one batch size is reported in that row and the sweep
    goes on; Ctrl-C prints the rows already measured.
    """
    one_target(target, model_path)
    check_output(output)
    from resnet_inspect.experiments.timing import resolve_device

    # An unavailable device or impossible option is a one-line error before any work.
    if resolve_device(device).type != "cuda" and cuda_graphs:
        raise UsageError("--cuda-graphs needs --device cuda")
    sizes = batch_sizes(batch_text)
    if input_dims(input_text)[1] is not None:
        raise UsageError("--input: give C×H×W here; the batch sizes come from --batch-size")
    latency = LatencyOptions(
        device=device,
        batch_sizes=sizes,
        dtype=dtype,
        channels_last=channels_last,
        compile_mode=compile_mode,
        cuda_graphs=cuda_graphs,
        warmup=warmup,
        iters=iters,
        min_time_s=min_time,
        threads=threads,
        breakdown=breakdown,
        peak_tflops=peak_tflops,
    )
    with progress_bar(f"measuring on {device}", len(latency.batch_sizes)) as advance:
        options = Options(input_shape=input_text, dtype=dtype, latency=latency, force=force)
        report = make_report(target, model_path, options, advance)
    if output_format == "json":
        from resnet_inspect.render import render_json

        emit(render_json(report), output)
    else:
        from resnet_inspect.render import render_text
        from resnet_inspect.render.latency_table import render_latency

        if output:
            emit(render_text(render_latency(report)), output)
        else:
            print_fitted(lambda width: render_latency(report))
    if report.latency and report.latency.interrupted:
        sys.exit(130)
