"""Operation counts under named conventions, as handler tables: operator name -> formula.

* `macs`: multiply-adds of convolutions (transposed ones included) and of matrix products with
  a weight operand (linear layers however they are called: nn.Linear, F.linear, the
  projections inside F.multi_head_attention_forward, an einsum with a weight): the ResNet
  paper's "FLOPs" and torchvision's `_ops`. `flops` = 2 x macs.
* Recurrent layers (LSTM, GRU, RNN) count every element of their weight matrices (input,
  hidden and projection) once per time step of every sequence: their products with the hidden
  state are the layer's work. fvcore has no handler for them (`full` lists them uncounted).
* `attention_macs`: multiply-adds of matrix products of two activations (q·kᵀ and the
  attention-weighted sum of values, scaled_dot_product_attention), a figure of their own
  beside `macs`.
* `full`: fvcore's convention, with fvcore's handler table (fvcore/nn/jit_handles.py): one
  multiply-add = one "flop" for conv, linear, matmul, mm, addmm, bmm, einsum; batch norm 2 per
  element in inference (1 without affine; 5/4 when it uses the batch's statistics), instance,
  group and layer norm 5 per element (4 without affine), adaptive average pooling 1 per input
  element, upsampling 1 (nearest) or 4 (bilinear) per output element, grid sampling 4. What
  fvcore has no handler for (baddbmm, scaled_dot_product_attention, the residual add, ReLU,
  max-pooling, ...) is counted by name in `uncounted_ops`, never silently zero. Views and
  reshapes do no arithmetic and are left out. `count_with_fvcore` runs fvcore itself on real
  tensors (`--fvcore`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from resnet_inspect.analyzers.records import OpCall, Trace
from resnet_inspect.errors import AnalysisError, UsageError
from resnet_inspect.report import FlopsSection

if TYPE_CHECKING:
    from torch import nn

FULL_ENGINE = "fvcore's convention (resnet-inspect's count on the meta pass)"


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _activation(op: OpCall) -> tuple[int, ...]:
    return next((ref.shape for ref in op.inputs if not ref.is_state), op.inputs[0].shape)


def _conv(op: OpCall) -> int:
    if not op.weight_shape or not op.outputs:
        return 0
    # a transposed convolution multiplies each input position by the kernel (fvcore's formula)
    spatial = _activation(op) if op.transposed else op.outputs[0].shape
    return _numel(spatial) * _numel(op.weight_shape[1:])


def _linear(op: OpCall) -> int:
    return _numel(op.outputs[0].shape) * op.weight_shape[1] if op.weight_shape else 0


def _operands(op: OpCall) -> list[tuple[int, ...]]:
    """The two matrices of a product (addmm and baddbmm take the added term first)."""
    refs = op.inputs[1:3] if op.name in ("aten::addmm", "aten::baddbmm") else op.inputs[:2]
    return [ref.shape for ref in refs]


def _product(op: OpCall) -> int:
    operands = _operands(op)
    if len(operands) != 2 or not op.outputs or not operands[0]:
        return 0
    return _numel(op.outputs[0].shape) * operands[0][-1]


def _einsum(op: OpCall) -> int:
    """fvcore's einsum_flop_jit: two named equations, else numpy's optimal contraction path."""
    import numpy as np

    equation = (op.equation or "").replace(" ", "")
    shapes = [ref.shape for ref in op.inputs]
    letters = dict.fromkeys(c for c in equation if c.isalpha())
    equation = equation.translate({ord(c): 97 + i for i, c in enumerate(letters)})
    if equation == "abc,abd->acd":
        n, c, t = shapes[0]
        return n * c * t * shapes[-1][-1]
    if equation == "abc,adc->adb":
        n, t, g = shapes[0]
        return n * t * g * shapes[-1][1]
    # zero-stride arrays: the path needs shapes only, nothing is allocated
    arrays = [np.lib.stride_tricks.as_strided(np.zeros(1), s, (0,) * len(s)) for s in shapes]
    report = np.einsum_path(equation, *arrays, optimize="optimal")[1]
    for line in report.split("\n"):
        if "optimized flop" in line.lower():
            return int(math.floor(float(line.split(":")[-1]) / 2))
    raise AnalysisError(f"cannot count the einsum {op.equation!r}")


def _einsum_macs(op: OpCall) -> int:
    """Exact multiply-adds of an einsum: the product of every index's size (one multiply-add
    per combination of indices), where fvcore's count goes through numpy's rounded report."""
    inputs = (op.equation or "").replace(" ", "").split("->")[0].split(",")
    sizes: dict[str, int] = {}
    for letters, ref in zip(inputs, op.inputs, strict=False):
        for letter, size in zip(
            letters.replace("...", ""), ref.shape[-len(letters.replace("...", "")) :], strict=False
        ):
            sizes[letter] = size
    return math.prod(sizes.values()) if sizes else 0


def _attention(op: OpCall) -> int:
    """scaled_dot_product_attention(q, k, v): q·kᵀ and the weighted sum of v."""
    if len(op.inputs) < 3:
        return 0
    query, key, value = (ref.shape for ref in op.inputs[:3])
    return _numel(query[:-1]) * key[-2] * (query[-1] + value[-1])


def _batch_norm(op: OpCall) -> int:
    if op.training:
        return _numel(op.inputs[0].shape) * (5 if op.affine else 4)
    return _numel(op.inputs[0].shape) * (2 if op.affine else 1)


def _norm(op: OpCall) -> int:
    return _numel(op.inputs[0].shape) * (5 if op.affine else 4)


def _per_input(op: OpCall) -> int:
    return _numel(op.inputs[0].shape)


def _per_output(factor: int) -> Callable[[OpCall], int]:
    return lambda op: factor * _numel(op.outputs[0].shape) if op.outputs else 0


# Matrix products: operator -> its multiply-adds (a layer's or attention's, by its operands).
PRODUCTS: dict[str, Callable[[OpCall], int]] = {
    "aten::linear": _linear,
    "aten::matmul": _product,
    "aten::mm": _product,
    "aten::addmm": _product,
    "aten::bmm": _product,
    "aten::baddbmm": _product,
    "aten::einsum": _einsum_macs,
}
# fvcore's handler table: operator -> (fvcore's name for it, formula).
FULL_HANDLERS: dict[str, tuple[str, Callable[[OpCall], int]]] = {
    "aten::convolution": ("conv", _conv),
    "aten::linear": ("linear", _linear),
    "aten::matmul": ("matmul", _product),
    "aten::mm": ("mm", _product),
    "aten::addmm": ("addmm", _product),
    "aten::bmm": ("bmm", _product),
    "aten::einsum": ("einsum", _einsum),
    "aten::batch_norm": ("batch_norm", _batch_norm),
    "aten::group_norm": ("group_norm", _norm),
    "aten::layer_norm": ("layer_norm", _norm),
    "aten::instance_norm": ("instance_norm", _norm),
    "aten::upsample_nearest2d": ("upsample_nearest2d", _per_output(1)),
    "aten::upsample_bilinear2d": ("upsample_bilinear2d", _per_output(4)),
    "aten::adaptive_avg_pool2d": ("adaptive_avg_pool2d", _per_input),
    "aten::grid_sampler": ("grid_sampler", _per_output(4)),
}


def has_weight(op: OpCall) -> bool:
    """Whether a matrix product has an operand computed from weights alone (not the added
    term of addmm/baddbmm): a layer's work rather than attention."""
    refs = op.inputs[1:3] if op.name in ("aten::addmm", "aten::baddbmm") else op.inputs
    return any(ref.is_state for ref in refs)


