"""The results the meta pass makes itself instead of running torch's Python reference code
(whose first call imports torch._dynamo, 1-2 s): each equals torch's own meta result, shape and
dtype, and a trace of models that use them does not import torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from resnet_inspect.analyzers.trace.recording import OperatorRecorder, Tracer


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, device="meta", dtype=dtype)


CASES = {
    "cat, channels": lambda: torch.cat([meta(2, 3, 4, 4), meta(2, 5, 4, 4)], 1),
    "cat, last dim by a negative index": lambda: torch.cat([meta(2, 3), meta(2, 7)], -1),
    "layer norm": lambda: F.layer_norm(meta(2, 17, 32), (32,)),
    "layer norm over two dims, bf16": lambda: F.layer_norm(
        meta(2, 4, 8, 8, dtype=torch.bfloat16), (8, 8)
    ),
    "bilinear to a size": lambda: F.interpolate(meta(1, 3, 7, 9), size=(12, 20), mode="bilinear"),
    "nearest by a factor": lambda: F.interpolate(meta(1, 3, 7, 9), scale_factor=2.5),
    "bicubic, aligned corners": lambda: F.interpolate(
        meta(2, 3, 8, 8), scale_factor=2, mode="bicubic", align_corners=True
    ),
    "linear 1-D": lambda: F.interpolate(meta(2, 3, 10), scale_factor=3, mode="linear"),
    "mm": lambda: meta(5, 7) @ meta(7, 3),
    "addmm": lambda: torch.addmm(meta(3), meta(5, 7), meta(7, 3)),
    "bmm": lambda: torch.bmm(meta(4, 5, 7), meta(4, 7, 3)),
    "baddbmm": lambda: torch.baddbmm(meta(4, 5, 3), meta(4, 5, 7), meta(4, 7, 3)),
    "mean over H, W, kept": lambda: meta(2, 3, 8, 8).mean((2, 3), keepdim=True),
    "sum over the last": lambda: meta(2, 3, 8).sum(-1),
    "mean of all": lambda: meta(2, 3).mean(),
    "amax over one dim": lambda: torch.amax(meta(2, 3, 4), 1),
    "attention": lambda: F.scaled_dot_product_attention(
        meta(2, 4, 17, 8), meta(2, 4, 9, 8), meta(2, 4, 9, 6)
    ),
}


def _shapes(value):
    if isinstance(value, torch.Tensor):
        return [(tuple(value.shape), value.dtype)]
    return [item for part in value for item in _shapes(part)]


@pytest.mark.parametrize("name", list(CASES))
def test_each_result_is_torchs_own(name):
    expected = _shapes(CASES[name]())
    tracer = Tracer()
    from resnet_inspect.analyzers.trace.recording import FunctionRecorder

    with FunctionRecorder(tracer), OperatorRecorder(tracer):
        ours = _shapes(CASES[name]())
    assert ours == expected


def test_arguments_torch_refuses_are_still_refused():
    tracer = Tracer()
    with OperatorRecorder(tracer), pytest.raises(RuntimeError):
        torch.cat([meta(2, 3, 4), meta(2, 3, 5)], 1)  # sizes differ off the joined dimension
    with OperatorRecorder(tracer), pytest.raises((RuntimeError, IndexError)):
        meta(2, 3).sum(5)
    with OperatorRecorder(tracer), pytest.raises(RuntimeError):
        meta(5, 7) @ meta(6, 3)


def test_a_trace_of_a_unet_and_a_transformer_imports_no_dynamo():
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests')\n"
        "import resnet_inspect as ri\n"
        "from factories import UNet, ViT, TextEncoder\n"
        "ri.analyze(UNet(), (3, 64, 64))\n"
        "ri.analyze(ViT(), (3, 32, 32))\n"
        "ri.analyze(TextEncoder(), 'ids=1x32:int64')\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["False"], result.stderr[-2000:]
