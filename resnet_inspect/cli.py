"""The command line. The only place that prints, picks exit codes or exits.

torch is imported lazily inside the commands that need it, so `--help`, `validate`, `presets`
and `spec` start fast.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import traceback
from typing import Any

import click

from resnet_inspect.errors import ResnetInspectError, UsageError
from resnet_inspect.render.diagram import FORMATS as DIAGRAM_FORMATS
from resnet_inspect.render.escape import terminal_text
from resnet_inspect.report import DTYPES
from resnet_inspect.spec.schema import MAX_BATCH_SIZE
from resnet_inspect.version import __version__

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


class _Group(click.Group):
    """Catches our errors once: one line per problem on stderr, the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ResnetInspectError as err:
            lines = err.lines()
            for line in lines[:MAX_ERROR_LINES]:
                click.echo(terminal_text(line), err=True)
            if len(lines) > MAX_ERROR_LINES:
                click.echo(f"... and {len(lines) - MAX_ERROR_LINES:,} more problems", err=True)
            ctx.exit(err.exit_code)
        except BrokenPipeError:
            _quiet_broken_pipe()
            ctx.exit(EXIT_BROKEN_PIPE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception:  # a bug: keep the traceback, show one line
            handle, path = tempfile.mkstemp(prefix="resnet-inspect-crash-", suffix=".txt")
            with os.fdopen(handle, "w") as out:
                out.write(f"resnet-inspect {__version__}\nargv: {sys.argv}\n\n")
                out.write(traceback.format_exc())
            kind = sys.exc_info()[0].__name__  # type: ignore[union-attr]
            message = terminal_text(str(sys.exc_info()[1]).splitlines()[0][:200] or kind)
            click.echo(
                f"internal error ({kind}: {message}); this is a bug in resnet-inspect. "
                f"Full traceback saved to {path}",
                err=True,
            )
            ctx.exit(1)


def _quiet_broken_pipe() -> None:
    """The reader went away (`| head`): send what is left to /dev/null so the interpreter's
    final flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _input(value: str | None) -> tuple[tuple[int, ...] | None, int | None]:
    """--input -> (dims, batch from a 4-D shape)."""
    if value is None:
        return None, None
    from resnet_inspect.inputs import parse_input_shape

    try:
        return parse_input_shape(value)
    except UsageError as err:
        raise UsageError(f"--input: {err}") from None


def _one_target(target: str | None, model_path: str | None) -> None:
    if (target is None) == (model_path is None):
        raise UsageError("give a spec file or preset name, or --model MODULE:FACTORY (not both)")


def _report(
    target: str | None,
    model_path: str | None,
    input_text: str | None,
    *,
    batch_size: int | None = None,
    dtype: str = "float32",
    check: bool = False,
    fvcore: bool = False,
    latency: Any = None,
    force: bool = False,
    progress: Any = None,
) -> Any:
    """The Report of a spec or preset, or of the nn.Module that --model names."""
    from resnet_inspect import pipeline

    if model_path is None:
        assert target is not None
        return pipeline.summarize(
            target,
            input_shape=input_text,
            batch_size=batch_size,
            dtype=dtype,
            check=check,
            fvcore=fvcore,
            latency=latency,
            force=force,
            progress=progress,
        )
    if check:
        raise UsageError("--check compares a spec with its model; it needs a spec")
    return pipeline.analyze(
        pipeline.load_factory(model_path),
        input_text or (3, 224, 224),
        batch_size=batch_size,
        dtype=dtype,
        name=model_path,
        fvcore=fvcore,
        latency=latency,
        progress=progress,
    )


def _fit_width(stream: Any) -> int | None:
    """The width tables must fit: the terminal's; when piped, COLUMNS if set, else None (every
    column at full width)."""
    if stream.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def _print(make: Any, stream: Any = None) -> None:
    """Print the renderable `make(width)` returns, fitted to the terminal (see _fit_width)."""
    from rich.console import Console

    from resnet_inspect.render import FULL_WIDTH

    stream = stream or sys.stdout
    width = _fit_width(stream)
    Console(file=stream, width=width or FULL_WIDTH).print(make(width))


def _emit(data: str | bytes, output: str | None) -> None:
    """Text to standard output, or to -o (any path kind; `-` is standard output)."""
    from resnet_inspect.files import STDOUT, write_output

    if output and output != STDOUT:
        write_output(output, data)
        click.echo(f"wrote {terminal_text(output)}", err=True)
    elif isinstance(data, bytes):
        write_output(STDOUT, data)
    else:
        click.echo(data, nl=False)


def _check_output(*paths: str | None) -> None:
    """Refuse an output path that can never be written (a directory…) before any work."""
    from resnet_inspect.files import check_writable

    for path in paths:
        if path:
            check_writable(path)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resnet-inspect")
def cli() -> None:
    """Inspect residual networks described in YAML: shapes, params, MACs, memory.

    TARGET is a spec file (YAML) or a preset name such as resnet50; `resnet-inspect presets`
    lists the presets and `resnet-inspect spec NAME` prints one to start a file from.

    \b
    Exit codes: 0 ok, 1 internal error (traceback saved to a file), 2 bad input or usage
    (including a device this machine lacks), 3 model refused or analysis failed, 5 output
    could not be written, 130 interrupted.
    """


@cli.command()
@click.argument("target", required=False)
@MODEL_OPTION
@click.option(
    "--depth",
    type=click.Choice(DEPTHS),
    default="block",
    show_default=True,
    help="stage: children of the model; block: residual blocks; layer: every leaf.",
)
@INPUT_OPTION
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
    "narrowest drop memory, rf, kernel, type, shape in that order, and a line says so.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Compare the spec's own arithmetic (params, MACs per stage) with the model; "
    "exit 3 on any difference.",
)
@click.option(
    "--fvcore",
    "use_fvcore",
    is_flag=True,
    help="Count FLOPs with fvcore itself on real tensors (slower: builds weights; "
    'pip install "resnet-inspect[fvcore]").',
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
    input_text: str | None,
    batch_size: int | None,
    dtype: str,
    convention: str,
    columns: str | None,
    check: bool,
    use_fvcore: bool,
    measure: bool,
    device: str,
    output_format: str,
    output: str | None,
) -> None:
    """Per-layer table: module path, type, kernel/stride, output shape, params, MACs,
    receptive field, activation memory; stage subtotals; totals.

    Shapes, params, FLOPs, memory and receptive fields come from one pass on torch's meta
    device: no weights or activations are allocated, so any batch size or resolution costs the
    same. MACs are the multiply-adds of convolution and linear weights (the ResNet paper's
    "FLOPs"); FLOPs = 2 x MACs; fvcore flops add batch norm and pooling.
    """
    from resnet_inspect.inputs import resolve_batch
    from resnet_inspect.render.table import parse_columns

    _one_target(target, model_path)
    chosen = parse_columns(columns)
    _check_output(output)
    batch = resolve_batch(_input(input_text)[1], batch_size)
    report = _report(
        target,
        model_path,
        input_text,
        batch_size=batch,
        dtype=dtype,
        check=check,
        fvcore=use_fvcore,
        latency=_measure_options(measure, device, batch, dtype),
    )
    if output_format == "table" and not output:
        from resnet_inspect.render import render_table

        _print(lambda width: render_table(report, depth, convention, chosen, width))
    elif output_format == "table":
        from resnet_inspect.render import render_table, render_text

        _emit(render_text(render_table(report, depth, convention, chosen)), output)
    else:
        from resnet_inspect.render import RENDERERS

        _emit(RENDERERS[output_format](report, depth, convention), output)
    if report.check is not None and not report.check.ok:
        from resnet_inspect.errors import AnalysisError

        raise AnalysisError("the spec's arithmetic and the built model disagree (see the table)")


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--rules",
    is_flag=True,
    help="Also check the plain baseline's design rules on the 3x3 convolutions "
    "(same output size: same filters; size halved: filters doubled). Warnings "
    "only: they do not change the exit code.",
)
def validate(targets: tuple[str, ...], rules: bool) -> None:
    """Check spec files without building anything; report every problem, one line each.

    Problems print as FILE:LINE:COL: key.path: message (hint). Exit code 2 if any.
    """
    from resnet_inspect.errors import SpecError
    from resnet_inspect.spec import load_with_warnings

    lines: list[str] = []
    failed = False
    for target in targets:
        try:
            spec, plan, warnings = load_with_warnings(target, rules=rules)
        except SpecError as err:
            lines += err.lines()
            failed = True
            continue
        lines += [warning.format() for warning in warnings]
        params = sum(layer.params for layer in plan.layers)
        blocks = f"{len(plan.blocks)} block" + ("" if len(plan.blocks) == 1 else "s")
        click.echo(
            terminal_text(f"{target}: ok ({spec.name}: {spec.block}, {blocks}, {params:,} params)")
        )
    for line in lines[:MAX_ERROR_LINES]:
        click.echo(terminal_text(line), err=True)
    if len(lines) > MAX_ERROR_LINES:
        click.echo(f"... and {len(lines) - MAX_ERROR_LINES:,} more problems", err=True)
    if failed:
        sys.exit(2)


@cli.command()
@click.argument("targets", nargs=-1, required=True)
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
    input_text: str | None,
    batch_size: int | None,
    dtype: str,
    baseline: str | None,
    by: str,
    diff: bool,
    diagram_path: str | None,
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
    """
    from resnet_inspect.comparison import compare as compare_targets
    from resnet_inspect.inputs import resolve_batch

    if len(targets) < 2:
        raise UsageError("compare needs two or more specs or presets")
    if diagram_path:
        _diagram_format(diagram_path, None)
    _check_output(output, diagram_path, html_path)
    batch = resolve_batch(_input(input_text)[1], batch_size)
    comparison = compare_targets(
        list(targets),
        input_shape=input_text,
        batch_size=batch,
        dtype=dtype,
        baseline=baseline,
        latency=_measure_options(measure, device, batch, dtype),
        graph=bool(diagram_path or html_path),
    )
    if diagram_path:
        from resnet_inspect.render.diagram import render_diagram

        _emit(render_diagram(comparison, _diagram_format(diagram_path, None)), diagram_path)
    if html_path:
        from resnet_inspect.render.html import render_html

        _emit(render_html(comparison), html_path)
    if output_format == "table" and not output:
        from resnet_inspect.render.compare import render_comparison

        _print(lambda width: render_comparison(comparison, by, diff))
        return
    if output_format == "table":
        from resnet_inspect.render import render_text
        from resnet_inspect.render.compare import render_comparison

        _emit(render_text(render_comparison(comparison, by, diff)), output)
        return
    from resnet_inspect.render.compare import COMPARISON_RENDERERS

    _emit(COMPARISON_RENDERERS[output_format](comparison), output)


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--batch-size {text!r}: expected sizes like 1,8,32") from None
    if not sizes or min(sizes) < 1 or max(sizes) > MAX_BATCH_SIZE:
        raise UsageError(
            f"--batch-size {text!r}: sizes must be from 1 to {MAX_BATCH_SIZE:,}, e.g. 1,8,32"
        )
    return sizes


