"""Models of several inputs, keyword inputs, integer inputs and example tensors; outputs that
are dicts, tuples and dataclasses reported whole. Shapes and counts from a real forward,
torch's own parameter count and FlopCounterMode."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from click.testing import CliRunner
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from factories import Masked, Segmenter, Siamese, TextEncoder
from resnet_inspect import analyze
from resnet_inspect.cli import cli
from resnet_inspect.errors import UsageError


def test_a_text_encoder_takes_integer_token_ids():
    model = TextEncoder()
    report = analyze(model, "ids=2x128:int64")
    assert report.inputs == [{"name": "ids", "shape": [2, 128], "dtype": "int64"}]
    assert report.batch_size == 2
    ids = torch.randint(0, 1000, (2, 128))
    with FlopCounterMode(display=False) as counter:
        real = model.train()(ids)  # (training mode: the layer's unfused path, dropout 0)
    assert report.totals.output_shape == list(real.shape)
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    # FlopCounterMode counts 2 per multiply-add (attention's products where it sees them)
    assert counter.get_total_flops() in (
        2 * report.totals.macs,
        2 * (report.totals.macs + report.totals.attention_macs),
    )


def test_a_segmentation_models_dict_is_reported_whole():
    model = Segmenter().eval()
    report = analyze(model, (3, 64, 64))
    with torch.no_grad():
        real = model(torch.randn(1, 3, 64, 64))
    assert report.totals.outputs == [
        {"name": f"[{key!r}]", "shape": list(value.shape)} for key, value in real.items()
    ]


@dataclasses.dataclass
class Output:
    logits: torch.Tensor
    extras: tuple[torch.Tensor, ...]


class ManyOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> Output:
        y = self.conv(x)
        return Output(y.mean((2, 3)), (y, [y.flatten(1)]))  # type: ignore[arg-type]


def test_dataclass_tuple_and_list_outputs_are_named_by_their_place():
    report = analyze(ManyOutputs(), (3, 8, 8))
    assert report.totals.outputs == [
        {"name": ".logits", "shape": [1, 4]},
        {"name": ".extras[0]", "shape": [1, 4, 4, 4]},
        {"name": ".extras[1][0]", "shape": [1, 64]},
    ]


def test_keyword_inputs_and_an_example_tensor_whose_values_are_never_read():
    mask = torch.ones(1, 32, 32, dtype=torch.bool)
    report = analyze(Masked(), {"x": (1, 3, 32, 32), "mask": mask}, graph=True)
    assert report.inputs == [
        {"name": "x", "shape": [1, 3, 32, 32], "dtype": "float32"},
        {"name": "mask", "shape": [1, 32, 32], "dtype": "bool"},
    ]
    assert report.totals.output_shape == [1, 8, 32, 32]
    names = [node.get("name") for node in report.graph.nodes if node["kind"] == "input"]
    assert names == ["input x", "input mask"]
    assert mask.device.type == "cpu" and bool(mask.all())  # the caller's tensor untouched


def test_positional_example_tensors_give_the_batch():
    # one tower on both images: 3·8·9 weights on 16×16 positions, 8·8·9 on 8×8, twice, batch 2
    images = (torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32))
    report = analyze(Siamese(), images)
    assert report.batch_size == 2
    assert report.totals.macs == 2 * 2 * (3 * 8 * 9 * 16 * 16 + 8 * 8 * 9 * 8 * 8)
    with pytest.raises(UsageError, match="batch"):
        analyze(Siamese(), images, batch_size=4)


# the masked model and its two inputs, as a user types them
MASKED = [
    "--model",
    "tests.factories:masked",
    "--input",
    "x=1x3x32x32",
    "--input",
    "mask=1x32x32:bool",
]


def test_the_command_line_takes_named_and_typed_inputs():
    runner = CliRunner()
    result = runner.invoke(cli, ["summary", *MASKED, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert '"name": "mask"' in result.output
    for args, message in [
        (["summary", "resnet18", "--input", "x=1x3x32x32"], "are for --model"),
        (
            ["summary", "--model", "tests.factories:masked", "--input", "x=1x3:int65"],
            "unknown element type 'int65'",
        ),
        (
            ["summary", "--model", "tests.factories:masked", "--input", "x=1x3x32x32"],
            "mask",
        ),
    ]:
        result = runner.invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_drawing_shows_each_input(tmp_path):
    output = tmp_path / "masked.dot"
    result = CliRunner().invoke(cli, ["diagram", *MASKED, "--depth", "layer", "-o", str(output)])
    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "input x" in text and "input mask" in text


def test_fvcore_runs_on_the_given_inputs():
    images = (torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32))
    report = analyze(Siamese(), images, fvcore=True)
    assert report.flops is not None and report.flops.engine == "fvcore"
    # fvcore counts a convolution's multiply-adds: the two towers' at batch 2, by hand
    assert report.flops.full_total == 2 * 2 * (3 * 8 * 9 * 16 * 16 + 8 * 8 * 9 * 8 * 8)
    keyword = analyze(Masked(), {"mask": (1, 16, 16), "x": (1, 3, 16, 16)}, fvcore=True)
    assert keyword.flops is not None and keyword.flops.full_total == 3 * 8 * 9 * 16 * 16


class Checked(nn.Module):
    """Refuses inputs of the wrong type, as a real model would fail on them."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        assert ids.dtype == torch.int64 and mask.dtype == torch.bool
        return self.embed(ids) * mask.unsqueeze(-1)


def test_latency_runs_the_model_on_real_inputs_of_the_given_types():
    from resnet_inspect import LatencyOptions

    timing = LatencyOptions(batch_sizes=(1, 3), warmup=1, iters=3, min_time_s=0.0)
    report = analyze(Checked(), {"ids": "1x12:int64", "mask": "1x12:bool"}, latency=timing)
    assert report.latency is not None
    rows = report.latency.rows
    assert [row["batch_size"] for row in rows] == [1, 3]
    assert all(not row.get("error") and row["samples"] == 3 for row in rows)
