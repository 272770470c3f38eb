"""Recurrent layers: one operation per call, not a Python loop over time steps on the meta
device (a Sequencer's BiLSTMs took seconds that way). Output shapes from a real forward,
multiply-adds by the hand formula (4 gates × hidden × (input + hidden) per step and direction
for an LSTM), which neither fvcore nor FlopCounterMode counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_inspect import analyze
from resnet_inspect.analyzers.trace import meta_copy, trace_copy


class Sequence(nn.Module):
    """A recurrent layer over a (batch, 1, steps, features) input seen as (batch, steps,
    features); its output's first element."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x.flatten(1, 2))[0]


CASES = {
    # (layer, hand-counted multiply-adds per step and sequence)
    "bidirectional LSTM": (
        nn.LSTM(24, 16, batch_first=True, bidirectional=True),
        2 * 4 * 16 * (24 + 16),
    ),
    "two-layer GRU": (
        nn.GRU(24, 16, num_layers=2, batch_first=True),
        3 * 16 * (24 + 16) + 3 * 16 * (16 + 16),
    ),
    "LSTM with projections": (
        nn.LSTM(24, 16, batch_first=True, proj_size=8),
        4 * 16 * (24 + 8) + 8 * 16,
    ),
    "ReLU RNN": (nn.RNN(24, 16, batch_first=True, nonlinearity="relu"), 16 * (24 + 16)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_shapes_and_multiply_adds(name):
    layer, per_step = CASES[name]
    model = Sequence(layer)
    batch, steps = 3, 7
    report = analyze(model, (1, steps, 24), batch_size=batch)
    with torch.no_grad():
        real = model(torch.randn(batch, 1, steps, 24))
    assert report.totals.output_shape == list(real.shape)
    assert report.totals.macs == batch * steps * per_step
    rows = {row.name: row for row in report.layers}
    assert rows["layer"].output_shape == list(real.shape)
    assert report.totals.params == sum(p.numel() for p in model.parameters())


def test_one_operation_per_call_whatever_the_length():
    model = Sequence(nn.LSTM(8, 8, batch_first=True, bidirectional=True))
    short = trace_copy(meta_copy(model), (1, 4, 8), 1)
    long = trace_copy(meta_copy(model), (1, 4000, 8), 1)
    assert len(long.ops) == len(short.ops) <= 4
    assert [op.name for op in long.ops].count("aten::lstm") == 1


def test_fvcores_convention_leaves_it_uncounted_and_its_output_sees_the_sequence():
    report = analyze(Sequence(nn.GRU(24, 16, batch_first=True)), (1, 7, 24))
    assert report.flops is not None
    assert report.flops.uncounted_ops.get("aten::gru") == 1
    rows = {row.name: row for row in report.layers}
    assert rows["layer"].global_field


def test_a_wrong_feature_size_is_refused_as_torch_refuses_it():
    from resnet_inspect.errors import AnalysisError

    with pytest.raises(AnalysisError, match="input_size"):
        analyze(Sequence(nn.LSTM(24, 16, batch_first=True)), (1, 7, 20))