def _measure_options(measure: bool, device: str, batch_size: int, dtype: str) -> Any:
    """The latency options of summary/compare --latency (None without it); checks the device
    before any work is done."""
    if not measure:
        return None
    from resnet_inspect.analyzers.latency import resolve_device

    resolve_device(device)
    return _latency_options(device, (batch_size,), dtype)


def _latency_options(device: str, batch_sizes: tuple[int, ...], dtype: str, **more: Any) -> Any:
    from resnet_inspect.pipeline import LatencyOptions

    return LatencyOptions(device=device, batch_sizes=batch_sizes, dtype=dtype, **more)


@cli.command()
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
    from rich.console import Console
    from rich.progress import Progress

    _one_target(target, model_path)
    _check_output(output)
    from resnet_inspect.analyzers.latency import resolve_device

    # An unavailable device or impossible option is a one-line error before any work.
    if resolve_device(device).type != "cuda" and cuda_graphs:
        raise UsageError("--cuda-graphs needs --device cuda")
    sizes = _batch_sizes(batch_text)
    if _input(input_text)[1] is not None:
        raise UsageError("--input: give C×H×W here; the batch sizes come from --batch-size")
    options = _latency_options(
        device,
        sizes,
        dtype,
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
    with Progress(
        transient=True, console=Console(file=sys.stderr), disable=not sys.stderr.isatty()
    ) as bar:
        task = bar.add_task(f"measuring on {device}", total=len(options.batch_sizes))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done)

        report = _report(
            target,
            model_path,
            input_text,
            dtype=dtype,
            latency=options,
            force=force,
            progress=advance,
        )
    if output_format == "json":
        from resnet_inspect.render import render_json

        _emit(render_json(report), output)
    else:
        from resnet_inspect.render import render_text
        from resnet_inspect.render.latency import render_latency

        if output:
            _emit(render_text(render_latency(report)), output)
        else:
            _print(lambda width: render_latency(report))
    if report.latency and report.latency.interrupted:
        sys.exit(130)


