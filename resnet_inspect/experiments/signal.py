"""Why a residual network trains where a plain one does not, measured on one batch: how the
signal propagates forward (the Signal Propagation Plots of Brock, De & Smith 2021; the ResNet
paper's Figure 7) and the gradient backward.

Where to look comes from the meta pass, as the diagrams find it (analyzers/graph.py): every
add of two activations is a block's residual add, its branch the operand computed inside the
block; a spec's planned blocks are blocks too, so a plain network's blocks line up with a
residual one's. A weighted layer's response is the output of the norm that takes its output,
or its own output. Then one real forward and backward, in training mode as at the start of
training (or evaluation mode): forward hooks read the blocks' and responses' outputs when they
are made, a TorchFunctionMode reads each residual add's branch before the add (`out +=` would
overwrite it), and the weights' gradients give their norms. The statistics are timm's helpers'
(timm.utils.model.avg_sq_ch_mean, avg_ch_var, avg_ch_var_residual) on the same tensors.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from resnet_inspect.analyzers.graph import off_main_path, residual_adds
from resnet_inspect.analyzers.records import WEIGHTED_TYPES, Trace
from resnet_inspect.analyzers.trace import meta_copy, trace_copy
from resnet_inspect.errors import AnalysisError, UsageError
from resnet_inspect.plan.layer_kinds import LAYER_KINDS
from resnet_inspect.report import SignalBlock, SignalLayer, SignalReport

_ADD_OPS = {"aten::add", "aten::add_"}
_ADD_FUNCTIONS = {"__add__", "__radd__", "__iadd__", "add", "add_"}
_NORM_OPS = {"aten::batch_norm", "aten::group_norm", "aten::layer_norm", "aten::instance_norm"}


def _norm_ops() -> set[str]:
    names = set(_NORM_OPS)
    for kind in LAYER_KINDS.values():
        if kind.role == "norm":
            names.update(kind.operations)
    return names


def _reduced(tensor: torch.Tensor) -> list[int]:
    """The dimensions a channel statistic reduces over: all but the channels (dimension 1 of
    a 2-D, 4-D or 5-D tensor; the last of a 3-D one, tokens × channels)."""
    if tensor.dim() == 3:
        return [0, 1]
    return [d for d in range(tensor.dim()) if d != 1]


def avg_sq_channel_mean(tensor: torch.Tensor) -> float:
    """timm's avg_sq_ch_mean: mean over channels of the squared per-channel mean."""
    return torch.mean(tensor.mean(dim=_reduced(tensor)) ** 2).item()


def avg_channel_variance(tensor: torch.Tensor) -> float:
    """timm's avg_ch_var (and avg_ch_var_residual): mean over channels of the per-channel
    (unbiased) variance."""
    return torch.mean(tensor.var(dim=_reduced(tensor))).item()


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@dataclass
class Probes:
    """Where to look, found by the meta pass."""

    blocks: list[str]  # block module paths, in order of first call
    adds: dict[tuple[str, int], int]  # (module, its n-th add) -> operand index of the branch
    layers: list[str]  # weighted layers, in order of first call
    response: dict[str, str]  # weighted layer -> the module whose output is its response
    main_path: dict[str, bool]
    types: dict[str, str]


def probes(trace: Trace, planned: Iterable[str] = ()) -> Probes:
    """The blocks (every module that runs a residual add, and the `planned` ones), the branch
    of each residual add, the weighted layers and their responses, from one meta pass."""
    counts: Counter[str] = Counter()
    nth: dict[int, tuple[str, int]] = {}
    for index, op in enumerate(trace.ops):
        if op.name in _ADD_OPS and not op.synthetic:
            nth[index] = (op.module, counts[op.module])
            counts[op.module] += 1
    adds = {nth[add.op]: add.branch for add in residual_adds(trace) if add.op in nth}
    with_add = {module for module, _ in adds}
    wanted = set(planned) | with_add
    blocks = [name for name in trace.modules if name in wanted and name]
    off = off_main_path(trace)
    layers = [
        name
        for name in trace.modules
        if trace.infos[name].is_leaf and trace.infos[name].type in WEIGHTED_TYPES
    ]
    norms = _norm_ops()
    consumer: dict[int, str] = {}  # storage -> the module of the first norm op that reads it
    for op in trace.ops:
        if op.name in norms and op.module in trace.modules and trace.infos[op.module].is_leaf:
            for ref in op.inputs:
                consumer.setdefault(ref.key, op.module)
    response = {}
    for name in layers:
        key = trace.modules[name].output_key
        response[name] = consumer.get(key, name) if key is not None else name
    return Probes(
        blocks=blocks,
        adds=adds,
        layers=layers,
        response=response,
        main_path={name: off.isdisjoint(trace.enclosing(name)) for name in layers},
        types={name: trace.infos[name].type for name in trace.infos},
    )


