"""The results the meta pass makes itself instead of running torch's Python reference code
(whose first call imports torch._dynamo, 1-2 s): each equals torch's own meta result, shape and
dtype, and a trace of models that use them imports neither torch._dynamo nor sympy."""

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
    "convolution": lambda: F.conv2d(meta(2, 4, 9, 7), meta(6, 2, 3, 3), None, 2, 1, 1, 2),
    "convolution, channels last": lambda: F.conv2d(
        meta(2, 4, 9, 7).contiguous(memory_format=torch.channels_last), meta(6, 4, 3, 3)
    ),
    "transposed convolution": lambda: F.conv_transpose2d(
        meta(2, 4, 5, 6), meta(4, 3, 3, 3), None, 2, 1, 1
    ),
    "dilated 1-D convolution": lambda: F.conv1d(meta(2, 4, 20), meta(5, 4, 3), None, 1, 2, 2),
    "transposed 3-D convolution": lambda: F.conv_transpose3d(
        meta(1, 2, 3, 4, 5), meta(2, 3, 2, 2, 2), None, 2
    ),
    "embedding": lambda: F.embedding(meta(2, 16, dtype=torch.int64), meta(100, 8)),
    "attention": lambda: F.scaled_dot_product_attention(
        meta(2, 4, 17, 8), meta(2, 4, 9, 8), meta(2, 4, 9, 6)
    ),
}


def _shapes(value):
    if isinstance(value, torch.Tensor):
        return [(tuple(value.shape), value.dtype, value.is_contiguous())]
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


def _imports_after(code: str) -> dict[str, bool]:
    """Whether a fresh process that runs `code` has imported torch._dynamo and sympy."""
    check = "\nimport sys\nprint('torch._dynamo' in sys.modules, 'sympy' in sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code + check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    dynamo, sympy = result.stdout.split()
    return {"torch._dynamo": dynamo == "True", "sympy": sympy == "True"}


def test_a_trace_of_a_unet_and_a_transformer_imports_no_dynamo():
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests')\n"
        "import resnet_inspect as ri\n"
        "from factories import UNet, ViT, TextEncoder\n"
        "ri.analyze(UNet(), (3, 64, 64))\n"
        "ri.analyze(ViT(), (3, 32, 32))\n"
        "ri.analyze(TextEncoder(), 'ids=1x32:int64')"
    )
    assert _imports_after(code) == {"torch._dynamo": False, "sympy": False}


def test_broadcasting_is_torchs_on_every_pattern_of_sizes():
    import itertools

    from resnet_inspect.analyzers.trace.recording import broadcast_shape

    sizes = (1, 2, 3)
    shapes = [s for rank in range(4) for s in itertools.product(sizes, repeat=rank)]
    checked = 0
    for a, b in itertools.product(shapes, repeat=2):
        try:
            expected = tuple(torch.broadcast_shapes(a, b))
        except RuntimeError:
            expected = None
        assert broadcast_shape([a, b]) == expected, (a, b)
        checked += 1
    assert checked == len(shapes) ** 2 == 1600


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_an_elementwise_result_keeps_its_inputs_memory_format(layout):
    x = torch.empty(2, 3, 4, 5, device="meta").contiguous(memory_format=layout)
    tracer = Tracer()
    with OperatorRecorder(tracer):
        out = torch.relu(x)
    assert out.stride() == torch.empty_like(x).stride()


def test_a_mobilenet_block_imports_no_sympy():
    code = (
        "import torch\n"
        "from torch import nn\n"
        "import resnet_inspect as ri\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(8, 16, 3, padding=1)\n"
        "        self.act = nn.Hardswish()\n"
        "        self.pool = nn.AdaptiveAvgPool2d(1)\n"
        "        self.fc1, self.fc2 = nn.Conv2d(16, 8, 1), nn.Conv2d(8, 16, 1)\n"
        "        self.gate = nn.Hardsigmoid()\n"
        "    def forward(self, x):\n"
        "        x = self.act(self.conv(x))\n"
        "        return x * self.gate(self.fc2(torch.relu(self.fc1(self.pool(x)))))\n"
        "ri.analyze(Block(), (8, 16, 16))"
    )
    assert _imports_after(code) == {"torch._dynamo": False, "sympy": False}
