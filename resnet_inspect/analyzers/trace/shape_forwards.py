"""The traced fast path: for a module of exactly one of the layer kinds' classes (never a
subclass, whose own forward may pad or add an activation), a forward that checks the input as
the layer would, makes an empty output of the right shape and records the one operation of
its kind, read from the table of layer kinds (plan/layer_kinds/) as the plan's pass records
it. torch runs Python decompositions and lazy imports for many ops on the meta device (batch
norm 7 ms a call; the first convolution imports sympy, 1 s); these shapes are exact and ~10x
faster. Recurrent layers (nn.LSTM, nn.GRU, nn.RNN) are one operation each, not a Python
loop over time steps. Every other module, and all functional code, runs its real forward on
meta tensors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from resnet_inspect.analyzers.trace.recording import Tracer
from resnet_inspect.analyzers.trace.torch_internals import no_torch_function
from resnet_inspect.plan.layer_kinds import LAYER_KINDS, LayerKind


@functools.cache
def _kinds_by_class(registered: int) -> dict[type, LayerKind]:
    """torch class -> the layer kind whose fast path stands in for its exact instances (made
    again when more kinds have registered)."""
    return {
        cls: kind
        for kind in LAYER_KINDS.values()
        if kind.fast_path
        for cls in kind.module_classes()
    }


def _recurrent_forward(module: nn.RNNBase, tracer: Tracer) -> Callable[..., Any]:
    """nn.LSTM, nn.GRU and nn.RNN as one operation: the output, h_n (and c_n) made empty in
    their shapes, the weights as operands (flops.py counts each weight element once per step).
    On the meta device torch would step through the sequence in Python (seconds for a
    Sequencer's BiLSTMs). A PackedSequence runs the module's own forward."""
    name = {nn.LSTM: "aten::lstm", nn.GRU: "aten::gru"}.get(type(module))
    if name is None:
        name = (
            "aten::rnn_relu" if getattr(module, "nonlinearity", "") == "relu" else "aten::rnn_tanh"
        )
    weights = [w for layer in module.all_weights for w in layer if isinstance(w, torch.Tensor)]
    directions = 2 if module.bidirectional else 1
    hidden = module.hidden_size
    out_size = getattr(module, "proj_size", 0) or hidden
    lstm = isinstance(module, nn.LSTM)

    def forward(x: Any, hx: Any = None) -> Any:
        if not isinstance(x, torch.Tensor):
            return type(module).forward(module, x, hx)
        with no_torch_function():
            shape = tuple(x.shape)
            if x.dim() not in (2, 3) or shape[-1] != module.input_size:
                raise RuntimeError(  # as the real layer would refuse it
                    f"{type(module).__name__}: input.size(-1) must be equal to input_size. "
                    f"Expected {module.input_size}, got {shape[-1]} (input {list(shape)})"
                )
            batch = () if x.dim() == 2 else (shape[0] if module.batch_first else shape[1],)
            layers = directions * module.num_layers
            out = x.new_empty((*shape[:-1], directions * out_size))
            h = x.new_empty((layers, *batch, out_size))
            outputs = [out, h] + ([x.new_empty((layers, *batch, hidden))] if lstm else [])
            states = [t for t in (hx if isinstance(hx, tuple) else (hx,)) if t is not None]
            tracer.record(name, [x, *weights, *states], outputs, synthetic=True)
        return (out, (outputs[1], outputs[2])) if lstm else (out, h)

    return forward


def shape_only_forward(module: nn.Module, tracer: Tracer) -> Callable[..., Any] | None:
    """The fast-path forward of `module`, or None where it runs its own."""
    if type(module) in (nn.LSTM, nn.GRU, nn.RNN):
        return _recurrent_forward(module, tracer)  # type: ignore[arg-type]
    kind = _kinds_by_class(len(LAYER_KINDS)).get(type(module))
    layer = kind.from_module(module) if kind is not None else None
    if kind is None or layer is None:
        return None
    operation = kind.operation(layer)
    if operation is None:
        return lambda x, *args, **kwargs: x
    # the layer's own tensors are operands too (a weight operand makes a product a layer's work)
    weights = (getattr(module, "weight", None), getattr(module, "bias", None))
    operands = [t for t in weights if isinstance(t, torch.Tensor)]
    attributes = kind.attributes(layer)
    in_place = kind.in_place(layer)
    type_name = type(module).__name__

    def forward(x: torch.Tensor) -> torch.Tensor:
        # only shape reads and new_empty, which neither mode records: torch functions are not
        # intercepted here (thousands of calls a model)
        with no_torch_function():
            shape = tuple(x.shape)
            problem = kind.check_input(layer, shape, type_name)
            if problem is not None:
                raise RuntimeError(problem)  # as the real layer would refuse it
            out = x if in_place else x.new_empty(kind.output_shape(layer, shape))
            tracer.record(operation, [x, *operands], [out], synthetic=True, **attributes)
        return out

    return forward


__all__ = ["shape_only_forward"]