@dataclass
class _Readings:
    stack: list[str] = field(default_factory=lambda: [""])
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)  # statistics per module
    block: dict[str, tuple[float, float]] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    residual: dict[str, float] = field(default_factory=dict)
    adds: Counter[str] = field(default_factory=Counter)


class _BranchReader(TorchFunctionMode):
    """Reads the residual branch of each add the probes name, before the add runs."""

    def __init__(self, readings: _Readings, adds: dict[tuple[str, int], int]) -> None:
        super().__init__()
        self.readings = readings
        self.wanted = adds

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in _ADD_FUNCTIONS:
            module = self.readings.stack[-1]
            count = self.readings.adds[module]
            self.readings.adds[module] += 1
            branch = self.wanted.get((module, count))
            operands = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
            if branch is not None and len(operands) > branch:
                with torch.no_grad():
                    value = avg_channel_variance(operands[branch].detach())
                self.readings.residual.setdefault(module, value)
        return func(*args, **kwargs)


def _hooks(model: nn.Module, found: Probes, readings: _Readings) -> list[Any]:
    blocks = set(found.blocks)
    responses = set(found.response.values())
    handles = []

    def enter(name: str) -> Any:
        def pre_hook(_module: nn.Module, _inputs: Any) -> None:
            readings.stack.append(name)

        return pre_hook

    def leave(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            readings.stack.pop()
            if not isinstance(output, torch.Tensor):
                return
            with torch.no_grad():
                out = output.detach()
                if name in blocks and name not in readings.block:
                    readings.block[name] = (avg_sq_channel_mean(out), avg_channel_variance(out))
                if name in responses and name not in readings.std:
                    readings.std[name] = out.float().std().item()

        return hook

    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave(name)))
    return handles


def _loss(output: Any, labels: torch.Tensor | None, generator: torch.Generator) -> Any:
    """Cross-entropy on the labels, or on labels drawn from `generator` (classes from the
    output's dimension 1)."""
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    if not isinstance(output, torch.Tensor) or output.dim() < 2:
        raise UsageError(
            "the network's output is not a batch of class scores (N×classes), so there is no "
            "cross-entropy loss to take gradients of"
        )
    if labels is None:
        classes = output.shape[1]
        shape = (output.shape[0], *output.shape[2:])
        labels = torch.randint(0, classes, shape, generator=generator).to(output.device)
    return nn.functional.cross_entropy(output.float(), labels.to(output.device))


