"""load -> check -> one pass -> the ANALYZERS' sections -> Report.

For a spec the pass runs over its plan, without torch (analyzers/plan_pass.py); with
`from_model`, and for any nn.Module, the model runs on torch's meta device (analyzers/trace.py).
Both give the same records, so every analyzer below reads one kind of Trace. torch is imported
only for the model pass, fvcore and latency: a spec's summary never loads it.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from resnet_inspect.analyzers.analytic import check_closed_form
from resnet_inspect.analyzers.flops import analyze_flops, op_attention_macs, op_macs
from resnet_inspect.analyzers.graph import build_graph, off_main_path
from resnet_inspect.analyzers.memory import analyze_memory
from resnet_inspect.analyzers.plan_pass import StandInError, plan_trace
from resnet_inspect.analyzers.receptive_field import final_field, propagate
from resnet_inspect.analyzers.records import WEIGHTED_TYPES, Trace
from resnet_inspect.analyzers.rows import module_rows
from resnet_inspect.errors import RenderError, TracedInstead, UsageError
from resnet_inspect.experiments.timing import measure_latency
from resnet_inspect.inputs import (
    InputSpec,
    check_channels_first,
    is_input_item,
    parse_input_item,
    parse_input_shape,
    resolve_batch,
)
from resnet_inspect.options import Options
from resnet_inspect.report import (
    OWN_TYPE,
    FlopsSection,
    LayerRow,
    Report,
    StageRow,
    Totals,
    element_bytes,
)
from resnet_inspect.spec import Spec, load_checked
from resnet_inspect.spec.parser import spec_from_dict
from resnet_inspect.version import __version__

if TYPE_CHECKING:
    from torch import nn


# The report sections made from the trace beside the rows and totals: name -> analyzer.
ANALYZERS: dict[str, Callable[[Trace, Totals], Any]] = {
    "flops": lambda trace, totals: analyze_flops(trace),
    "memory": lambda trace, totals: analyze_memory(trace, totals.param_bytes, totals.buffer_bytes),
    "graph": lambda trace, totals: build_graph(trace),  # for diagrams and pages only
}
DEFAULT_SECTIONS = ("flops", "memory")


def summarize(
    target: str | os.PathLike[str] | Spec,
    options: Options | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """The Report of a spec, spec file or preset, without allocating weights or activations,
    made as `options` say (options.py). The pass runs the block types' forward code over the
    planned layers, without torch; `options.from_model` builds the nn.Module on torch's meta
    device and traces it instead (slower, the same report: a test holds every preset to it).
    A forward the plan's stand-ins cannot run falls back to the traced model, with a
    TracedInstead warning of one line. `progress(done, total)` is called while latency is
    measured."""
    options = options or Options()
    dims, batch = (
        parse_input_shape(options.input_shape) if options.input_shape is not None else (None, None)
    )
    batch_size = resolve_batch(batch, options.batch_size)
    where = target if isinstance(target, Spec) else os.fspath(target)
    spec, plan = load_checked(where)
    if dims is not None and len(dims) == 2:
        dims = (spec.input[0], *dims)
    if dims is not None and dims != spec.input:
        check_channels_first(dims, spec.input[0], f"{spec.name}'s stem")
        channels, height, width = dims
        spec, plan = load_checked(where, (channels, height, width))  # planned again, located
    dtype = options.dtype
    if options.from_model:
        trace = _trace_copy(_built(spec, device="meta"), spec.input, batch_size, dtype)
    else:
        try:
            trace = plan_trace(plan, batch_size, element_bytes(dtype))
        except StandInError as err:  # a forward the stand-ins cannot run: trace the model
            first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
            message = f"{first}; the summary traced the built model instead (--from-model)"
            warnings.warn(TracedInstead(message), stacklevel=2)
            trace = _trace_copy(_built(spec, device="meta"), spec.input, batch_size, dtype)
    report = report_from_trace(
        trace,
        spec.input,
        dtype=dtype,
        name=spec.name,
        source=spec.source or spec.name,
        spec=spec,
        sections=(*DEFAULT_SECTIONS, "graph") if options.graph else DEFAULT_SECTIONS,
    )
    if options.check:
        report = replace(report, check=check_closed_form(spec, report.stages, batch_size))
    if options.fvcore:
        report = replace(report, flops=_fvcore_section(_built(spec), spec.input, batch_size))
    if options.latency is not None:
        section = measure_latency(
            lambda: _built(spec, force=options.force),
            spec.input,
            report.totals.macs // batch_size,
            options.latency,
            progress,
        )
        report = replace(report, latency=section)
    return report


def with_graph(report: Report) -> Report:
    """The report with its data-flow graph, made again from the report's spec (the graph is
    left out of a report unless asked for: it is most of the JSON). A report of a model has no
    spec to make it from: RenderError says to ask for it."""
    if report.graph is not None:
        return report
    if report.spec is None:
        raise RenderError(
            f"{report.model}: this report of a model was made without its data-flow graph; "
            "analyze(model, ..., graph=True) keeps it for drawings"
        )
    options = Options(
        input_shape=tuple(report.input_shape),
        batch_size=report.batch_size,
        dtype=report.dtype,
        graph=True,
    )
    again = summarize(spec_from_dict(report.spec), options)
    return replace(report, graph=again.graph)


def _built(spec: Spec, device: str = "cpu", force: bool = False) -> nn.Module:
    """The spec's nn.Module; build/ imports torch, so it is loaded only when a model is."""
    from resnet_inspect.model import build_model

    return build_model(spec, device=device, force=force)


