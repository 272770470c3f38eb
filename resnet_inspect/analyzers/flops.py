"""Operation counts under named conventions.

* `macs`: multiply-adds of convolution and linear layers, weights only: the ResNet paper's
  "FLOPs" and torchvision's `_ops`. `flops` = 2 x macs.
* `full`: fvcore's convention (one fused multiply-add = one "flop"), with fvcore's formulas per
  operator: conv and linear multiply-adds, batch norm 2 per element in inference (1 without
  affine), adaptive average pooling 1 per input element, layer/group norm 5 per element,
  upsampling 1 (nearest) or 4 (bilinear) per output element.

Operations no formula covers (the residual add, ReLU, max-pooling, padding, ...) are counted by
name in `uncounted_ops`, never silently zero. Views and reshapes do no arithmetic and are left
out. `count_with_fvcore` runs fvcore itself on real tensors, for cross-checks (`--fvcore`).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter

import torch
from torch import nn

from resnet_inspect.analyzers.trace import OpCall, Trace
from resnet_inspect.errors import AnalysisError, UsageError
from resnet_inspect.report import FlopsSection

_NORMS = {
    "aten::layer_norm": "layer_norm",
    "aten::group_norm": "group_norm",
    "aten::instance_norm": "instance_norm",
}


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def op_macs(op: OpCall) -> int:
    """Multiply-adds of weights (conv, linear): the paper's and torchvision's convention."""
    if op.name == "aten::convolution" and op.weight_shape:
        return _numel(op.outputs[0].shape) * _numel(op.weight_shape[1:])
    if op.name == "aten::linear" and op.weight_shape:
        return _numel(op.outputs[0].shape) * op.weight_shape[1]
    if op.name in ("aten::addmm", "aten::mm", "aten::matmul") and any(
        ref.is_state for ref in op.inputs
    ):
        return _matmul_macs(op)
    return 0


def _matmul_macs(op: OpCall) -> int:
    matrices = [ref for ref in op.inputs if len(ref.shape) >= 2][-2:]
    if len(matrices) != 2:
        return 0
    first, second = matrices
    return _numel(first.shape[:-1]) * first.shape[-1] * second.shape[-1]


def op_full_flops(op: OpCall) -> tuple[str, int] | None:
    """(fvcore operator name, count) in fvcore's convention, or None if no formula covers it."""
    if op.name == "aten::convolution":
        return "conv", op_macs(op)
    if op.name == "aten::linear":
        return "linear", op_macs(op)
    if op.name in ("aten::addmm", "aten::mm", "aten::bmm", "aten::matmul"):
        return op.name.removeprefix("aten::"), _matmul_macs(op)
    if op.name == "aten::batch_norm":
        return "batch_norm", _numel(op.inputs[0].shape) * (2 if op.affine else 1)
    if op.name in _NORMS:
        return _NORMS[op.name], _numel(op.inputs[0].shape) * (5 if op.affine else 4)
    if op.name == "aten::adaptive_avg_pool2d":
        return "adaptive_avg_pool2d", _numel(op.inputs[0].shape)
    if op.name == "aten::upsample_nearest2d":
        return "upsample_nearest2d", _numel(op.outputs[0].shape)
    if op.name == "aten::upsample_bilinear2d":
        return "upsample_bilinear2d", 4 * _numel(op.outputs[0].shape)
    return None


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
        engine="resnet-inspect with fvcore's formulas on the meta pass",
        full_total=sum(by_operator.values()),
        by_operator=dict(sorted(by_operator.items())),
        uncounted_ops=dict(sorted(uncounted.items())),
    )


def count_with_fvcore(model: nn.Module, input_shape: tuple[int, ...]) -> FlopsSection:
    """fvcore's FlopCountAnalysis on real tensors at batch 1, the model in eval mode.

    `model` must be the caller's copy on the CPU (see pipeline). Returns the same keys as
    `analyze_flops` plus `by_module`.
    """
    try:
        with warnings.catch_warnings():  # fvcore scripts a function with torch.jit at import
            warnings.simplefilter("ignore", DeprecationWarning)
            from fvcore.nn import FlopCountAnalysis
    except ImportError as err:
        raise UsageError(
            '--fvcore needs fvcore: pip install "resnet-inspect[fvcore]" (or pip install fvcore)'
        ) from err
    model.eval()
    analysis = FlopCountAnalysis(model, torch.zeros((1, *input_shape)))
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