def measure_signal(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    name: str | None = None,
    source: str | None = None,
    blocks: Iterable[str] = (),
    mode: str = "train",
    seed: int = 0,
    input_kind: str = "given",
) -> SignalReport:
    """The SignalReport of `model` (changed: one forward and backward in `mode`, so batch-norm
    running statistics move and gradients are left in .grad) on the batch `inputs`, with
    cross-entropy on `labels`, or on labels drawn from `seed`. `blocks` adds module paths to
    those found by their residual add (a plain network's planned blocks); `input_kind` says
    where the inputs came from, for the report."""
    if mode not in ("train", "eval"):
        raise UsageError(f"mode {mode!r}: use 'train' (batch statistics) or 'eval'")
    if inputs.dim() < 2:
        raise UsageError(f"the input must be a batch (N×C×H×W), got shape {list(inputs.shape)}")
    if mode == "train" and inputs.shape[0] < 2:
        raise UsageError("training mode needs a batch of at least 2 (batch norm's statistics)")
    trace = trace_copy(meta_copy(model), tuple(inputs.shape[1:]), inputs.shape[0])
    found = probes(trace, blocks)
    readings = _Readings()
    model.train(mode == "train")
    model.zero_grad(set_to_none=True)
    handles = _hooks(model, found, readings)
    generator = torch.Generator().manual_seed(seed)
    try:
        with torch.enable_grad(), _BranchReader(readings, found.adds):
            output = model(inputs)
        loss = _loss(output, labels, generator)
        loss.backward()
    except (UsageError, AnalysisError):
        raise
    except torch.cuda.OutOfMemoryError as err:
        raise AnalysisError(
            f"out of memory on {inputs.device} (try a smaller --batch-size)"
        ) from err
    finally:
        for handle in handles:
            handle.remove()
    modules = dict(model.named_modules())
    layers = []
    for layer in found.layers:
        weight = getattr(modules[layer], "weight", None)
        grad = weight.grad if isinstance(weight, torch.Tensor) else None
        norm = grad.detach().float().norm().item() if grad is not None else None
        of = found.response[layer]
        layers.append(
            SignalLayer(
                name=layer,
                type=found.types[layer],
                main_path=found.main_path[layer],
                response_std=_finite(readings.std.get(of)),  # type: ignore[arg-type]
                response_of=of,
                grad_norm=_finite(norm),  # type: ignore[arg-type]
            )
        )
    block_rows = []
    for block in found.blocks:
        mean, variance = readings.block.get(block, (math.nan, math.nan))
        block_rows.append(
            SignalBlock(
                name=block,
                type=found.types[block],
                avg_sq_channel_mean=_finite(mean),  # type: ignore[arg-type]
                avg_channel_variance=_finite(variance),  # type: ignore[arg-type]
                residual_variance=_finite(readings.residual.get(block)),
            )
        )
    ratio, ends = _ratio(layers)
    return SignalReport(
        model=name or type(model).__name__,
        source=source or type(model).__module__,
        mode=mode,
        input={"kind": input_kind, "shape": list(inputs.shape), "seed": seed},
        loss=float(loss.item()),
        blocks=block_rows,
        layers=layers,
        grad_norm_ratio=ratio,
        ratio_layers=ends,
        environment={"torch": torch.__version__, "device": str(inputs.device)},
    )


def _ratio(layers: list[SignalLayer]) -> tuple[float | None, list[str]]:
    """The first convolution's gradient norm over the last's, on the main path (the first and
    last weighted layer where there are fewer than two convolutions)."""
    main = [layer for layer in layers if layer.main_path] or layers
    convolutions = [layer for layer in main if layer.type.startswith("Conv")]
    ends = convolutions if len(convolutions) > 1 else main
    if not ends:
        return None, []
    first, last = ends[0], ends[-1]
    if first.grad_norm is None or not last.grad_norm:
        return None, [first.name, last.name]
    return _finite(first.grad_norm / last.grad_norm), [first.name, last.name]


def signal(
    target: Any = None,
    *,
    inputs: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    seed: int = 0,
    batch_size: int = 64,
    input_shape: tuple[int, ...] | None = None,
    device: str = "cpu",
    mode: str = "train",
    model_path: str | None = None,
    input_kind: str = "given",
) -> SignalReport:
    """The SignalReport of a spec, spec file, preset, nn.Module (a copy is measured) or
    `model_path` ("module:factory"), initialised from `seed`, on `inputs` (with `labels`, or
    labels drawn from `seed`; `input_kind` names where the inputs came from) or on a batch of
    `batch_size` N(0, 1) images of `input_shape` (the spec's by default) drawn from `seed`."""
    from resnet_inspect.experiments.networks import network
    from resnet_inspect.experiments.timing import resolve_device

    where = resolve_device(device)
    net = network(target, seed=seed, model_path=model_path, device=where)
    kind = input_kind
    if inputs is None:
        shape = tuple(input_shape or net.input_shape)
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.randn((batch_size, *shape), generator=generator)
        kind = "normal"
    return measure_signal(
        net.module,
        inputs.to(where),
        labels,
        name=net.name,
        source=net.source,
        blocks=net.blocks,
        mode=mode,
        seed=seed,
        input_kind=kind,
    )


__all__ = [
    "Probes",
    "avg_channel_variance",
    "avg_sq_channel_mean",
    "measure_signal",
    "probes",
    "signal",
]
