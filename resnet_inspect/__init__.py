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


def summarize(
    target: Any,
    *,
    input_shape: Any = None,
    batch_size: int = 1,
    dtype: str = "float32",
    check: bool = False,
    fvcore: bool = False,
) -> Report:
    """The Report of a spec, spec file or preset (see pipeline.summarize)."""
    from resnet_inspect.pipeline import summarize as _summarize

    return _summarize(
        target,
        input_shape=input_shape,
        batch_size=batch_size,
        dtype=dtype,
        check=check,
        fvcore=fvcore,
    )


def analyze(
    model: nn.Module,
    input_shape: Any,
    *,
    batch_size: int = 1,
    dtype: str = "float32",
    fvcore: bool = False,
) -> Report:
    """The Report of any nn.Module; the model itself is left unchanged (see pipeline.analyze)."""
    from resnet_inspect.pipeline import analyze as _analyze

    return _analyze(model, tuple(input_shape), batch_size=batch_size, dtype=dtype, fvcore=fvcore)


__all__ = [
    "AnalysisError",
    "BuildError",
    "DeviceError",
    "RenderError",
    "ResnetInspectError",
    "Spec",
    "SpecError",
    "__version__",
    "analyze",
    "build_model",
    "load_spec",
    "preset_names",
    "summarize",
]
