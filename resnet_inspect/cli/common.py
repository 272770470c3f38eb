"""What the commands share: option declarations, limits, and the output helpers (the
terminal's width, -o by path kind, closed pipes)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from resnet_inspect.errors import UsageError
from resnet_inspect.options import LatencyOptions, Options
from resnet_inspect.render.diagram import FORMATS as DIAGRAM_FORMATS
from resnet_inspect.render.escape import terminal_text
from resnet_inspect.report import DTYPES
from resnet_inspect.spec.parser import MAX_BATCH_SIZE

MAX_ERROR_LINES = 50

DEPTHS = ("stage", "block", "layer")
FORMATS = ("table", "json", "csv", "markdown")  # render.RENDERERS' keys (a test keeps them so)
CONVENTIONS = ("paper", "full")
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `yes | head -1` reports in a shell
# Upper bounds of numeric options, so an absurd value is a usage error before torch sees it.
MAX_ITERS = 1_000_000
MAX_THREADS = 4096
MAX_SECONDS = 86_400.0
MAX_PEAK_TFLOPS = 1_000_000.0

# Options several commands share, defined once so their names and help stay the same.
OUTPUT_OPTION = click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write to FILE instead of the terminal (a regular file is replaced atomically; "
    "- is standard output; /dev/null and FIFOs are written in place).",
)
INPUT_OPTION = click.option(
    "--input",
    "input_text",
    metavar="SHAPE",
    help="Input size instead of the spec's: 3x224x224, 224x224 (keeps the spec's channels) or "
    "8x3x224x224 (the batch too). Channels come first.",
)
MODEL_INPUTS_OPTION = click.option(
    "--input",
    "input_texts",
    metavar="SHAPE",
    multiple=True,
    help="Input size instead of the spec's: 3x224x224, 224x224 (keeps the spec's channels) or "
    "8x3x224x224 (the batch too). Channels come first. With --model, repeat it for a model of "
    "several inputs, each written whole, batch first, named for a keyword argument and typed "
    "where it is not floating point: --input x=1x3x224x224 --input mask=1x224x224:bool, "
    "--input ids=1x128:int64.",
)


def model_inputs(
    input_texts: tuple[str, ...], model_path: str | None, batch_size: int | None = None
) -> tuple[Any, int]:
    """MODEL_INPUTS_OPTION's values and --batch-size -> (Options.input_shape, the batch): the
    one shape's text and the batch it or --batch-size gives, or a list of InputSpecs where
    there are several, named or typed inputs (only with --model) and the first one's batch
    unless --batch-size says otherwise (the analysis then says they disagree)."""
    from resnet_inspect.inputs import is_input_item, parse_input_item, resolve_batch

    if len(input_texts) <= 1 and not any(is_input_item(text) for text in input_texts):
        text = input_texts[0] if input_texts else None
        return text, resolve_batch(input_dims(text)[1], batch_size)
    if model_path is None:
        raise UsageError(
            "several, named or typed inputs (--input ids=1x128:int64) are for --model; "
            "a spec takes one --input shape"
        )
    try:
        specs = [parse_input_item(text) for text in input_texts]
    except UsageError as err:
        raise UsageError(f"--input: {err}") from None
    first = specs[0].shape
    return specs, batch_size or (first[0] if len(first) > 1 else 1)


BATCH_OPTION = click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=MAX_BATCH_SIZE),
    help="Batch size for shapes, MACs and memory (no activations are allocated) "
    "[default: 1, or the N of a 4-D --input].",
)
DTYPE_OPTION = click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default="float32",
    show_default=True,
    help="Element type (memory figures; latency runs in it).",
)
LATENCY_OPTION = click.option(
    "--latency",
    "measure",
    is_flag=True,
    help="Also measure latency at --batch-size on --device (the latency command has every "
    "timing option).",
)
DEVICE_OPTION = click.option(
    "--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps."
)
MODEL_OPTION = click.option(
    "--model",
    "model_path",
    metavar="MODULE:FACTORY",
    help="Any nn.Module instead of a spec: an import path and a function that returns the "
    "model, e.g. torchvision.models:resnet50 (modules in the current directory are found).",
)


MAX_SEED = 2**63 - 1  # torch's generators take 64-bit seeds

MODELS_OPTION = click.option(
    "--model",
    "model_paths",
    metavar="MODULE:FACTORY",
    multiple=True,
    help="Any nn.Module as well as the specs (repeatable): an import path and a function "
    "that returns it, called with torch seeded by --seed.",
)
DATA_HELP = (
    "digits (scikit-learn's bundled digits, offline), cifar10 (the cache; --download fetches "
    "it), synthetic, or a directory: CIFAR-10's python batches or an ImageFolder."
)


def set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _import_modules(ctx: click.Context, param: click.Parameter, names: tuple[str, ...]) -> None:
    from resnet_inspect.plan.plugins import import_modules

    for name in names:
        try:
            import_modules([name])
        except BaseException as err:  # noqa: BLE001 - the user's module ran and failed
            first = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
            raise UsageError(f"--import {name}: {type(err).__name__}: {first}") from None


IMPORT_OPTION = click.option(
    "--import",
    "imports",
    metavar="MODULE",
    multiple=True,
    expose_value=False,
    is_eager=True,
    callback=_import_modules,
    help="Import this Python module first (repeatable; the current directory is searched), so "
    "that a spec can name the block types and layer kinds it defines (block: "
    "mymodule:MyBlock). A spec never imports code by itself.",
)


def quiet_broken_pipe() -> None:
    """The reader went away (`| head`): send what is left to /dev/null so the interpreter's
    final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def input_dims(value: str | None) -> tuple[tuple[int, ...] | None, int | None]:
    """--input -> (dims, batch from a 4-D shape)."""
    if value is None:
        return None, None
    from resnet_inspect.inputs import parse_input_shape

    try:
        return parse_input_shape(value)
    except UsageError as err:
        raise UsageError(f"--input: {err}") from None