# A recurrent layer's operation (analyzers/trace/shape_forwards.py records it whole).
RECURRENT = frozenset({"aten::lstm", "aten::gru", "aten::rnn_tanh", "aten::rnn_relu"})


def _recurrent(op: OpCall) -> int:
    """Time steps × sequences × the elements of the weight matrices (biases left out)."""
    x = op.inputs[0].shape
    steps = _numel(x) // x[-1] if x and x[-1] else 0
    return steps * sum(
        _numel(ref.shape) for ref in op.inputs[1:] if ref.is_state and len(ref.shape) == 2
    )


def op_macs(op: OpCall) -> int:
    """Multiply-adds of weights: convolutions, products with a weight operand, recurrent
    layers."""
    if op.name == "aten::convolution":
        return _conv(op)
    if op.name in RECURRENT:
        return _recurrent(op)
    formula = PRODUCTS.get(op.name)
    return formula(op) if formula is not None and has_weight(op) else 0


def op_attention_macs(op: OpCall) -> int:
    """Multiply-adds of products of two activations (attention)."""
    if op.name == "aten::scaled_dot_product_attention":
        return _attention(op)
    formula = PRODUCTS.get(op.name)
    return formula(op) if formula is not None and not has_weight(op) else 0


def op_full_flops(op: OpCall) -> tuple[str, int] | None:
    """(fvcore operator name, count) in fvcore's convention, or None if no handler covers it."""
    handler = FULL_HANDLERS.get(op.name)
    return None if handler is None else (handler[0], handler[1](op))


def analyze_flops(trace: Trace) -> FlopsSection:
    """The `flops` section: fvcore-convention total, per operator, and the uncounted ops."""
    by_operator: Counter[str] = Counter()
    uncounted: Counter[str] = Counter()
    for op in trace.ops:
        counted = op_full_flops(op)
        if counted is None:
            uncounted[op.name] += 1
        else:
            by_operator[counted[0]] += counted[1]
    return FlopsSection(
        engine=FULL_ENGINE,
        full_total=sum(by_operator.values()),
        by_operator=dict(sorted(by_operator.items())),
        uncounted_ops=dict(sorted(uncounted.items())),
    )


def count_with_fvcore(
    model: nn.Module, input_shape: tuple[int, ...], inputs: tuple[object, ...] | None = None
) -> FlopsSection:
    """fvcore's FlopCountAnalysis on real tensors at batch 1 (or on `inputs`, real tensors in
    the forward's positional order), the model in eval mode.

    `model` must be the caller's copy on the CPU (see pipeline). Returns the same keys as
    `analyze_flops` plus `by_module`.
    """
    import torch

    try:
        with warnings.catch_warnings():  # fvcore scripts a function with torch.jit at import
            warnings.simplefilter("ignore", DeprecationWarning)
            from fvcore.nn import FlopCountAnalysis
    except ImportError as err:
        raise UsageError(
            '--fvcore needs fvcore: pip install "resnet-inspect[fvcore]" (or pip install fvcore)'
        ) from err
    model.eval()
    analysis = FlopCountAnalysis(
        model, inputs if inputs is not None else torch.zeros((1, *input_shape))
    )
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    try:
        with warnings.catch_warnings():  # fvcore's jit trace warns about torch.jit's future
            warnings.simplefilter("ignore")
            total = int(analysis.total())
    except Exception as err:  # fvcore's jit trace fails on some models
        raise AnalysisError(f"fvcore could not trace the model: {err}") from err
    return FlopsSection(
        engine="fvcore",
        full_total=int(total),
        by_operator={k: int(v) for k, v in sorted(analysis.by_operator().items())},
        uncounted_ops=dict(sorted(analysis.unsupported_ops().items())),
        by_module={k: int(v) for k, v in analysis.by_module().items()},
    )
