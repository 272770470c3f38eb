"""ResNet variants as spec settings: squeeze-and-excitation (Hu et al. 2018)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import REFERENCE
from resnet_inspect import build_model, compare, summarize
from resnet_inspect.cli import cli
from resnet_inspect.errors import SpecError
from resnet_inspect.spec import load_spec

# ResNet-50's blocks per stage and output widths C; the SE gate of a block adds
# C*(C/16) + C/16 (fc1 with bias) + (C/16)*C + C (fc2 with bias) parameters.
STAGES = [(3, 256), (4, 512), (6, 1024), (3, 2048)]
SE_PARAMS = sum(blocks * (2 * c * (c // 16) + c // 16 + c) for blocks, c in STAGES)
SE_MACS = sum(blocks * 2 * c * (c // 16) for blocks, c in STAGES)  # on a 1x1 map, per image


def test_se_parameter_counts_are_timms():
    assert SE_PARAMS == 2_530_992
    for name, base, published in (
        ("seresnet50", "resnet50", 28_088_024),
        ("seresnext50_32x4d", "resnext50_32x4d", 27_559_896),
    ):
        model = build_model(name, device="meta")
        params = sum(p.numel() for p in model.parameters())
        assert params == REFERENCE["models"][base]["params"] + SE_PARAMS == published


def test_se_state_dict_names_and_shapes():
    model = build_model("seresnet50", device="meta")
    keys = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert keys["layer1.0.se.fc1.weight"] == [16, 256, 1, 1]
    assert keys["layer4.2.se.fc2.weight"] == [2048, 128, 1, 1]
    torchvision = REFERENCE["models"]["resnet50"]["state_dict"]
    assert {k: v for k, v in keys.items() if ".se." not in k} == torchvision
    assert sum(".se." in k for k in keys) == 16 * 4  # two convs with biases per block


def test_se_macs_the_paper_way():
    # The gate's 1x1 convs run on a 1x1 map: 2*C*C/16 multiply-adds per block.
    assert summarize("seresnet50").totals.macs == summarize("resnet50").totals.macs + SE_MACS


def test_se_keeps_depth_and_local_receptive_field():
    report = summarize("seresnet50")
    assert report.totals.depth == 50  # SE-ResNet-50 is still "50"
    assert report.totals.weighted_layers == 54 + 32
    assert report.totals.receptive_field == 427  # the gate scales positions, moves no window
    assert report.totals.receptive_field == summarize("resnet50").totals.receptive_field


def test_se_gate_is_a_side_branch_in_the_graph():
    graph = summarize("seresnet50").graph
    nodes = graph["nodes"]
    muls = [node for node in nodes if node["type"] == "mul"]
    assert len(muls) == 16
    for mul in muls:
        sources = [nodes[e["source"]] for e in graph["edges"] if e["target"] == mul["id"]]
        main, gate = sorted(sources, key=lambda node: node["type"])
        # The main path's BN and the gate's sigmoid meet at the multiply: a side branch.
        assert main["type"] == "BatchNorm2d" and gate["type"] == "sigmoid"
        assert gate["module"] == main["module"].rsplit(".", 1)[0] + ".se.gate"


def test_compare_itemises_the_gates():
    comparison = compare(["resnet50", "seresnet50"])
    rows = comparison.module_differences[1]
    assert len(rows) == 16 * 2  # fc1 and fc2 of every block
    assert sum(r["params"] - r["baseline_params"] for r in rows) == SE_PARAMS


def test_check_rules_and_round_trip(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["summary", "seresnet50", "--check"]).exit_code == 0
    rules = runner.invoke(cli, ["validate", "--rules", "seresnet50"])
    assert rules.exit_code == 0 and rules.stderr == ""
    text = runner.invoke(cli, ["spec", "seresnet50"]).stdout
    assert "se: {reduction: 16, divisor: 8}" in text
    path = tmp_path / "again.yaml"
    path.write_text(text)
    again = json.loads(runner.invoke(cli, ["summary", str(path), "--format", "json"]).stdout)
    assert again["totals"]["params"] == 28_088_024


def test_exact_reduction_with_divisor_one(write_spec):
    # r = 16 without rounding: C/16 exactly, the same for ResNet-50's widths.
    exact = write_spec("extends: resnet50\nse: {reduction: 16, divisor: 1}\n")
    assert summarize(exact).totals.params == 28_088_024
    odd = write_spec("extends: resnet50\nse: {reduction: 24, divisor: 1}\n")
    # C/24 floors to 10, 21, 42, 85 (rounded to the nearest whole channel).
    widths = [round(c / 24) for _, c in STAGES]
    extra = sum(b * (2 * c * w + w + c) for (b, c), w in zip(STAGES, widths, strict=True))
    assert summarize(odd).totals.params == 25_557_032 + extra


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("se: {reduction: 0}", "se.reduction: reduction must be a whole number from 1 to 4,096"),
        ("se: 16", "se: se takes a mapping (e.g. se: {reduction: 16})"),
        ("se: {ratio: 16}", "se.ratio: unknown key in se (allowed: reduction, divisor)"),
    ],
)
def test_bad_se_settings_are_located(write_spec, text, message):
    path = write_spec(f"extends: resnet50\n{text}\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert [line.split(": ", 1)[1] for line in err.value.lines()] == [message]
