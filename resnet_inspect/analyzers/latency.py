"""Measured latency and throughput on a chosen device, with the care of a benchmark harness.

* Timing: on CUDA, a pair of CUDA events around each iteration, read after synchronising (no
  host-only timing of asynchronous work); on CPU, perf_counter around each (synchronous) call;
  on MPS, perf_counter after torch.mps.synchronize().
* torch.inference_mode, the model in eval mode, a fixed seed for weights and input.
* Warm-up iterations first (and torch.compile's compilation, which happens in the first call),
  then `iters` timed iterations, or more until `min_time_s` has passed.
* Statistics: median, p10, p90, mean, coefficient of variation; images/s from the median;
  achieved TFLOP/s from the counted MACs (2 FLOPs per multiply-add); the fraction of the
  device's dense peak where it is known.
* Failures are data: running out of memory at one batch size becomes that row's error and the
  sweep goes on. KeyboardInterrupt stops the sweep; the rows measured so far are kept.
* Breakdown: CUDA events (or perf_counter after a synchronise, off CUDA) recorded by forward
  pre/post hooks on the model's top-level children. The events add no synchronisation on CUDA,
  but the hooks add Python work between children, and the breakdown runs eager (no
  torch.compile, no CUDA graphs); the time not inside any child (e.g. flatten) is reported as
  `other`.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from resnet_inspect.errors import AnalysisError, DeviceError, UsageError

# Dense peak TFLOP/s (no sparsity) by device-name fragment, for bfloat16/float16 and float32
# (TF32 tensor cores where the card has them), from the vendors' data sheets.
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "H200": {"bfloat16": 989.0, "float16": 989.0, "float32": 494.5},
    "H100": {"bfloat16": 989.0, "float16": 989.0, "float32": 494.5},
    "A100": {"bfloat16": 312.0, "float16": 312.0, "float32": 156.0},
    "L40S": {"bfloat16": 362.0, "float16": 362.0, "float32": 183.0},
    "L4": {"bfloat16": 121.0, "float16": 121.0, "float32": 60.0},
    "A10": {"bfloat16": 125.0, "float16": 125.0, "float32": 62.5},
    "V100": {"float16": 125.0, "float32": 15.7},
    "T4": {"float16": 65.0, "float32": 8.1},
    "RTX 4090": {"bfloat16": 165.2, "float16": 165.2, "float32": 82.6},
}
CV_WARNING = 0.05
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class LatencyOptions:
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


def resolve_device(name: str) -> torch.device:
    """The torch device, or a DeviceError (exit code 2) saying why it cannot be used."""
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise DeviceError(f"--device {name!r}: {err}") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                f"--device {name}: CUDA is not available on this machine "
                f"(torch {torch.__version__} sees no GPU)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(
                f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
        return device
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise DeviceError(f"--device {name}: MPS (Apple GPU) is not available here")
        return device
    raise DeviceError(f"--device {name}: use cpu, cuda, cuda:N or mps")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    import platform

    return platform.processor() or platform.machine() or "CPU"


def peak_for(name: str, dtype: str, override: float | None) -> float | None:
    if override:
        return override
    for fragment, peaks in PEAK_TFLOPS.items():
        if fragment in name:
            return peaks.get(dtype)
    return None


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def statistics_ms(
    samples_s: list[float], batch_size: int, macs_per_image: int, peak: float | None
) -> dict[str, Any]:
    samples = [s * 1000 for s in samples_s]
    median = statistics.median(samples)
    mean = statistics.fmean(samples)
    cv = statistics.pstdev(samples) / mean if mean else 0.0
    tflops = 2 * macs_per_image * batch_size / (median / 1000) / 1e12
    return {
        "batch_size": batch_size,
        "median_ms": median,
        "p10_ms": _percentile(samples, 0.10),
        "p90_ms": _percentile(samples, 0.90),
        "mean_ms": mean,
        "cv": cv,
        "images_per_s": batch_size / (median / 1000),
        "tflops": tflops,
        "peak_fraction": tflops / peak if peak else None,
        "samples": len(samples),
        "error": None,
    }


class _Timer:
    """Times one call of `fn` on the device, correctly for asynchronous CUDA work."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    def time(self, fn: Callable[[], Any]) -> float:
        if self.device.type == "cuda":
            start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            start.record()
            fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000
        self.sync()
        begin = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - begin


def _is_oom(err: BaseException) -> bool:
    if isinstance(err, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "not enough memory" in text
    )


def _prepare(model: nn.Module, device: torch.device, options: LatencyOptions) -> nn.Module:
    model = model.to(device=device, dtype=DTYPES[options.dtype]).eval()
    if options.channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return model