def analyze(
    model: nn.Module,
    options: Options | None = None,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """The Report of any nn.Module, made as `options` say (`input_shape` defaults to
    3x224x224 here; [H, W] means 3 channels; `check` and `from_model` are a spec's). The
    caller's model is not changed: the analysis runs on a copy whose parameters and buffers live
    on the meta device (no weights are copied); latency and fvcore run on a deep copy. A
    channels-last shape is refused when the first convolution says how many channels the
    model takes."""
    import copy

    from torch import nn

    options = options or Options()
    dtype = options.dtype
    specs = input_specs(options.input_shape)
    if specs is not None:
        return _analyze_inputs(model, specs, options, name)
    dims, batch = parse_input_shape(
        options.input_shape if options.input_shape is not None else (3, 224, 224)
    )
    batch_size = resolve_batch(batch, options.batch_size)
    input_shape = dims if len(dims) == 3 else (3, *dims)
    convolutions = (
        nn.Conv1d,
        nn.Conv2d,
        nn.Conv3d,
        nn.ConvTranspose1d,
        nn.ConvTranspose2d,
        nn.ConvTranspose3d,
    )
    first_conv = next((m for m in model.modules() if isinstance(m, convolutions)), None)
    check_channels_first(
        tuple(input_shape),
        first_conv.in_channels if first_conv is not None else None,
        f"the model's first convolution ({type(first_conv).__name__})",
    )
    from resnet_inspect.analyzers.trace import meta_copy

    twin = meta_copy(model)
    report = report_from_trace(
        _trace_copy(twin, tuple(input_shape), batch_size, dtype),
        tuple(input_shape),
        dtype=dtype,
        name=name or type(model).__name__,
        source=type(model).__module__,
        sections=(*DEFAULT_SECTIONS, "graph") if options.graph else DEFAULT_SECTIONS,
    )
    if options.fvcore:
        cpu_twin = copy.deepcopy(model).to("cpu")
        report = replace(report, flops=_fvcore_section(cpu_twin, tuple(input_shape), batch_size))
    if options.latency is not None:
        section = measure_latency(
            lambda: copy.deepcopy(model),
            tuple(input_shape),
            report.totals.macs // batch_size,
            options.latency,
            progress,
        )
        report = replace(report, latency=section)
    return report


def input_specs(value: object) -> list[InputSpec] | None:
    """A model's inputs as InputSpecs where `value` gives several, names them, types them or
    is an example tensor: a tensor, a tuple or list of tensors (or of shapes, or of
    'name=1x128:int64' texts), a dict of name -> tensor, shape or text. None where it is one
    shape ("3x224x224", (3, 224, 224)), which the image path reads."""
    import torch

    def spec(name: str | None, item: object) -> InputSpec:
        if isinstance(item, InputSpec):
            return replace(item, name=name or item.name)
        if isinstance(item, torch.Tensor):  # its shape and type; its values are never read
            return InputSpec(name, tuple(item.shape), str(item.dtype).removeprefix("torch."))
        if isinstance(item, str):
            parsed = parse_input_item(item)
            return replace(parsed, name=name or parsed.name)
        if isinstance(item, (tuple, list)) and all(
            isinstance(d, int) and not isinstance(d, bool) for d in item
        ):
            return replace(parse_input_item("x".join(str(d) for d in item)), name=name)
        raise UsageError(f"input {item!r}: expected a tensor, a shape or 'name=1x3x224x224'")

    if isinstance(value, (torch.Tensor, InputSpec)):
        return [spec(None, value)]
    if isinstance(value, dict):
        return [spec(str(key), item) for key, item in value.items()]
    if isinstance(value, str):
        return [parse_input_item(value)] if is_input_item(value) else None
    if isinstance(value, (tuple, list)) and value:
        if all(isinstance(d, int) for d in value):
            return None  # one shape
        if len(value) == 1 and isinstance(value[0], str) and not is_input_item(value[0]):
            return None
        return [spec(None, item) for item in value]
    return None


def _analyze_inputs(
    model: nn.Module, specs: list[InputSpec], options: Options, name: str | None
) -> Report:
    """analyze() on the inputs `specs` name, each made as torch.empty makes it."""
    batch_size = specs[0].shape[0] if len(specs[0].shape) > 1 else 1
    if options.batch_size is not None and options.batch_size != batch_size:
        raise UsageError(
            f"the first input's shape says batch {batch_size} but the batch size is "
            f"{options.batch_size}: write each input's whole shape, batch first"
        )
    if len({spec.name for spec in specs if spec.name}) < sum(1 for spec in specs if spec.name):
        raise UsageError("two inputs have the same name")
    import copy
    import inspect

    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        signature = None  # none to read (a builtin): the forward itself will say
    if signature is not None:
        try:
            signature.bind(
                *[spec for spec in specs if not spec.name],
                **{spec.name: spec for spec in specs if spec.name},
            )
        except TypeError as err:
            raise UsageError(
                f"the model's forward{signature} does not take these inputs: {err}"
            ) from None
    from resnet_inspect.analyzers.trace import meta_copy

    input_shape = tuple(specs[0].shape[1:]) if len(specs[0].shape) > 1 else tuple(specs[0].shape)
    trace = _trace_copy(meta_copy(model), input_shape, batch_size, options.dtype, specs)
    report = report_from_trace(
        trace,
        input_shape,
        dtype=options.dtype,
        name=name or type(model).__name__,
        source=type(model).__module__,
        sections=(*DEFAULT_SECTIONS, "graph") if options.graph else DEFAULT_SECTIONS,
    )
    report = replace(report, inputs=[spec.to_dict(options.dtype) for spec in specs])
    if options.fvcore:
        import torch

        from resnet_inspect.analyzers.flops import count_with_fvcore
        from resnet_inspect.experiments.timing import real_inputs

        args, kwargs = real_inputs(
            specs, batch_size, torch.device("cpu"), options.dtype, torch.Generator().manual_seed(0)
        )
        # fvcore traces with torch.jit: positional tensors, in the forward's order
        ordered = tuple(
            signature.bind(*args, **kwargs).arguments.values() if signature is not None else args
        )
        if not all(isinstance(tensor, torch.Tensor) for tensor in ordered):
            raise UsageError(
                "--fvcore: the forward takes *args or **kwargs; fvcore cannot trace it"
            )
        twin = copy.deepcopy(model).to("cpu")
        report = replace(report, flops=count_with_fvcore(twin, input_shape, ordered))
    if options.latency is not None:
        section = measure_latency(
            lambda: copy.deepcopy(model),
            input_shape,
            report.totals.macs // batch_size,
            options.latency,
            None,
            specs,
        )
        report = replace(report, latency=section)
    return report


def _fvcore_section(
    model: nn.Module, input_shape: tuple[int, ...], batch_size: int
) -> FlopsSection:
    from resnet_inspect.analyzers.flops import count_with_fvcore

    section = count_with_fvcore(model, input_shape)
    # fvcore runs at batch 1; every formula it applies is linear in the batch size.
    return replace(
        section,
        full_total=section.full_total * batch_size,
        by_operator={k: v * batch_size for k, v in section.by_operator.items()},
        by_module={k: v * batch_size for k, v in (section.by_module or {}).items()},
    )


def _trace_copy(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch_size: int,
    dtype: str,
    inputs: list[InputSpec] | None = None,
) -> Trace:
    """The meta pass over a model that is ours to change and lives on the meta device."""
    from resnet_inspect.analyzers.trace import trace_copy

    return trace_copy(model, input_shape, batch_size, dtype, inputs)


def report_from_trace(
    trace: Trace,
    input_shape: tuple[int, ...],
    *,
    dtype: str,
    name: str,
    source: str,
    spec: Spec | None = None,
    sections: tuple[str, ...] = DEFAULT_SECTIONS,
) -> Report:
    """The layer rows, stage rows and totals, and the ANALYZERS' `sections`, of one pass."""
    after = propagate(trace)
    rows = module_rows(trace, after, off_main_path=off_main_path(trace))
    model = trace.infos[""]
    leaves = [row for row in rows if row.is_leaf]
    # every operation counts, also those outside any module (a functional head in forward)
    macs = sum(op_macs(op) for op in trace.ops)
    final = final_field(trace, after)
    element_bytes = trace.element_bytes
    totals = Totals(
        params=model.params,
        trainable_params=model.trainable_params,
        non_trainable_params=model.params - model.trainable_params,
        buffers=model.buffers,
        param_bytes=model.params * element_bytes,
        buffer_bytes=model.buffers * element_bytes,
        macs=macs,
        flops=2 * macs,
        keras_total_params=model.params + model.buffers,
        weighted_layers=sum(1 for row in leaves if row.type in WEIGHTED_TYPES),
        depth=sum(1 for row in leaves if row.type in WEIGHTED_TYPES and row.main_path),
        receptive_field=("global" if final.global_from else final.size) if final else None,
        effective_stride=final.stride if final else None,
        local_receptive_field=final.size if final else None,
        global_from=final.global_from if final else None,
        attention_macs=sum(op_attention_macs(op) for op in trace.ops),
        output_shape=list(trace.outputs[0].shape) if trace.outputs else None,
        outputs=[
            {"name": name, "shape": list(ref.shape)}
            for name, ref in zip(
                trace.output_names or [""] * len(trace.outputs), trace.outputs, strict=True
            )
        ],
        conv_weights=sum(info.conv_weights for info in trace.infos.values()),
    )
    return Report(
        model=name,
        source=source,
        input_shape=list(input_shape),
        batch_size=trace.batch_size,
        dtype=dtype,
        layers=rows,
        stages=_stage_rows(rows),
        totals=totals,
        spec=spec.to_dict() if spec is not None else None,
        environment=_environment(),
        **{section: ANALYZERS[section](trace, totals) for section in sections},
    )


def _environment() -> dict[str, str]:
    return {
        "resnet_inspect": __version__,
        "torch": _torch_version(),
        "python": platform.python_version(),
    }


def _torch_version() -> str:
    """The torch that builds and runs the model, read without importing it when it is not
    loaded (a spec's summary does not need it)."""
    torch = sys.modules.get("torch")
    return str(torch.__version__) if torch is not None else _installed_torch()


@functools.cache
def _installed_torch() -> str:
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "not installed"


def _unit(leaves: set[bool]) -> str:
    """What a stage's children are: blocks (containers), layers (leaves), or modules (both)."""
    return "module" if len(leaves) > 1 else "layer" if leaves == {True} else "block"


def _stage_rows(rows: list[LayerRow]) -> list[StageRow]:
    """Stem (leaves before the first stage), each stage, head (leaves after the last stage)."""
    top = [row for row in rows if row.depth == 1]
    containers = [i for i, row in enumerate(top) if not row.is_leaf]
    if not containers:
        return []
    first, last = containers[0], containers[-1]
    blocks: dict[str, int] = {}
    kinds: dict[str, set[bool]] = {}
    weighted: dict[str, int] = {}
    for row in rows:
        if row.depth == 2 and row.type != OWN_TYPE:
            blocks[row.stage] = blocks.get(row.stage, 0) + 1
            kinds.setdefault(row.stage, set()).add(row.is_leaf)
        if row.is_leaf and row.type in WEIGHTED_TYPES:
            weighted[row.stage] = weighted.get(row.stage, 0) + 1
    result: list[StageRow] = []

    def group(name: str, kind: str, members: list[LayerRow]) -> None:
        if members:
            result.append(
                StageRow(
                    name=name,
                    kind=kind,
                    blocks=sum(blocks.get(m.name, 0) for m in members) if kind == "stage" else 0,
                    output_shape=members[-1].output_shape,
                    params=sum(m.params for m in members),
                    macs=sum(m.macs for m in members),
                    full_flops=sum(m.full_flops for m in members),
                    receptive_field=members[-1].receptive_field,
                    effective_stride=members[-1].effective_stride,
                    weighted_layers=sum(weighted.get(m.name, 0) for m in members),
                    unit=_unit(set().union(*(kinds.get(m.name, set()) for m in members))),
                )
            )

    group("stem", "stem", top[:first])
    for row in top[first : last + 1]:
        group(row.name, "stage" if not row.is_leaf else "other", [row])
    group("head", "head", top[last + 1 :])
    return result


__all__ = [
    "Options",
    "analyze",
    "report_from_trace",
    "summarize",
    "with_graph",
]
