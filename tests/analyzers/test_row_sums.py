"""Rows add up: the leaf rows of every report sum to the model's parameters (counted by torch
here: `sum(p.numel())`) and multiply-adds. Parameters a container holds itself are a row of
their own, `(own parameters)`; modules that hold parameters but never ran are rows with no
output; containers that were never called show no output shape; a stage's subtotal says what
it holds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from resnet_inspect import analyze, build_model, summarize
from resnet_inspect.spec import preset_names


class TinyViT(nn.Module):
    """Patches, a class token and a position embedding owned by the model itself, two
    encoder layers in a ModuleList the forward loops over (their attention's out_proj weight is
    read by the attention's own forward, never called as a module), and an unused head."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 32, 8, 8)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 32))
        self.pos_embed = nn.Parameter(torch.zeros(1, 17, 32))
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(32, 4, 64, batch_first=True) for _ in range(2)
        )
        self.head = nn.Linear(32, 10)
        self.unused = nn.Linear(32, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), tokens], 1)
        tokens = tokens + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(tokens[:, 0])


class ScaledBlock(nn.Module):
    """A residual block with a layer scale: a parameter of the block itself."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), 1e-2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gamma * self.conv(x)


class Encoder(nn.Module):
    """A stage of six layers (no blocks) and a stage of two blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
        )
        self.enc2 = nn.Sequential(ScaledBlock(8), ScaledBlock(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc2(self.enc1(x))


def _leaves(report):
    return [row for row in report.layers if row.is_leaf]


@pytest.mark.parametrize("name", preset_names())
def test_every_presets_leaf_rows_sum_to_the_totals(name):
    report = summarize(name)
    leaves = _leaves(report)
    assert sum(row.params for row in leaves) == report.totals.params
    assert sum(row.macs for row in leaves) == report.totals.macs


@pytest.mark.parametrize("name", ["resnet18", "cifar_resnet20"])
def test_the_totals_are_torchs_count(name):
    model = build_model(name)
    assert summarize(name).totals.params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("factory", "shape"), [(TinyViT, (3, 32, 32)), (Encoder, (3, 16, 16))], ids=["vit", "encoder"]
)
def test_hand_written_models_rows_sum_to_torchs_count(factory, shape):
    model = factory()
    report = analyze(model, shape)
    expected = sum(p.numel() for p in model.parameters())
    assert sum(row.params for row in _leaves(report)) == report.totals.params == expected
    assert sum(row.macs for row in _leaves(report)) == report.totals.macs


def test_a_containers_own_parameters_are_a_row():
    report = analyze(TinyViT(), (3, 32, 32))
    rows = {row.name: row for row in report.layers}
    # the class token (32) and the position embedding (17 × 32) belong to the model itself
    own = rows["(own parameters)"]
    assert (own.params, own.depth, own.output_shape, own.is_leaf) == (32 + 17 * 32, 1, [], True)
    assert report.layers[0] is own  # first: the model's parameters come before its children
    # the attention's in_proj weight and bias (3 × 32 × 32 + 3 × 32) are its own; its forward
    # runs the projections itself: in 3 × 17 × 32 × 32, out 17 × 32 × 32 multiply-adds
    attention = rows["blocks.0.self_attn (own parameters)"]
    assert attention.params == 3 * 32 * 32 + 3 * 32
    assert attention.macs == 4 * 17 * 32 * 32
    out_proj = rows["blocks.0.self_attn.out_proj"]
    assert (out_proj.params, out_proj.calls, out_proj.output_shape) == (32 * 32 + 32, 0, [])
    assert rows["unused"].calls == 0 and rows["unused"].params == 32 * 5 + 5
    block = analyze(ScaledBlock(4), (4, 8, 8))
    assert {row.name: row.params for row in block.layers} == {
        "(own parameters)": 4,
        "conv": 4 * 4 * 9 + 4,
    }


def test_a_container_that_was_never_called_shows_no_output():
    report = analyze(TinyViT(), (3, 32, 32))
    rows = {row.name: row for row in report.layers}
    assert rows["blocks"].calls == 0
    assert rows["blocks"].output_shape == []
    assert rows["blocks.1"].output_shape == [1, 17, 32]


def test_a_subtotal_says_what_the_stage_holds():
    report = analyze(Encoder(), (3, 16, 16))
    stages = {stage.name: stage for stage in report.stages}
    assert (stages["enc1"].blocks, stages["enc1"].unit) == (6, "layer")
    assert (stages["enc2"].blocks, stages["enc2"].unit) == (2, "block")
    assert summarize("resnet50").stages[1].unit == "block"

    from rich.console import Console

    from resnet_inspect import render_table

    console = Console(width=160, record=True)
    console.print(render_table(report, "block"))
    text = console.export_text()
    assert "enc1 subtotal (6 layers)" in text
    assert "enc2 subtotal (2 blocks)" in text