def _diagram_format(output: str, fmt: str | None) -> str:
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


def _write_diagram(dot: Any, output: str, fmt: str | None, verbose: bool) -> None:
    from resnet_inspect.render.diagram import render_dot

    data, renderer = render_dot(dot, _diagram_format(output, fmt))
    _emit(data, output)
    if verbose:
        click.echo(f"rendered by {renderer}", err=True)


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


@cli.command()
def presets() -> None:
    """List the presets that any command accepts in place of a spec file."""
    from resnet_inspect.spec import load_spec, preset_names

    for name in preset_names():
        click.echo(terminal_text(f"{name:<18} {load_spec(name).description}"))


@cli.command("spec")
@click.argument("name")
@click.option("--as-written", is_flag=True, help="The preset file itself, with its extends: line.")
@OUTPUT_OPTION
def spec_command(name: str, as_written: bool, output: str | None) -> None:
    """Print a preset (or a spec file) as complete YAML, to start a new spec from."""
    from resnet_inspect.spec import load_spec, preset_path
    from resnet_inspect.spec.dump import dump_spec

    path = preset_path(name)
    if as_written and path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        text = dump_spec(load_spec(name))
    _emit(text, output)


def main() -> None:
    try:
        cli(prog_name="resnet-inspect")
    except BrokenPipeError:  # the reader went away while click itself was writing
        _quiet_broken_pipe()
        sys.exit(EXIT_BROKEN_PIPE)
