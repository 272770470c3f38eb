"""resnet-inspect: a YAML description of a residual network -> a real PyTorch model and its costs.

The public API. torch is imported only when a function that needs it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from resnet_inspect.errors import (
    AnalysisError,
    BuildError,
    DeviceError,
    RenderError,
    ResnetInspectError,
    SpecError,
)
from resnet_inspect.spec import Spec, load_spec, preset_names

__version__ = "0.1.0"

if TYPE_CHECKING:
    from torch import nn

    from resnet_inspect.report import Report


def build_model(
    target: Any, *, seed: int = 0, device: Any = "cpu", force: bool = False
) -> nn.Module:
    """Build the torch model a spec, spec file or preset describes (see build.network)."""
    from resnet_inspect.build import build_model as _build

    return _build(target, seed=seed, device=device, force=force)


def summarize(target: Any, *, input_shape: Any = None, batch_size: int = 1) -> Report:
    """The summary Report of a spec, spec file or preset (see pipeline.summarize)."""
    from resnet_inspect.pipeline import summarize as _summarize

    return _summarize(target, input_shape=input_shape, batch_size=batch_size)


__all__ = [
    "AnalysisError",
    "BuildError",
    "DeviceError",
    "RenderError",
    "ResnetInspectError",
    "Spec",
    "SpecError",
    "__version__",
    "build_model",
    "load_spec",
    "preset_names",
    "summarize",
]
