"""A pass's records -> Report sections. The pass over a spec's plan and every analyzer of its
records import no torch; trace.py (any nn.Module on the meta device), latency and fvcore do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resnet_inspect.report import element_bytes

if TYPE_CHECKING:
    import torch


def torch_dtype(name: str) -> torch.dtype:
    """torch's dtype for one of report.DTYPES; a UsageError naming them otherwise."""
    import torch

    element_bytes(name)  # the one check of the name
    dtype = getattr(torch, name)
    assert isinstance(dtype, torch.dtype)
    return dtype
