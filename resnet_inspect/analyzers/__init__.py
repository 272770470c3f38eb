"""(nn.Module, input shape) -> Report sections, from one pass on the meta device."""

from __future__ import annotations

import torch

from resnet_inspect.errors import UsageError
from resnet_inspect.report import DTYPES


def torch_dtype(name: str) -> torch.dtype:
    """torch's dtype for one of report.DTYPES; a UsageError naming them otherwise."""
    if name not in DTYPES:
        raise UsageError(f"unknown dtype {name!r}; choose one of {', '.join(DTYPES)}")
    dtype = getattr(torch, name)
    assert isinstance(dtype, torch.dtype)
    return dtype