def _runner(model: nn.Module, x: torch.Tensor, options: LatencyOptions) -> Callable[[], Any]:
    """The callable that is timed: eager, compiled, or a replayed CUDA graph."""
    forward: Callable[[torch.Tensor], Any] = model
    if options.compile_mode is not None:
        forward = torch.compile(model, mode=options.compile_mode)
    if not options.cuda_graphs:
        return lambda: forward(x)
    if x.device.type != "cuda":
        raise UsageError("--cuda-graphs needs --device cuda")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):  # warm up on a side stream before capture, as the CUDA docs ask
            forward(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        forward(x)
    return graph.replay


def _measure_one(run: Callable[[], Any], timer: _Timer, options: LatencyOptions) -> list[float]:
    for _ in range(options.warmup):
        run()
    timer.sync()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < options.iters or time.perf_counter() - started < options.min_time_s:
        samples.append(timer.time(run))
    return samples


def _breakdown(
    model: nn.Module, x: torch.Tensor, timer: _Timer, iters: int
) -> list[dict[str, Any]]:
    children = list(model.named_children())
    marks: list[tuple[str, str, Any]] = []
    on_cuda = x.device.type == "cuda"

    def mark(name: str, when: str) -> Callable[..., None]:
        def hook(*_: Any) -> None:
            if on_cuda:
                event = torch.cuda.Event(enable_timing=True)
                event.record()
                marks.append((name, when, event))
            else:
                timer.sync()
                marks.append((name, when, time.perf_counter()))

        return hook

    handles = []
    for name, child in children:
        handles.append(child.register_forward_pre_hook(mark(name, "start")))
        handles.append(child.register_forward_hook(mark(name, "end")))
    totals: dict[str, float] = {name: 0.0 for name, _ in children}
    whole = 0.0
    try:
        for _ in range(iters):
            marks.clear()
            whole += timer.time(lambda: model(x))
            starts: dict[str, Any] = {}
            for name, when, stamp in marks:
                if when == "start":
                    starts[name] = stamp
                elif on_cuda:
                    totals[name] += starts[name].elapsed_time(stamp) / 1000
                else:
                    totals[name] += stamp - starts[name]
    finally:
        for handle in handles:
            handle.remove()
    rows: list[dict[str, Any]] = [
        {"name": name, "ms": 1000 * seconds / iters} for name, seconds in totals.items()
    ]
    parts = sum(float(row["ms"]) for row in rows)
    whole_ms = 1000 * whole / iters
    rows.append({"name": "other", "ms": whole_ms - parts})
    rows.append({"name": "whole model", "ms": whole_ms})
    return rows


def measure_latency(
    make_model: Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    macs_per_image: int,
    options: LatencyOptions,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The `latency` section. `make_model` builds a fresh CPU model (real weights);
    `progress(done, total)` is called after each batch size."""
    device = resolve_device(options.device)
    if options.cuda_graphs and device.type != "cuda":
        raise UsageError("--cuda-graphs needs --device cuda")
    previous_threads = torch.get_num_threads()
    if options.threads:
        torch.set_num_threads(options.threads)
    name = device_name(device)
    peak = peak_for(name, options.dtype, options.peak_tflops)
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    breakdown: list[dict[str, Any]] | None = None
    interrupted = False
    timer = _Timer(device)
    try:
        model = _prepare(make_model(), device, options)
        generator = torch.Generator().manual_seed(0)
        for done, batch in enumerate(options.batch_sizes, start=1):
            try:
                x = torch.randn((batch, *input_shape), generator=generator)
                x = x.to(device=device, dtype=DTYPES[options.dtype])
                if options.channels_last and x.dim() == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.inference_mode():
                    samples = _measure_one(_runner(model, x, options), timer, options)
                    if options.breakdown and breakdown is None:
                        breakdown = _breakdown(model, x, timer, max(options.iters, 5))
                row = statistics_ms(samples, batch, macs_per_image, peak)
                if row["cv"] > CV_WARNING:
                    warnings.append(
                        f"batch {batch}: coefficient of variation {row['cv']:.1%} "
                        f"is above {CV_WARNING:.0%}; the machine may be busy"
                    )
            except KeyboardInterrupt:
                interrupted = True
                break
            except Exception as err:
                if not _is_oom(err):
                    raise AnalysisError(f"batch {batch} on {device}: {err}") from err
                rows.append({"batch_size": batch, "error": "out of memory"})
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            else:
                rows.append(row)
            if progress is not None:
                progress(done, len(options.batch_sizes))
    finally:
        torch.set_num_threads(previous_threads)
    return {
        "device": str(device),
        "device_name": name,
        "dtype": options.dtype,
        "channels_last": options.channels_last,
        "compile_mode": options.compile_mode,
        "cuda_graphs": options.cuda_graphs,
        "threads": options.threads or previous_threads,
        "warmup": options.warmup,
        "iters": options.iters,
        "min_time_s": options.min_time_s,
        "peak_tflops": peak,
        "timing": "CUDA events" if device.type == "cuda" else "perf_counter (synchronous)",
        "rows": rows,
        "breakdown": breakdown,
        "warnings": warnings,
        "interrupted": interrupted,
        "torch": torch.__version__,
    }
