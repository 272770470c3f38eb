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

import difflib
import math
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from resnet_inspect.analyzers import torch_dtype
from resnet_inspect.errors import AnalysisError, DeviceError, UsageError
from resnet_inspect.inputs import InputSpec
from resnet_inspect.options import LatencyOptions
from resnet_inspect.report import LatencySection

if TYPE_CHECKING:
    import torch
    from torch import nn

# Dense peak TFLOP/s (no sparsity) for bfloat16/float16 and float32 (TF32 tensor cores where
# the card has them), from the vendors' data sheets, keyed by the exact name that
# torch.cuda.get_device_name() reports: an H100 PCIe is not an H100 SXM, an L40 not an L4.
_HOPPER_SXM = {"bfloat16": 989.0, "float16": 989.0, "float32": 494.5}
_A100 = {"bfloat16": 312.0, "float16": 312.0, "float32": 156.0}
_V100_SXM = {"float16": 125.0, "float32": 15.7}
PEAK_TFLOPS: dict[str, dict[str, float]] = {
    "NVIDIA H200": _HOPPER_SXM,
    "NVIDIA H100 80GB HBM3": _HOPPER_SXM,
    "NVIDIA H100 PCIe": {"bfloat16": 756.0, "float16": 756.0, "float32": 378.0},
    "NVIDIA A100-SXM4-80GB": _A100,
    "NVIDIA A100-SXM4-40GB": _A100,
    "NVIDIA A100-PCIE-40GB": _A100,
    "NVIDIA A100 80GB PCIe": _A100,
    "NVIDIA L40S": {"bfloat16": 362.0, "float16": 362.0, "float32": 183.0},
    "NVIDIA L40": {"bfloat16": 181.0, "float16": 181.0, "float32": 90.5},
    "NVIDIA L4": {"bfloat16": 121.0, "float16": 121.0, "float32": 60.0},
    "NVIDIA A10": {"bfloat16": 125.0, "float16": 125.0, "float32": 62.5},
    "Tesla V100-SXM2-16GB": _V100_SXM,
    "Tesla V100-SXM2-32GB": _V100_SXM,
    "Tesla V100-PCIE-16GB": {"float16": 112.0, "float32": 14.0},
    "Tesla V100-PCIE-32GB": {"float16": 112.0, "float32": 14.0},
    "Tesla T4": {"float16": 65.0, "float32": 8.1},
    "NVIDIA GeForce RTX 4090": {"bfloat16": 165.2, "float16": 165.2, "float32": 82.6},
}
DEVICES = ("cpu", "cuda", "cuda:N", "mps")
_DEVICE_NAME = re.compile(r"(cpu|cuda|mps)(:\d+)?")
CV_WARNING = 0.05


def resolve_device(name: str) -> torch.device:
    """The torch device, or a DeviceError (exit code 2) saying why it cannot be used. Answers
    at once where CUDA cannot be there (a CPU-only torch, no NVIDIA driver)."""
    import torch

    if not _DEVICE_NAME.fullmatch(name):
        close = difflib.get_close_matches(name.lower(), ["cpu", "cuda", "mps"], n=1, cutoff=0.3)
        guess = {"gpu": "cuda", "nvidia": "cuda", "apple": "mps"}.get(name.lower())
        hint = f"; did you mean {guess or close[0]!r}?" if guess or close else ""
        raise DeviceError(f"--device {name!r}: use {', '.join(DEVICES)}{hint}")
    device = torch.device(name)
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.backends.cuda.is_built():
            raise DeviceError(
                f"--device {name}: this torch ({torch.__version__}) is a CPU-only build"
            )
        if sys.platform.startswith("linux") and not os.path.exists("/dev/nvidiactl"):
            raise DeviceError(f"--device {name}: no NVIDIA GPU driver on this machine")
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
    if not torch.backends.mps.is_available():
        raise DeviceError(f"--device {name}: MPS (Apple GPU) is not available here")
    return device


