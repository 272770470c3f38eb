"""One forward pass on the meta device that records every module call and every operation.

The model runs on torch's "meta" device: shapes propagate but nothing is allocated and no
arithmetic happens, so the cost does not grow with batch size or resolution. Three recorders
run at once (recording.py): forward (pre-)hooks on every module give the module rows and the
module stack (the model's own hooks, and torch's global module hooks, are set aside for the
pass and put back after it: a hook that reads values would fail on meta tensors, and analysis
must not run user code that is not the forward itself); a TorchDispatchMode records every ATen
operator; a TorchFunctionMode records the functions fvcore's formulas are written for as one
operation each. Modules of exactly a layer kind's class take the fast path
(shape_forwards.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from resnet_inspect.analyzers.records import ModuleCall, Trace
from resnet_inspect.analyzers.trace.module_facts import module_infos
from resnet_inspect.analyzers.trace.recording import (
    FunctionRecorder,
    OperatorRecorder,
    Tracer,
    failure_message,
    named_tensors,
    tensors_in,
)
from resnet_inspect.analyzers.trace.shape_forwards import shape_only_forward
from resnet_inspect.analyzers.trace.torch_internals import hooks_set_aside
from resnet_inspect.errors import AnalysisError
from resnet_inspect.inputs import InputSpec


def trace_model(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch_size: int,
    inputs: Sequence[InputSpec] | None = None,
) -> Trace:
    """Run `model` (on the meta device) once and record its modules and operations: on one
    input of `input_shape` at `batch_size`, or on `inputs` (positional, then keyword; a
    floating-point input in the model's dtype unless it says otherwise).

    The model's own hooks and torch's global module hooks do not run; they, the swapped
    forwards and our hooks are put back as they were in `finally`. `model` must be the
    caller's copy. A shape the real forward would refuse is an AnalysisError naming the
    module."""
    tracer = Tracer()
    modules = dict(model.named_modules())
    calls: dict[str, ModuleCall] = {}
    starts: dict[str, list[int]] = {}  # a module's calls in progress (recursion: several)
    handles = []

    def pre_hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def pre_hook(module: nn.Module, _inputs: Any) -> None:
            if name not in calls:
                calls[name] = ModuleCall(name, first_op=len(tracer.ops))
            starts.setdefault(name, []).append(len(tracer.ops))
            tracer.stack.append(name)

        return pre_hook

    def hook_for(name: str):  # noqa: ANN202 - torch hook signature
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            tracer.stack.pop()
            call = calls[name]
            call.spans.append((starts[name].pop(), len(tracer.ops)))
            call.calls += 1
            if call.calls == 1:
                call.first_end = len(tracer.ops)
            found = tensors_in(output)
            if found and not call.output_shape:
                call.output_shape = list(found[0].shape)
                call.output_key = tracer.key(found[0])

        return hook

    swapped = {}
    for module in modules.values():
        forward = shape_only_forward(module, tracer)
        if forward is not None:
            swapped[module] = forward
    parameter = next(iter(model.parameters()), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    try:
        with hooks_set_aside(list(modules.values())):
            try:
                for module, forward in swapped.items():
                    module.__dict__["forward"] = forward  # an instance attribute, as `m.forward =`
                for name, module in modules.items():
                    if name:
                        handles.append(module.register_forward_pre_hook(pre_hook_for(name)))
                        handles.append(module.register_forward_hook(hook_for(name)))
                specs = list(inputs or [InputSpec(None, (batch_size, *input_shape))])
                made = [
                    torch.empty(spec.shape, device="meta", dtype=_dtype(spec.dtype) or dtype)
                    for spec in specs
                ]
                for tensor in made:
                    tracer.activations.add(tracer.key(tensor))
                refs = [tracer.ref(tensor) for tensor in made]
                positional = [t for spec, t in zip(specs, made, strict=True) if spec.name is None]
                keywords = {spec.name: t for spec, t in zip(specs, made, strict=True) if spec.name}
                with torch.no_grad(), FunctionRecorder(tracer), OperatorRecorder(tracer):
                    output = model(*positional, **keywords)
            finally:
                for handle in handles:
                    handle.remove()
                for module in swapped:
                    del module.__dict__["forward"]
    except AnalysisError:
        raise
    except Exception as err:  # a user model may raise anything on a bad input shape
        where = tracer.stack[-1]
        shown = tuple(inputs[0].shape[1:]) if inputs else input_shape
        raise AnalysisError(failure_message(err, where, modules, shown)) from err
    named = named_tensors(output)
    return Trace(
        modules=calls,
        ops=tracer.ops,
        input=refs[0],
        extra_inputs=refs[1:],
        input_names=[spec.name or f"[{index}]" for index, spec in enumerate(inputs or [])],
        output_names=[name for name, _ in named],
        outputs=[tracer.ref(t) for _, t in named],
        batch_size=batch_size,
        element_bytes=torch.empty((), dtype=dtype).element_size(),
        infos=module_infos(model),
    )


def meta_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` whose parameters and buffers live on the meta device (no weights are
    copied); the caller's model is untouched. UsageError where it cannot be copied."""
    import copy

    from resnet_inspect.errors import UsageError

    memo: dict[int, object] = {}
    for tensor in [*model.parameters(), *model.buffers()]:
        meta = tensor.detach().to("meta")
        memo[id(tensor)] = (
            nn.Parameter(meta, tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta
        )
    try:
        return copy.deepcopy(model, memo)
    except Exception as err:
        raise UsageError(f"cannot copy the model for analysis: {err}") from err


def _dtype(name: str | None) -> torch.dtype | None:
    return getattr(torch, name) if name else None


def trace_copy(
    model: nn.Module,
    input_shape: tuple[int, ...],
    batch_size: int,
    dtype: str = "float32",
    inputs: Sequence[InputSpec] | None = None,
) -> Trace:
    """The meta pass over a model that is ours to change and lives on the meta device, its
    floating-point tensors in `dtype`, in evaluation mode."""
    from resnet_inspect.analyzers import torch_dtype

    target = torch_dtype(dtype)
    tensors = [*model.parameters(), *model.buffers()]
    if any(t.is_floating_point() and t.dtype != target for t in tensors):
        model = model.to(target)
    return trace_model(model.eval(), input_shape, batch_size, inputs)


__all__ = ["meta_copy", "trace_copy", "trace_model"]
