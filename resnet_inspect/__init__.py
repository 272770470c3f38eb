"""resnet-inspect: a YAML description of a residual network -> a real PyTorch model and its costs.

The public API: everything the command line does is a call here. torch, rich and graphviz are
imported only when a function that needs them is called.

    import resnet_inspect as ri
    report = ri.summarize("resnet50", input_shape="3x224x224")  # a Report (shows itself)
    report.totals.params, report.totals.macs                   # 25557032, 4089184256
    ri.render_table(report)                                    # the summary table (rich)
    ri.render_diagram(report, "svg")                           # the drawing, as bytes
    ri.render_html(report)                                     # the self-contained page
    ri.compare(["bottleneck", "plain"])                        # a Comparison
    ri.analyze(my_model, (1, 3, 224, 224))                     # any nn.Module
    ri.signal("cifar_plain56")                                 # why it does not train
    ri.train(["cifar_plain56", "cifar_resnet56"], "digits", "runs/digits")
"""

from __future__ import annotations

import typing as _typing

from resnet_inspect.errors import (
    AnalysisError,
    BuildError,
    DeviceError,
    RenderError,
    ResnetInspectError,
    SpecError,
    UsageError,
)
from resnet_inspect.options import LatencyOptions, Options
from resnet_inspect.plan import Block, BlockOption, LayerKind
from resnet_inspect.report import Comparison, Report, SignalReport, TrainingRun
from resnet_inspect.spec import Spec, load_spec, preset_names
from resnet_inspect.version import __version__

if _typing.TYPE_CHECKING:
    from collections.abc import Sequence

    from torch import nn

    from resnet_inspect.experiments.training import Recipe
    from resnet_inspect.render.comparison_table import render_comparison
    from resnet_inspect.render.diagram import render_diagram
    from resnet_inspect.render.html import render_html
    from resnet_inspect.render.plots import render_signal_plot, render_training_plot
    from resnet_inspect.render.table import render_table

# Functions whose modules import torch, rich or graphviz: loaded on first use.
_LAZY = {
    "render_comparison": "resnet_inspect.render.comparison_table",
    "render_diagram": "resnet_inspect.render.diagram",
    "render_html": "resnet_inspect.render.html",
    "render_table": "resnet_inspect.render.table",
    "render_signal_plot": "resnet_inspect.render.plots",
    "render_training_plot": "resnet_inspect.render.plots",
    "Recipe": "resnet_inspect.experiments.training",
}

Shape = _typing.Union[str, "Sequence[int]"]


def build_model(
    target: str | Spec, *, seed: int = 0, device: str = "cpu", force: bool = False
) -> nn.Module:
    """The torch model a spec, spec file or preset name describes, with torchvision's
    state_dict names and initialisation from `seed` (the global random state is untouched).
    A model whose weights need more than half the machine's memory raises BuildError unless
    `force`."""
    from resnet_inspect.model import build_model as _build

    return _build(target, seed=seed, device=device, force=force)


def summarize(target: str | Spec, options: Options | None = None, **changes: _typing.Any) -> Report:
    """The Report of a spec, spec file or preset name, from one pass over its planned layers
    through the block types' forward code (no torch; no weights or activations are allocated).

    The settings are an Options (`options`) and any of its fields as keywords, which win:
    `input_shape` ("3x224x224", (3, 224, 224), "224x224" for the spec's channels, or a 4-D
    shape whose first number is the batch; default the spec's input), `batch_size` (default 1),
    `dtype` ("float32", "bfloat16" or "float16": byte sizes), `check` (the spec's closed-form
    arithmetic beside the model's counts), `fvcore` (count FLOPs with fvcore itself; slower),
    `graph` (keep the data-flow graph, for render_diagram, render_html and html(diagram=True)),
    `from_model` (build the nn.Module on torch's meta device and trace it instead: slower, the
    same report, as a test holds every preset to), `latency` (a LatencyOptions). Raises
    SpecError (every problem, located) or UsageError."""
    from resnet_inspect.pipeline import summarize as _summarize

    return _summarize(target, _options(options, changes))


