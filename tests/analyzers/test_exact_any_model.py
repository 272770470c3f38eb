"""Exact numbers for any nn.Module: one small hand-written model per pattern that public models
use, each checked against references that share no code with resnet-inspect:

* a real forward on real tensors (every module's output shape, the model's output),
* `sum(p.numel())`,
* torch's FlopCounterMode on real tensors (2 x multiply-adds of conv, mm, addmm, bmm, sdpa):
  its total / 2 = our macs + attention_macs,
* fvcore's FlopCountAnalysis on real tensors for `full`,
* the gradient support of one output unit for the receptive field.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resnet_inspect import analyze
from resnet_inspect.errors import AnalysisError

# --- the patterns -------------------------------------------------------------------------


class ModuleListLoop(nn.Module):
    """Blocks kept in an nn.ModuleList that forward loops over (MaxViT, ViT, Swin...)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(16, 16, 3, padding=1) for _ in range(3))
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x) + x
        return self.head(x.mean((2, 3)))


class Attention(nn.Module):
    """Patch embedding, then nn.MultiheadAttention (projections through F.linear inside
    F.multi_head_attention_forward) and an MLP: a tiny ViT."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 4, stride=4)
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        y = self.norm(tokens)
        tokens = tokens + self.attn(y, y, y)[0]
        return tokens + self.mlp(tokens)


class EinsumAttention(nn.Module):
    """Attention written with einsum, and an einsum with a weight."""

    def __init__(self, dim: int = 16) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 2, stride=2)
        self.qkv = nn.Parameter(torch.randn(3, dim, dim) / dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)  # N, L, D
        q, k, v = torch.einsum("nld,sde->snle", t, self.qkv)
        scores = torch.einsum("nqd,nkd->nqk", q, k).softmax(-1)
        return torch.einsum("nqk,nkd->nqd", scores, v)


class Functional(nn.Module):
    """Layers that keep their own weights and call F.conv2d / F.linear."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.fc_weight = nn.Parameter(torch.randn(5, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, stride=2, padding=1)
        return F.linear(x.mean((2, 3)), self.fc_weight)