def device_name(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return cpu_name()


def cpu_name() -> str:
    """The processor's model name ("AMD EPYC 7B13"), not only its architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        try:
            brand = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            brand = ""
        if brand:
            return brand
    return platform.processor() or platform.machine() or "CPU"


def peak_for(name: str, dtype: str, override: float | None) -> float | None:
    """The dense peak of the device whose exact product name is `name` (None if unknown)."""
    if override:
        return override
    peaks = {key.lower(): value for key, value in PEAK_TFLOPS.items()}.get(name.strip().lower())
    return peaks.get(dtype) if peaks else None


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
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        elif self.device.type == "mps":
            torch.mps.synchronize()

    def time(self, fn: Callable[[], Any]) -> float:
        import torch

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
    import torch

    if isinstance(err, (MemoryError, torch.cuda.OutOfMemoryError)):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "out of memory" in text or "not enough memory" in text
    )


def _prepare(model: nn.Module, device: torch.device, options: LatencyOptions) -> nn.Module:
    import torch

    model = model.to(device=device, dtype=torch_dtype(options.dtype)).eval()
    if options.channels_last:
        # (the stubs of some torch releases lack this overload of Module.to)
        to: Any = model.to
        model = to(memory_format=torch.channels_last)
    return model


Inputs = tuple[tuple[Any, ...], dict[str, Any]]  # a forward's positional and keyword inputs


def _runner(model: nn.Module, inputs: Inputs, options: LatencyOptions) -> Callable[[], Any]:
    """The callable that is timed: eager, compiled, or a replayed CUDA graph."""
    import torch

    args, kwargs = inputs
    forward: Callable[..., Any] = model
    if options.compile_mode is not None:
        forward = torch.compile(model, mode=options.compile_mode)
    if not options.cuda_graphs:
        return lambda: forward(*args, **kwargs)
    if _device_of(inputs).type != "cuda":
        raise UsageError("--cuda-graphs needs --device cuda")
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):  # warm up on a side stream before capture, as the CUDA docs ask
            forward(*args, **kwargs)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        forward(*args, **kwargs)
    return graph.replay


def _device_of(inputs: Inputs) -> torch.device:
    args, kwargs = inputs
    return next(iter([*args, *kwargs.values()])).device


def real_inputs(
    specs: Sequence[InputSpec], batch: int, device: torch.device, dtype: str, generator: Any
) -> Inputs:
    """Real tensors for a model's given inputs at `batch` (their first dimension): N(0, 1) in
    the timed dtype where floating point, zeros for integers (valid token ids), ones for a
    boolean mask."""
    import torch

    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for spec in specs:
        shape = (batch, *spec.shape[1:])
        kind = getattr(torch, spec.dtype) if spec.dtype else torch_dtype(dtype)
        if kind.is_floating_point:
            tensor = torch.randn(shape, generator=generator).to(device=device, dtype=kind)
        elif kind is torch.bool:
            tensor = torch.ones(shape, dtype=kind, device=device)
        else:
            tensor = torch.zeros(shape, dtype=kind, device=device)
        if spec.name:
            kwargs[spec.name] = tensor
        else:
            args.append(tensor)
    return tuple(args), kwargs


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
    model: nn.Module, inputs: Inputs, timer: _Timer, options: LatencyOptions
) -> list[dict[str, Any]]:
    """Per top-level module, timed as the table times the whole model: the same timer, the
    same number of iterations (at least `iters`, and `min_time_s`) after the same warm-up. The
    iteration whose whole is the median is split by module; `other` is the time between
    modules (e.g. flatten); `whole model` is that median."""
    import torch

    children = list(model.named_children())
    marks: list[tuple[str, str, Any]] = []
    on_cuda = _device_of(inputs).type == "cuda"
    args, kwargs = inputs

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
    parts: dict[str, list[float]] = {name: [] for name, _ in children}
    wholes: list[float] = []
    try:
        for _ in range(options.warmup):
            model(*args, **kwargs)
        timer.sync()
        started = time.perf_counter()
        while len(wholes) < options.iters or time.perf_counter() - started < options.min_time_s:
            marks.clear()
            wholes.append(timer.time(lambda: model(*args, **kwargs)))
            starts: dict[str, Any] = {}
            spent = dict.fromkeys(parts, 0.0)
            for name, when, stamp in marks:
                if when == "start":
                    starts[name] = stamp
                elif on_cuda:
                    spent[name] += starts[name].elapsed_time(stamp) / 1000
                else:
                    spent[name] += stamp - starts[name]
            for name, seconds in spent.items():
                parts[name].append(seconds)
    finally:
        for handle in handles:
            handle.remove()
    # The median iteration (the mean of the middle two for an even count, as
    # statistics.median takes them), split by module: the parts add up to the whole exactly,
    # and the whole is the median the table reports for the same settings.
    order = sorted(range(len(wholes)), key=wholes.__getitem__)
    middle = order[(len(order) - 1) // 2 : len(order) // 2 + 1]
    rows: list[dict[str, Any]] = [
        {"name": name, "ms": 1000 * statistics.fmean(values[i] for i in middle)}
        for name, values in parts.items()
    ]
    whole_ms = 1000 * statistics.fmean(wholes[i] for i in middle)
    rows.append({"name": "other", "ms": whole_ms - sum(float(row["ms"]) for row in rows)})
    rows.append({"name": "whole model", "ms": whole_ms})
    return rows


def measure_latency(
    make_model: Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    macs_per_image: int,
    options: LatencyOptions,
    progress: Callable[[int, int], None] | None = None,
    inputs: Sequence[InputSpec] | None = None,
) -> LatencySection:
    """The `latency` section. `make_model` builds a fresh CPU model (real weights);
    `progress(done, total)` is called after each batch size. With `inputs` (a model's several,
    named or typed inputs) each batch size replaces their first dimension."""
    import torch

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
    breakdown_batch: int | None = None
    interrupted = False
    timer = _Timer(device)
    try:
        model = _prepare(make_model(), device, options)
        generator = torch.Generator().manual_seed(0)
        for done, batch in enumerate(options.batch_sizes, start=1):
            try:
                if inputs:
                    given = real_inputs(inputs, batch, device, options.dtype, generator)
                else:
                    x = torch.randn((batch, *input_shape), generator=generator)
                    x = x.to(device=device, dtype=torch_dtype(options.dtype))
                    if options.channels_last and x.dim() == 4:
                        x = x.contiguous(memory_format=torch.channels_last)
                    given = ((x,), {})
                with torch.inference_mode():
                    samples = _measure_one(_runner(model, given, options), timer, options)
                    if options.breakdown and breakdown is None:
                        breakdown = _breakdown(model, given, timer, options)
                        breakdown_batch = batch
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
    return LatencySection(
        device=str(device),
        device_name=name,
        dtype=options.dtype,
        channels_last=options.channels_last,
        compile_mode=options.compile_mode,
        cuda_graphs=options.cuda_graphs,
        threads=options.threads or previous_threads,
        warmup=options.warmup,
        iters=options.iters,
        min_time_s=options.min_time_s,
        peak_tflops=peak,
        timing="CUDA events" if device.type == "cuda" else "perf_counter (synchronous)",
        rows=rows,
        breakdown=breakdown,
        breakdown_batch_size=breakdown_batch,
        warnings=warnings,
        interrupted=interrupted,
        torch=torch.__version__,
    )