def analyze(
    model: nn.Module,
    input_shape: Shape = (3, 224, 224),
    options: Options | None = None,
    **changes: _typing.Any,
) -> Report:
    """The Report of any nn.Module, which is left unchanged (the analysis runs on a meta-device
    copy). `input_shape` as for summarize: (3, 224, 224), "3x224x224" or (1, 3, 224, 224);
    the other settings as for summarize (`batch_size`, `dtype`, `fvcore`, `graph`, `latency`)."""
    from resnet_inspect.pipeline import analyze as _analyze

    return _analyze(model, _options(options, {"input_shape": input_shape, **changes}))


def compare(
    targets: list[_typing.Any],
    options: Options | None = None,
    baseline: str | None = None,
    **changes: _typing.Any,
) -> Comparison:
    """Two or more specs, spec files, presets or nn.Modules (or (name, nn.Module) pairs) side
    by side, with what differs from the baseline (the first, or the item whose name or target
    is `baseline`); the settings as for summarize, the same for every item."""
    from resnet_inspect.comparison import compare as _compare

    return _compare(targets, _options(options, changes), baseline)


def signal(
    target: str | Spec | nn.Module,
    inputs: _typing.Any = None,
    labels: _typing.Any = None,
    **settings: _typing.Any,
) -> SignalReport:
    """How signal and gradient propagate through a spec, preset or nn.Module (a copy is
    measured) at initialisation: one forward and backward in training mode on `inputs` (a
    tensor N×C×H×W; default a batch of `batch_size` = 64 N(0, 1) images of `input_shape`, the
    spec's, drawn from `seed`), cross-entropy on `labels` (default random, from `seed`). Per
    block the Signal Propagation Plot's figures, per weighted layer the response std (the
    paper's Figure 7) and the gradient norm, and the first/last gradient-norm ratio. Settings:
    seed, batch_size, input_shape, device, mode ("train" or "eval"), model_path."""
    from resnet_inspect.experiments.signal import signal as _signal

    return _signal(target, inputs=inputs, labels=labels, **settings)


def train(
    targets: _typing.Sequence[str | nn.Module],
    data: str = "digits",
    run_dir: str | None = None,
    recipe: Recipe | None = None,
    **settings: _typing.Any,
) -> TrainingRun:
    """Train each network on the same data in the same order by `recipe` (a Recipe: the ResNet
    paper's CIFAR-10 recipe by default): "digits", "cifar10", "synthetic" or a CIFAR-10 or
    ImageFolder directory. With `run_dir` everything is kept there, checkpointed each epoch,
    and `resume=True` continues it. Settings: resume, progress, image_size, download."""
    from resnet_inspect.experiments.training import train as _train

    return _train(targets, data, run_dir, recipe, **settings)


def _options(options: Options | None, changes: dict[str, _typing.Any]) -> Options:
    """`options` with the keyword changes; a keyword that is not a setting is a TypeError."""
    import dataclasses

    return dataclasses.replace(options or Options(), **changes)


__all__ = [
    "AnalysisError",
    "Block",
    "BlockOption",
    "BuildError",
    "Comparison",
    "DeviceError",
    "LatencyOptions",
    "LayerKind",
    "Options",
    "Recipe",
    "RenderError",
    "Report",
    "ResnetInspectError",
    "SignalReport",
    "Spec",
    "SpecError",
    "TrainingRun",
    "UsageError",
    "__version__",
    "analyze",
    "build_model",
    "compare",
    "load_spec",
    "preset_names",
    "render_comparison",
    "render_diagram",
    "render_html",
    "render_signal_plot",
    "render_table",
    "render_training_plot",
    "signal",
    "summarize",
    "train",
]


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'resnet_inspect' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
