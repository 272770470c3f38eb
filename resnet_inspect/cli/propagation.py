"""`resnet-inspect signal`: how signal and gradient propagate through each network at
initialisation (experiments/signal.py)."""

from __future__ import annotations

import os
from typing import Any

import click

from resnet_inspect.cli.common import (
    DATA_HELP,
    DEVICE_OPTION,
    IMPORT_OPTION,
    MAX_SEED,
    MAX_THREADS,
    MODELS_OPTION,
    check_output,
    emit,
    input_dims,
    print_fitted,
    progress_bar,
    set_threads,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.errors import UsageError
from resnet_inspect.spec.parser import MAX_BATCH_SIZE

SIGNAL_FORMATS = ("table", "json", "csv", "svg", "png", "pdf", "html")
PLOTS = ("svg", "png", "pdf")


def _format(output: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    if output and output != "-":
        extension = os.path.splitext(output)[1].lstrip(".").lower()
        if extension in SIGNAL_FORMATS:
            return extension
        if extension in ("txt", ""):
            return "table"
        raise UsageError(
            f"-o {output}: cannot tell the format from the extension; use "
            f"{', '.join(SIGNAL_FORMATS)} or --format"
        )
    return "table"


@cli.command()
@IMPORT_OPTION
@click.argument("targets", nargs=-1)
@MODELS_OPTION
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=MAX_SEED),
    default=0,
    show_default=True,
    help="Seeds the weights' initialisation, the input batch and the random labels.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=2, max=MAX_BATCH_SIZE),
    default=64,
    show_default=True,
    help="Images in the batch.",
)
@click.option(
    "--input",
    "input_text",
    metavar="SHAPE",
    help="C×H×W of the N(0, 1) batch instead of the spec's input (3x224x224 for --model).",
)
@click.option(
    "--data",
    "data_source",
    metavar="SOURCE",
    help="A batch of real training images (and their labels) instead: " + DATA_HELP,
)
@click.option(
    "--image-size",
    type=click.IntRange(min=4, max=4096),
    help="Resize an ImageFolder's images to this square size [default: 32].",
)
@click.option("--download", is_flag=True, help="With --data cifar10: fetch it if not cached.")
@click.option(
    "--mode",
    type=click.Choice(("train", "eval")),
    default="train",
    show_default=True,
    help="train: batch statistics, as at the start of training; eval: running ones.",
)
@DEVICE_OPTION
@click.option(
    "--threads", type=click.IntRange(min=1, max=MAX_THREADS), help="CPU threads for torch."
)
@click.option("--details", is_flag=True, help="The table lists every block and weighted layer.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SIGNAL_FORMATS),
    help="table, json (one object per network), csv (a row per block and layer), a "
    "plot (svg, png, pdf) or an html page [default: from -o's extension, else table].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write to FILE (atomically) instead of the terminal.",
)
def signal(
    targets: tuple[str, ...],
    model_paths: tuple[str, ...],
    seed: int,
    batch_size: int,
    input_text: str | None,
    data_source: str | None,
    image_size: int | None,
    download: bool,
    mode: str,
    device: str,
    threads: int | None,
    details: bool,
    fmt: str | None,
    output: str | None,
) -> None:
    """How signal and gradient propagate through each network at initialisation.

    One batch (N(0, 1) images, or real ones from --data) through the network in training mode
    as at the start of training, with the builder's own initialisation from --seed. Per
    residual block, the Signal Propagation Plot's figures (Brock, De & Smith 2021; timm's
    avg_sq_ch_mean, avg_ch_var, avg_ch_var_residual): average channel squared mean and
    average channel variance of the block's output, and the variance of the residual branch
    before the add. Per weighted layer, the response's std after its BN (the ResNet paper's
    Figure 7) and the gradient norm of a cross-entropy loss on random labels; and the ratio of
    the first convolution's gradient norm to the last's.

    \b
      resnet-inspect signal cifar_plain20 cifar_plain56 cifar_resnet20 cifar_resnet56
      resnet-inspect signal cifar_plain56 cifar_resnet56 -o signal.svg
    """
    from resnet_inspect.experiments.signal import signal as measure

    if not targets and not model_paths:
        raise UsageError("give one or more specs or presets, or --model MODULE:FACTORY")
    chosen = _format(output, fmt)
    check_output(output)
    dims, batch = input_dims(input_text)
    if batch is not None:
        raise UsageError("--input: give C×H×W; the batch comes from --batch-size")
    if dims is not None and data_source is not None:
        raise UsageError("--input and --data both say what goes in; give one")
    set_threads(threads)
    items: list[tuple[str | None, str | None]] = [(t, None) for t in targets]
    items += [(None, m) for m in model_paths]
    reports = []
    inputs = labels = None
    kind = ""
    if data_source is not None:
        inputs, labels, kind = _data_batch(data_source, batch_size, seed, image_size, download)
    with progress_bar("measuring signal and gradients", len(items)) as advance:
        for index, (target, model_path) in enumerate(items):
            report = measure(
                target,
                inputs=inputs,
                labels=labels,
                seed=seed,
                batch_size=batch_size,
                input_shape=_shape(dims, target),
                device=device,
                mode=mode,
                model_path=model_path,
                input_kind=kind or "given",
            )
            reports.append(report)
            advance(index + 1, len(items))
    _emit_signal(reports, chosen, output, details)


def _shape(dims: tuple[int, ...] | None, target: str | None) -> tuple[int, ...] | None:
    """--input as C×H×W; H×W keeps the spec's channels (3 for a model)."""
    if dims is None or len(dims) == 3:
        return dims
    if target is None:
        return (3, *dims)
    from resnet_inspect.spec import load_spec

    return (load_spec(target).input[0], *dims)


def _data_batch(source: str, batch_size: int, seed: int, size: int | None, download: bool) -> Any:
    from resnet_inspect.experiments import datasets as data

    dataset = data.load_data(source, image_size=size, download=download, seed=seed)
    images, labels = next(data.batches(dataset, batch_size, seed, 0, augmented=False))
    return images, labels, dataset.name


def _emit_signal(reports: list[Any], fmt: str, output: str | None, details: bool) -> None:
    from resnet_inspect.render import render_text
    from resnet_inspect.render.signal_table import render_signal_table, signal_csv, signal_json

    if fmt == "json":
        emit(signal_json(reports), output)
    elif fmt == "csv":
        emit(signal_csv(reports), output)
    elif fmt in PLOTS:
        from resnet_inspect.render.plots import render_signal_plot

        emit(render_signal_plot(reports, fmt), output or "-")
    elif fmt == "html":
        from resnet_inspect.render.html import render_signal_page

        emit(render_signal_page(reports), output)
    elif output:
        emit(render_text(render_signal_table(reports, details)), output)
    else:
        print_fitted(lambda width: render_signal_table(reports, details))
