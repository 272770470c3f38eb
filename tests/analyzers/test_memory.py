"""Memory estimates on hand-worked nets."""

from __future__ import annotations

from torch import nn

from resnet_inspect import analyze, summarize


def chain() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True)
    )


def test_chain_by_hand():
    # float32, 1x3x8x8 input = 768 B; conv output 1x4x8x8 = 1,024 B; BN output 1,024 B; the
    # in-place ReLU makes nothing new.
    memory = analyze(chain(), (3, 8, 8)).memory
    assert memory.activation_bytes == 768 + 1024 + 1024
    # Peak live: during BN the conv output and the BN output (the input died after the conv).
    assert memory.inference_peak_activation_bytes == 1024 + 1024
    # Weights: 4*3*3*3 = 108 conv + 8 BN params = 116 floats; buffers 8 floats.
    assert memory.param_bytes == 116 * 4 and memory.buffer_bytes == 8 * 4
    assert memory.inference_bytes == 116 * 4 + 8 * 4 + 2048
    # Saved for backward: the conv's input, BN's input, ReLU's output (the BN output).
    assert memory.saved_activation_bytes == 768 + 1024 + 1024
    # Training, SGD with momentum: weights + buffers + gradients + momentum + saved + the
    # largest activation for the gradient flowing back.
    assert memory.training_bytes["sgd_momentum"] == 464 + 32 + 464 + 464 + 2816 + 1024
    assert memory.training_bytes["adam"] - memory.training_bytes["sgd"] == 2 * 464


def test_rows_carry_their_own_activation_bytes():
    rows = {row.name: row for row in analyze(chain(), (3, 8, 8), batch_size=2).layers}
    assert rows["0"].activation_bytes == 2 * 1024
    assert rows["2"].activation_bytes == 0  # in place


def test_dtype_halves_bytes():
    full = summarize("resnet18").memory
    half = summarize("resnet18", dtype="bfloat16").memory
    assert half.param_bytes * 2 == full.param_bytes
    assert half.inference_peak_activation_bytes * 2 == full.inference_peak_activation_bytes


def test_resnet50_inference_peak_by_hand():
    # The peak is in layer1.0's projection shortcut: bn3's output (256x56x56, waiting for the
    # add), the shortcut conv's output and the shortcut BN's output, each 802,816 floats.
    assert summarize("resnet50").memory.inference_peak_activation_bytes == 3 * 802_816 * 4


def test_activation_memory_grows_with_batch():
    one = summarize("resnet50").memory
    many = summarize("resnet50", batch_size=16).memory
    assert many.saved_activation_bytes == 16 * one.saved_activation_bytes
