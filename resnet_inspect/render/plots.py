"""Plots of the experiments, drawn with matplotlib: the Signal Propagation Plot with the
responses and gradients of `signal`, and the training curves of `train` (the ResNet paper's
Figure 4). SVGs keep their text as text in the embedded font (typeface.py), which matplotlib
also lays out with, so what is measured is what a browser draws; PNGs are drawn in the same
font at RASTER_DPI. Nothing is fetched; the files carry no date, so a plot made twice is the
same bytes."""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
import tempfile
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_inspect.errors import RenderError
from resnet_inspect.render.diagram import RASTER_DPI
from resnet_inspect.render.typeface import FAMILY, font_face
from resnet_inspect.report import SignalReport, TrainingRun

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("svg", "png", "pdf")
# One colour per network, distinct in print and for the common colour-vision deficiencies
# (Okabe & Ito), the same network the same colour in every panel.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
_INK = "#222222"


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise RenderError(
            "plots need matplotlib: pip install 'resnet-inspect[experiments]' "
            "(tables, JSON and CSV work without it)"
        ) from None
    matplotlib.use("agg", force=False)
    return matplotlib


@functools.cache
def _font() -> str:
    """Our font, made known to matplotlib (which reads TrueType, not WOFF) from a TrueType
    copy in the temporary directory, named by its contents."""
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    data = resources.files("resnet_inspect.render").joinpath("fonts/sans.woff").read_bytes()
    path = (
        Path(tempfile.gettempdir())
        / f"resnet-inspect-sans-{hashlib.sha1(data).hexdigest()[:12]}.ttf"
    )
    if not path.exists():
        font = TTFont(io.BytesIO(data))
        font.flavor = None
        handle, partial = tempfile.mkstemp(dir=path.parent, suffix=".ttf")
        with os.fdopen(handle, "wb") as out:
            font.save(out)
        os.replace(partial, path)
    font_manager.fontManager.addfont(str(path))
    return FAMILY


def _style() -> dict[str, Any]:
    return {
        "font.family": _font(),
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "xtick.labelsize": 10,
        "ytick.labelsize": 10,
        "legend.fontsize": 11,
        "axes.edgecolor": _INK,
        "axes.labelcolor": _INK,
        "text.color": _INK,
        "xtick.color": _INK,
        "ytick.color": _INK,
        "axes.grid": True,
        "grid.color": "#dddddd",
        "grid.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "svg.fonttype": "none",  # text stays text, drawn in the embedded font
        "svg.hashsalt": "resnet-inspect",  # the same IDs every time
        "pdf.fonttype": 42,
        "axes.unicode_minus": True,
        "mathtext.default": "regular",
    }