def one_target(target: str | None, model_path: str | None) -> None:
    if (target is None) == (model_path is None):
        raise UsageError("give a spec file or preset name, or --model MODULE:FACTORY (not both)")


def make_report(
    target: str | None, model_path: str | None, options: Options, progress: Any = None
) -> Any:
    """The Report of a spec or preset, or of the nn.Module that --model names, made as
    `options` say."""
    from resnet_inspect import pipeline

    if model_path is None:
        assert target is not None
        return pipeline.summarize(target, options, progress)
    if options.check:
        raise UsageError("--check compares a spec with its model; it needs a spec")
    if options.from_model:
        raise UsageError("--from-model traces a spec's built model; --model is always traced")
    from resnet_inspect.model.factory import load_factory

    return pipeline.analyze(load_factory(model_path), options, model_path, progress)


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on standard error while the block runs, where that is a terminal (a
    pipe or a file gets nothing at all); yields `advance(done, total)`."""
    if not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(transient=True, console=Console(file=sys.stderr)) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def fit_width(stream: Any) -> int | None:
    """The width tables must fit: the terminal's; when piped, COLUMNS if set, else None (every
    column at full width)."""
    if stream.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def print_fitted(make: Any, stream: Any = None) -> None:
    """Print the renderable `make(width)` returns, fitted to the terminal (see _fit_width)."""
    from rich.console import Console

    from resnet_inspect.render import FULL_WIDTH

    stream = stream or sys.stdout
    width = fit_width(stream)
    # crop=False: a line the tables could not fit is left whole, never cut at the edge
    Console(file=stream, width=width or FULL_WIDTH).print(make(width), crop=False)


def emit(data: str | bytes, output: str | None) -> None:
    """Text to standard output, or to -o (any path kind; `-` is standard output)."""
    from resnet_inspect.files import STDOUT, write_output

    if output and output != STDOUT:
        write_output(output, data)
        click.echo(f"wrote {terminal_text(output)}", err=True)
    elif isinstance(data, bytes):
        write_output(STDOUT, data)
    else:
        click.echo(data, nl=False)


def check_output(*paths: str | None) -> None:
    """Refuse an output path that can never be written (a directory…) before any work."""
    from resnet_inspect.files import check_writable

    for path in paths:
        if path:
            check_writable(path)


def batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--batch-size {text!r}: expected sizes like 1,8,32") from None
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_BATCH_SIZE:
        raise UsageError(
            f"--batch-size {text!r}: sizes must be from 1 to {MAX_BATCH_SIZE:,}, e.g. 1,8,32"
        )
    return sizes


def measure_options(
    measure: bool, device: str, batch_size: int, dtype: str
) -> LatencyOptions | None:
    """The latency options of summary/compare --latency (None without it); checks the device
    before any work is done."""
    if not measure:
        return None
    from resnet_inspect.experiments.timing import resolve_device

    resolve_device(device)
    return LatencyOptions(device=device, batch_sizes=(batch_size,), dtype=dtype)


def diagram_format(output: str, fmt: str | None) -> str:
    from resnet_inspect.files import STDOUT

    if fmt is None and output == STDOUT:
        return "svg"
    chosen = fmt or os.path.splitext(output)[1].lstrip(".").lower()
    chosen = "jpg" if chosen == "jpeg" else chosen
    if chosen not in DIAGRAM_FORMATS:
        raise UsageError(
            f"-o {terminal_text(output)}: cannot tell the format from the extension; use "
            f"{', '.join(DIAGRAM_FORMATS)} or --format"
        )
    return chosen


def write_diagram(
    dot: Any, output: str, fmt: str | None, verbose: bool, dpi: int | None = None
) -> None:
    from resnet_inspect.render.diagram import render_dot

    data, renderer = render_dot(dot, diagram_format(output, fmt), dpi=dpi)
    emit(data, output)
    if verbose:
        click.echo(f"rendered by {renderer}", err=True)
