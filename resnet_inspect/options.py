"""How a report is made: one home for the settings that summarize, analyze, compare and the
command line share (no torch). Each field's name is the keyword argument's and the JSON's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LatencyOptions:
    """How latency is measured (experiments/timing.py): the device, batch sizes and dtype, the
    compiler settings, warm-up and timed iterations, threads, a per-module breakdown, and the
    device's peak TFLOP/s where it is not known."""

    device: str = "cpu"
    batch_sizes: tuple[int, ...] = (1,)
    dtype: str = "float32"
    channels_last: bool = False
    compile_mode: str | None = None  # None: eager; else a torch.compile mode
    cuda_graphs: bool = False
    warmup: int = 5
    iters: int = 20
    min_time_s: float = 0.0
    threads: int | None = None
    breakdown: bool = False
    peak_tflops: float | None = None


@dataclass(frozen=True)
class Options:
    """The settings of a report.

    `input_shape`: [C, H, W], [H, W] to keep the spec's channels, or [N, C, H, W] (the batch
    then comes from it), as a sequence or text such as "3x224x224"; a channels-last shape is
    refused with a hint; for any nn.Module also its several, named or typed inputs (a tensor,
    a tuple of tensors or shapes, a dict of name -> tensor, shape or "1x128:int64", a list of
    inputs.InputSpec: each shape whole, batch first). `batch_size`: default 1. `dtype`:
    "float32", "bfloat16" or "float16"
    (byte sizes; latency runs in it). `check`: add the spec's closed-form arithmetic beside
    the model's counts. `fvcore`: count FLOPs with fvcore itself on real tensors (slower: it
    builds the weights). `graph`: keep the data-flow graph that diagrams and pages draw (it is
    most of the JSON). `from_model`: build the spec's nn.Module on torch's meta device and trace
    it instead of running the plan's pass (slower; the same report). `latency`: measure on a
    device. `force`: build a model larger than half the machine's memory for latency."""

    input_shape: str | Sequence[Any] | Mapping[str, Any] | Any | None = None
    batch_size: int | None = None
    dtype: str = "float32"
    check: bool = False
    fvcore: bool = False
    graph: bool = False
    from_model: bool = False
    latency: LatencyOptions | None = None
    force: bool = False


__all__ = ["LatencyOptions", "Options"]