def _number(value: float, _position: object = None) -> str:
    """A log axis' tick without TeX: 0.001 … 10,000, then 1e5."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return ""
    exponent = round(exponent)
    if -3 <= exponent < 0:
        return f"{value:.{-exponent}f}"
    if 0 <= exponent <= 4:
        return f"{value:,.0f}"
    return f"1e{exponent}".replace("-", "−")


def _log_axis(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_yscale("log")
    axis.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
    axis.yaxis.set_major_formatter(FuncFormatter(_number))
    axis.yaxis.set_minor_formatter(NullFormatter())


def _value_axis(axis: Any, values: list[float]) -> None:
    """Linear from 0 (the Signal Propagation Plots' axes), or logarithmic where the values
    span more than two decades (an exploding or vanishing signal)."""
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > 100:
        _log_axis(axis)
    else:
        axis.set_ylim(0, max([*values, 0.0]) * 1.08 or 1.0)


def _finite(values: Sequence[float | None]) -> list[float]:
    return [v if v is not None and math.isfinite(v) else math.nan for v in values]


def signal_figure(reports: Sequence[SignalReport]) -> Figure:
    """Plain and residual networks side by side: the Signal Propagation Plot's three figures
    per block (top), each weighted layer's response std and gradient norm, and the ratio of
    the first layer's gradient norm to the last's (bottom). A network without residual adds is
    drawn dashed."""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    if not reports:
        raise RenderError("nothing to plot: no networks")
    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=(13, 8.2), layout="constrained")
        axes = figure.subplots(2, 3)
        panels = (
            ("Average channel squared mean", "avg_sq_channel_mean", "block output"),
            ("Average channel variance", "avg_channel_variance", "block output"),
            ("Residual branch variance", "residual_variance", "before the add"),
        )
        handles = []
        ratios = [r.grad_norm_ratio for r in reports if r.grad_norm_ratio]
        floor = min([1.0, *(ratio / 2 for ratio in ratios)])  # bars rise from 1 (or below)
        for index, report in enumerate(reports):
            colour = COLOURS[index % len(COLOURS)]
            residual = any(block.residual_variance is not None for block in report.blocks)
            style = {
                "color": colour,
                "linestyle": "-" if residual else "--",
                "linewidth": 1.8,
                "marker": "o" if len(report.blocks) <= 40 else None,
                "markersize": 3,
            }
            blocks = list(range(1, len(report.blocks) + 1))
            for axis, (_, key, _) in zip(axes[0], panels, strict=True):
                values = _finite([getattr(block, key) for block in report.blocks])
                if any(math.isfinite(v) for v in values):
                    axis.plot(blocks, values, **style)
            main = [layer for layer in report.layers if layer.main_path]
            depth = list(range(1, len(main) + 1))
            convolutions = [layer for layer in main if layer.type.startswith("Conv")]
            std = _finite([layer.response_std for layer in convolutions])
            axes[1][0].plot(range(1, len(std) + 1), std, **{**style, "marker": None})
            grads = _finite([layer.grad_norm for layer in main])
            (line,) = axes[1][1].plot(depth, grads, **{**style, "marker": None})
            handles.append((line, report.model))
            ratio = report.grad_norm_ratio
            axes[1][2].bar(
                index,
                (ratio - floor) if ratio else math.nan,
                bottom=floor,
                color=colour,
                hatch=None if residual else "//",
                edgecolor="white",
            )
            if ratio:
                axes[1][2].annotate(
                    f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.3g}",
                    (index, ratio),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    fontsize=10,
                )
        for axis, (title, key, where) in zip(axes[0], panels, strict=True):
            axis.set_title(title)
            axis.set_xlabel(f"block ({where})")
            values = [getattr(block, key) for report in reports for block in report.blocks]
            _value_axis(axis, [v for v in values if v is not None and math.isfinite(v)])
        axes[1][0].set_title("Response std after BN (paper's Figure 7)")
        axes[1][0].set_xlabel("convolution on the main path")
        stds = [layer.response_std for report in reports for layer in report.layers]
        _value_axis(axes[1][0], [v for v in stds if v is not None and math.isfinite(v)])
        axes[1][1].set_title("Gradient norm of each layer's weight")
        axes[1][1].set_xlabel("weighted layer on the main path")
        _log_axis(axes[1][1])
        bars = axes[1][2]
        bars.set_title("Gradient norm: first layer / last")
        bars.set_xticks(range(len(reports)), [str(i + 1) for i in range(len(reports))])
        bars.set_xlabel("network (legend order)")
        _log_axis(bars)
        bars.set_ylim(bottom=floor)
        bars.grid(axis="x", visible=False)
        first = reports[0]
        what = "N(0, 1) images" if first.input.get("kind") == "normal" else "images"
        shape = "×".join(str(d) for d in first.input.get("shape", []))
        mode = "training mode" if first.mode == "train" else "evaluation mode"
        figure.suptitle(
            f"Signal and gradient at initialisation: a batch {shape} of {what}, {mode}, "
            f"cross-entropy on random labels (seed {first.input.get('seed')})"
            if first.mode == "train"
            else f"Signal and gradient: a batch {shape} of {what}, {mode}",
            fontsize=12,
        )
        figure.legend(
            [line for line, _ in handles],
            [f"{index + 1}  {name}" for index, (_, name) in enumerate(handles)],
            loc="outside lower center",
            ncols=min(len(handles), 4),
            frameon=False,
        )
    return figure


def training_figure(run: TrainingRun) -> Figure:
    """The ResNet paper's Figure 4: training error (dashed) and test error (bold) per epoch,
    one colour per network; plain networks (no residual add) on the left, residual ones on
    the right where the run has both."""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    if not run.networks:
        raise RenderError("nothing to plot: no networks")
    groups = [
        [n for n in run.networks if not n.residual],
        [n for n in run.networks if n.residual],
    ]
    groups = [group for group in groups if group]
    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=(6.2 * len(groups), 5.2), layout="constrained")
        axes = figure.subplots(1, len(groups), squeeze=False)[0]
        colour_of = {n.name: COLOURS[i % len(COLOURS)] for i, n in enumerate(run.networks)}
        top = 0.0
        for axis, group in zip(axes, groups, strict=True):
            for net in group:
                epochs = [e.epoch for e in net.epochs]
                train = [100 * e.train_error for e in net.epochs]
                test = [
                    100 * e.test_error if e.test_error is not None else math.nan for e in net.epochs
                ]
                top = max([top, *train, *(t for t in test if math.isfinite(t))])
                colour = colour_of[net.name]
                axis.plot(epochs, train, color=colour, linestyle="--", linewidth=1.2)
                axis.plot(epochs, test, color=colour, linewidth=2.4, label=net.name)
            axis.set_title("plain networks" if not group[0].residual else "residual networks")
            axis.set_xlabel("epoch")
            axis.set_ylabel("error (%)")
            axis.legend(loc="upper right", frameon=False)
        for axis in axes:
            axis.set_ylim(0, min(100, max(5.0, top * 1.08)))
        figure.suptitle(f"{run.data}: training error (dashed) and test error (bold)", fontsize=12)
    return figure


def response_figure(reports: Sequence[SignalReport], title: str) -> Figure:
    """The ResNet paper's Figure 7: the standard deviation of each convolution's response
    (after its BN, before the ReLU) on the main path, in the network's order (top) and sorted
    by magnitude (bottom), one colour per network, plain networks dashed."""
    matplotlib = _matplotlib()
    from matplotlib.figure import Figure

    if not reports:
        raise RenderError("nothing to plot: no networks")
    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=(9, 7.4), layout="constrained")
        top, bottom = figure.subplots(2, 1)
        values = []
        for index, report in enumerate(reports):
            residual = any(block.residual_variance is not None for block in report.blocks)
            stds = _finite(
                [
                    layer.response_std
                    for layer in report.layers
                    if layer.main_path and layer.type.startswith("Conv")
                ]
            )
            values += [v for v in stds if math.isfinite(v)]
            style = {
                "color": COLOURS[index % len(COLOURS)],
                "linestyle": "-" if residual else "--",
                "linewidth": 1.6,
            }
            layers = range(1, len(stds) + 1)
            top.plot(layers, stds, label=report.model, **style)
            bottom.plot(layers, sorted(stds, reverse=True), **style)
        top.set_xlabel("layer index (original)")
        bottom.set_xlabel("layer index (sorted by magnitude)")
        for axis in (top, bottom):
            axis.set_ylabel("std")
            _value_axis(axis, values)
        top.legend(loc="upper right", frameon=False, ncols=2)
        figure.suptitle(title, fontsize=12)
    return figure


def figure_bytes(figure: Figure, fmt: str, dpi: int | None = None) -> bytes:
    """The figure as SVG (text in the embedded font), PNG or PDF, with no date in it."""
    if fmt not in FORMATS:
        raise RenderError(f"unknown plot format {fmt!r}; use {', '.join(FORMATS)}")
    matplotlib = _matplotlib()
    out = io.BytesIO()
    metadata: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt, {})
    with matplotlib.rc_context(_style()):
        figure.savefig(out, format=fmt, dpi=dpi or RASTER_DPI, metadata=metadata, facecolor="white")
    data = out.getvalue()
    if fmt == "svg":
        text = data.decode("utf-8")
        start = text.index(">", text.index("<svg")) + 1
        text = text[:start] + font_face() + text[start:]
        text = text.replace(f"font-family: '{FAMILY}'", f"font-family: '{FAMILY}', sans-serif")
        data = text.encode("utf-8")
    return data


def render_signal_plot(reports: Sequence[SignalReport], fmt: str = "svg") -> bytes:
    return figure_bytes(signal_figure(reports), fmt)


def render_response_plot(reports: Sequence[SignalReport], title: str, fmt: str = "svg") -> bytes:
    return figure_bytes(response_figure(reports, title), fmt)


def render_training_plot(run: TrainingRun, fmt: str = "svg") -> bytes:
    return figure_bytes(training_figure(run), fmt)


__all__ = [
    "COLOURS",
    "FORMATS",
    "figure_bytes",
    "response_figure",
    "render_response_plot",
    "render_signal_plot",
    "render_training_plot",
    "signal_figure",
    "training_figure",
]