class SameConv(nn.Conv2d):
    """TF "same" padding computed inside forward, as TF-ported EfficientNets do."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        pad_h = max(
            (-(-height // self.stride[0]) - 1) * self.stride[0] + self.kernel_size[0] - height, 0
        )
        pad_w = max(
            (-(-width // self.stride[1]) - 1) * self.stride[1] + self.kernel_size[1] - width, 0
        )
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class BatchNormAct(nn.BatchNorm2d):
    """A BatchNorm2d that applies dropout and an activation of its own (timm's BatchNormAct2d)."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.drop = nn.Dropout(0.1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.drop(super().forward(x)))


class Subclasses(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = SameConv(3, 8, 3, stride=2)
        self.bn = BatchNormAct(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        gate = torch.sigmoid(self.fc2(torch.tanh(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * gate


class ChannelShuffle(nn.Module):
    """ShuffleNet's shuffle: view, transpose, contiguous, view between two convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, groups=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        return self.conv2(x)


class ChannelsLastMLP(nn.Module):
    """A ConvNeXt block: depthwise 7x7, permute, LayerNorm and Linear over channels, back."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 3, padding=1)
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class Decoder(nn.Module):
    """Transposed convolution, instance/group norm, upsampling, dilated and depthwise convs."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.dilated = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.gnorm = nn.GroupNorm(2, 8)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gnorm(self.depthwise(self.dilated(self.inorm(self.down(x)))))
        return self.upsample(self.up(x))


class Transformer(nn.Module):
    """Patch embedding and nn.TransformerEncoder: attention through
    F.scaled_dot_product_attention inside nn.MultiheadAttention (need_weights=False)."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, 4, stride=4)
        layer = nn.TransformerEncoderLayer(dim, 4, 2 * dim, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(x).flatten(2).transpose(1, 2)
        return self.head(self.encoder(tokens).mean(1))


class FlattenAfter(nn.Module):
    """The model's output is made after its last module (a flatten in forward)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).flatten(1)


PATTERNS = {
    "modulelist": (ModuleListLoop, (3, 16, 16)),
    "multihead_attention": (Attention, (3, 16, 16)),
    "einsum_attention": (EinsumAttention, (3, 8, 8)),
    "functional": (Functional, (3, 16, 16)),
    "subclasses": (Subclasses, (3, 15, 15)),
    "squeeze_excite": (SqueezeExcite, (3, 16, 16)),
    "channel_shuffle": (ChannelShuffle, (3, 16, 16)),
    "channels_last_linear": (ChannelsLastMLP, (3, 24, 24)),
    "decoder": (Decoder, (3, 16, 16)),
    "flatten_after": (FlattenAfter, (3, 8, 8)),
    "transformer": (Transformer, (3, 32, 32)),
}


def _model(name: str) -> tuple[nn.Module, tuple[int, int, int]]:
    torch.manual_seed(0)
    factory, shape = PATTERNS[name]
    return factory().eval(), shape


# --- the references -----------------------------------------------------------------------


def _real_shapes(
    model: nn.Module, shape: tuple[int, ...]
) -> tuple[dict[str, list[int]], list[int]]:
    """Every module's first output shape and the model's output, from a real forward."""
    seen: dict[str, list[int]] = {}

    def hook_for(name: str):
        def hook(_module, _inputs, out) -> None:
            first = out[0] if isinstance(out, tuple) else out
            seen.setdefault(name, list(first.shape))

        return hook

    handles = [
        module.register_forward_hook(hook_for(name))
        for name, module in model.named_modules()
        if name
    ]
    try:
        with torch.no_grad():
            out = model(torch.randn(2, *shape))
    finally:
        for handle in handles:
            handle.remove()
    return seen, list(out.shape)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_row_shape_and_the_output_match_a_real_forward(name):
    model, shape = _model(name)
    report = analyze(model, shape, batch_size=2)
    shapes, output = _real_shapes(model, shape)
    rows = {row.name: row for row in report.layers}
    for module_name, real in shapes.items():
        assert rows[module_name].output_shape == real, module_name
    assert report.totals.output_shape == output
    assert report.totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_multiply_adds_match_torch_flop_counter(name):
    model, shape = _model(name)
    report = analyze(model, shape, batch_size=2)
    from torch.nn.attention import SDPBackend, sdpa_kernel

    # grad mode: nn.MultiheadAttention takes its Python path, as it does in the meta pass; the
    # math attention kernel, whose products FlopCounterMode counts (not the CPU flash kernel)
    with FlopCounterMode(display=False) as counter, sdpa_kernel(SDPBackend.MATH):
        model(torch.randn(2, *shape))
    assert report.totals.macs + report.totals.attention_macs == counter.get_total_flops() // 2


def test_attention_is_apart_from_the_layers():
    dim, tokens = 32, 16  # 16x16 input, 4x4 patches
    report = analyze(Attention(dim).eval(), (3, 16, 16))
    embed = tokens * dim * 3 * 4 * 4
    projections = tokens * dim * 3 * dim + tokens * dim * dim  # in_proj (q, k, v) and out_proj
    mlp = tokens * dim * 2 * dim * 2
    assert report.totals.macs == embed + projections + mlp
    assert report.totals.attention_macs == 2 * tokens * tokens * dim  # q·kᵀ and weights · v
    attn = next(row for row in report.layers if row.name == "attn")
    assert attn.macs == projections and attn.attention_macs == 2 * tokens * tokens * dim


def test_attention_inside_a_transformer_layer_by_hand():
    # 32x32 input, 4x4 patches: 64 tokens of 32; two layers of attention (4 heads of 8) and a
    # feed-forward of 64; fvcore has no handler for scaled_dot_product_attention, so `full`
    # leaves attention out as fvcore does (test above), and attention_macs holds it.
    tokens, dim = 64, 32
    report = analyze(Transformer(dim).eval(), (3, 32, 32))
    per_layer = tokens * dim * 3 * dim + tokens * dim * dim + 2 * tokens * dim * 2 * dim
    embed, head = tokens * dim * 3 * 16, dim * 10
    assert report.totals.macs == embed + 2 * per_layer + head
    assert report.totals.attention_macs == 2 * 2 * tokens * tokens * dim
    assert "aten::scaled_dot_product_attention" in report.flops.uncounted_ops


def test_never_called_containers_sum_what_ran_inside_them():
    model, shape = _model("modulelist")
    report = analyze(model, shape)
    blocks = next(row for row in report.layers if row.name == "blocks")
    assert blocks.calls == 0 and blocks.depth == 1
    assert blocks.macs == 3 * 16 * 16 * 16 * 9 * 16  # three 3x3 16->16 convs at 16x16
    assert sum(row.macs for row in report.layers if row.depth == 1) == report.totals.macs


def _fvcore_total(model: nn.Module, shape: tuple[int, ...]) -> int:
    from fvcore.nn import FlopCountAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(model, torch.randn(1, *shape))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return int(analysis.total())


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_full_is_fvcore_convention_exactly(name):
    model, shape = _model(name)
    report = analyze(model, shape)
    assert report.flops.full_total == _fvcore_total(model, shape)
    assert report.flops.label == "full (fvcore's convention)"


def _support(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, bool]:
    """Rows of the input the centre unit of the output depends on; and whether it is all."""
    torch.manual_seed(1)
    x = torch.randn(1, *shape, dtype=torch.float64, requires_grad=True)
    out = model.double()(x)
    if out.dim() == 4:
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    else:
        out[0, out.shape[1] // 2, 0].backward()
    rows = (x.grad[0].abs().sum((0, 2)) > 0).nonzero().flatten()
    return int(rows.max() - rows.min() + 1), len(rows) == shape[1]


def test_receptive_field_through_views_copies_and_channel_wise_linear():
    for name, expected in (("channel_shuffle", 5), ("channels_last_linear", 9)):
        model, shape = _model(name)
        report = analyze(model, shape)
        support, everything = _support(model, shape)
        assert report.totals.receptive_field == support == expected, name
        assert not everything and report.totals.global_from is None


def test_a_global_gate_makes_the_field_global():
    model, shape = _model("squeeze_excite")
    report = analyze(model, shape)
    support, everything = _support(model, shape)
    assert everything  # the gradient of one output reaches every input row
    assert report.totals.receptive_field == "global"
    assert report.totals.global_from == "(model)"  # the pool is functional code in forward
    assert report.totals.local_receptive_field == 3  # the 3x3 conv alone
    torch.manual_seed(0)
    attention = Attention().eval()
    report_attn = analyze(attention, (3, 16, 16))
    assert _support(attention, (3, 16, 16))[1]  # one token's output depends on every row
    assert report_attn.totals.receptive_field == "global"
    assert report_attn.totals.global_from == "attn"
    assert report_attn.totals.local_receptive_field == 4  # the 4x4 patch


def test_a_shape_the_real_forward_refuses_is_an_analysis_error():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8192, 10))
    with pytest.raises(RuntimeError):  # the real forward refuses: 8 * 64 * 64 = 32,768
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(AnalysisError) as error:
        analyze(model, (3, 64, 64))
    message = str(error.value)
    assert message.startswith("2 (Linear)") and "32768" in message and "8,192" in message


def test_the_models_hooks_never_run_and_are_kept():
    model, shape = _model("functional")
    calls = []

    def reads_values(_module, _inputs, output):
        calls.append(float(output.detach().sum()))  # fails on a meta tensor

    handle = model.register_forward_hook(reads_values)
    global_handle = nn.modules.module.register_module_forward_hook(reads_values)
    try:
        report = analyze(model, shape)
        assert report.totals.output_shape == [1, 5] and calls == []
        model(torch.randn(1, *shape))
        assert len(calls) == 2  # still there: the model's hook and the global one
    finally:
        handle.remove()
        global_handle.remove()


@pytest.mark.subprocess
def test_the_meta_pass_makes_elementwise_results_itself():
    # torch computes an elementwise op on meta tensors with Python reference code that imports
    # sympy on first use (about a second); the pass makes those results itself. Shapes and
    # broadcasting stay those of a real forward (the SE gate's N×C×1×1 product above).
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from resnet_inspect import summarize\n"
        "before = 'sympy.polys' in sys.modules\n"
        "summarize('resnet50')\n"
        "print(before, 'sympy.polys' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
