"""Memory: weights, activations in inference (peak live) and training (saved for backward).

From the trace's data flow, as an ideal allocator would see it (no caching-allocator rounding,
no convolution workspaces):

* inference: tensors are allocated by the op that makes them and freed after their last use;
  the peak of live activation bytes, plus weights and buffers;
* training: the activations autograd saves for backward (unique storages: a ReLU that works in
  place saves the tensor the next convolution saves too), plus weights, gradients and the
  optimizer's state (none for plain SGD, one copy of the weights for SGD with momentum, two for
  Adam), plus the largest activation once more for the gradient flowing back.
"""

from __future__ import annotations

import functools

from resnet_inspect.analyzers.records import OpCall, Trace
from resnet_inspect.plan.layer_kinds import LAYER_KINDS
from resnet_inspect.report import MemorySection

# What autograd keeps for backward, per operation that no layer kind records (the layer kinds
# say it for theirs: plan/layer_kinds/). Unknown operations are assumed to save their first
# input (and listed in the section's `assumed_ops`).
_SAVES_INPUT = {
    "aten::layer_norm",
    "aten::group_norm",
    "aten::instance_norm",
    "aten::gelu",
    "aten::silu",
    "aten::hardswish",
    "aten::leaky_relu",
}
_SAVES_OUTPUT = {
    "aten::threshold",
    "aten::tanh",
    "aten::softmax",
    "aten::exp",
    "aten::hardtanh",
    "aten::relu6",
}
_SAVES_OPERANDS = {"aten::addmm", "aten::mm", "aten::bmm", "aten::matmul", "aten::mul", "aten::div"}
_SAVES_NOTHING = {
    "aten::add",
    "aten::add_",
    "aten::sub",
    "aten::sub_",
    "aten::pad",
    "aten::cat",
    "aten::stack",
    "aten::mean",
    "aten::sum",
    "aten::clone",
    "aten::copy_",
    "aten::fill_",
    "aten::zero_",
    "aten::dropout",
    "aten::adaptive_avg_pool1d",
    "aten::upsample_nearest2d",
}


def saved_by(name: str) -> str | None:
    """What autograd keeps for an operation: "input", "output", "operands", "nothing", or None
    where no rule is known."""
    for kind in LAYER_KINDS.values():
        if name in kind.operations:
            return kind.saves
    for rule, names in (
        ("input", _SAVES_INPUT),
        ("output", _SAVES_OUTPUT),
        ("operands", _SAVES_OPERANDS),
        ("nothing", _SAVES_NOTHING),
    ):
        if name in names:
            return rule
    return None


_INDEX_BYTES = 8  # max-pooling keeps int64 indices of its output's size for backward
OPTIMIZER_STATE_COPIES = {"sgd": 0, "sgd_momentum": 1, "adam": 2}


def _saved(op: OpCall) -> tuple[list[int], int, bool]:
    """(storage keys saved, extra bytes saved, whether the rule was assumed)."""
    activations = [ref for ref in op.inputs if not ref.is_state]
    rule = _rule(op.name)
    if rule == "input":
        extra = 0
        if "max_pool" in op.name and op.outputs:
            extra = _INDEX_BYTES * _numel(op.outputs[0].shape)
        return [activations[0].key] if activations else [], extra, False
    if rule == "output":
        return [op.outputs[0].key] if op.outputs else [], 0, False
    if rule == "operands":
        return [ref.key for ref in activations], 0, False
    if rule == "nothing":
        return [], 0, False
    return [activations[0].key] if activations else [], 0, True


def _rule(name: str) -> str | None:
    return _cached_rule(name, len(LAYER_KINDS))


@functools.cache
def _cached_rule(name: str, kinds: int) -> str | None:
    """saved_by, read again once more layer kinds have registered."""
    return saved_by(name)


def _numel(shape: tuple[int, ...]) -> int:
    result = 1
    for dim in shape:
        result *= dim
    return result


def allocations(trace: Trace) -> dict[int, tuple[int, int]]:
    """Storage key -> (index of the op that made it, bytes), for every new activation."""
    made: dict[int, tuple[int, int]] = {ref.key: (-1, ref.nbytes) for ref in trace.inputs}
    for index, op in enumerate(trace.ops):
        for ref in op.outputs:
            if not ref.is_state and ref.key not in made:
                made[ref.key] = (index, ref.nbytes)
    return made


def analyze_memory(trace: Trace, param_bytes: int, buffer_bytes: int) -> MemorySection:
    made = allocations(trace)
    last_use: dict[int, int] = {}
    for index, op in enumerate(trace.ops):
        for ref in [*op.inputs, *op.outputs]:
            if ref.key in made:
                last_use[ref.key] = index
    end = len(trace.ops)
    for ref in trace.outputs:
        last_use[ref.key] = end  # the model's output is handed to the caller
    for ref in trace.inputs:
        last_use.setdefault(ref.key, -1)

    # Walk the ops: at op i its inputs and freshly made outputs are all live.
    born: dict[int, list[int]] = {}
    dies: dict[int, list[int]] = {}
    for key, (index, _) in made.items():
        born.setdefault(index, []).append(key)
        dies.setdefault(last_use.get(key, index), []).append(key)
    live = sum(made[key][1] for key in born.get(-1, []))
    peak = live
    for index in range(end):
        live += sum(made[key][1] for key in born.get(index, []))
        peak = max(peak, live)
        live -= sum(made[key][1] for key in dies.get(index, []))

    saved: set[int] = set()
    extra = 0
    assumed: set[str] = set()
    for op in trace.ops:
        keys, more, guessed = _saved(op)
        saved.update(key for key in keys if key in made)
        extra += more
        if guessed:
            assumed.add(op.name)
    saved_bytes = sum(made[key][1] for key in saved) + extra
    largest = max((nbytes for _, nbytes in made.values()), default=0)
    fixed = param_bytes + buffer_bytes
    training = {
        name: fixed + param_bytes * (1 + copies) + saved_bytes + largest
        for name, copies in OPTIMIZER_STATE_COPIES.items()
    }
    return MemorySection(
        param_bytes=param_bytes,
        buffer_bytes=buffer_bytes,
        activation_bytes=sum(nbytes for _, nbytes in made.values()),
        inference_peak_activation_bytes=peak,
        inference_bytes=fixed + peak,
        saved_activation_bytes=saved_bytes,
        training_bytes=training,
        assumed_ops=sorted(assumed),
    )
