"""compare: the ResNet notes' block comparison, networks, design rules, spec diffs."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner

from conftest import REFERENCE
from resnet_inspect import compare
from resnet_inspect.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_bottleneck_vs_plain_the_notes_numbers():
    seed = REFERENCE["seed_block_comparison"]
    comparison = compare(["bottleneck", "plain"])
    bottleneck, plain = comparison.items
    assert bottleneck.totals.conv_weights == seed["bottleneck_conv_weights"] == 69_632
    assert plain.totals.conv_weights == seed["plain_conv_weights"] == 1_179_648
    # With BN: each BN has a weight and a bias per channel.
    assert bottleneck.totals.params == 69_632 + 2 * (64 + 64 + 256)
    assert plain.totals.params == 1_179_648 + 2 * (256 + 256)
    # MACs at 256x56x56 (stage 2 of ResNet-50): every weight is used once per output position.
    assert bottleneck.totals.macs == 69_632 * 56 * 56
    assert plain.totals.macs == 1_179_648 * 56 * 56
    assert bottleneck.layers[-1].output_shape == plain.layers[-1].output_shape == [1, 256, 56, 56]


def test_compare_table_shows_the_ratio():
    result = run("compare", "bottleneck", "plain")
    assert result.exit_code == 0, result.output
    conv_line = next(line for line in result.stdout.splitlines() if line.startswith("Conv weights"))
    assert "69,632" in conv_line and "1,179,648" in conv_line and "16.9×" in conv_line


def test_other_blocks_by_hand():
    items = compare(["basic", "resnext_bottleneck", "wide_bottleneck", "bottleneck"]).items
    assert items[0].totals.conv_weights == 2 * 3 * 3 * 64 * 64
    # ResNeXt: 1x1 256->128, 3x3 128->128 in 32 groups (4 input channels each), 1x1 128->256.
    assert items[1].totals.conv_weights == 256 * 128 + 3 * 3 * 4 * 128 + 128 * 256
    assert items[2].totals.conv_weights == 256 * 128 + 3 * 3 * 128 * 128 + 128 * 256


def test_chosen_input_for_the_blocks():
    comparison = compare(["bottleneck", "plain"], input_shape=(28, 28))
    assert comparison.items[0].totals.macs == 69_632 * 28 * 28


def test_block_from_a_yaml_file(write_spec):
    path = write_spec(
        "name: narrow\ninput: [256, 56, 56]\nstem: []\nblock: bottleneck\n"
        "stages:\n  - {filters: [32, 32, 256], blocks: 1}\nhead: none\n"
    )
    item = compare(["bottleneck", path]).items[1]
    assert item.totals.conv_weights == 256 * 32 + 9 * 32 * 32 + 32 * 256


def test_shortcuts_add_only_the_projections():
    reference = REFERENCE["models"]["resnet34"]["state_dict"]
    comparison = compare(["plain34", "resnet34"])
    rows = comparison.module_differences[1]
    assert [row["module"] for row in rows] == [
        f"layer{s}.0.downsample.{i}" for s in (2, 3, 4) for i in (0, 1)
    ]
    for row in rows:
        # torchvision's own shapes for those modules, multiplied out.
        shape = reference[f"{row['module']}.weight"]
        expected = shape[0] * shape[1] if len(shape) == 4 else 2 * shape[0]
        assert row["params"] == expected and row["baseline_params"] == 0
    plain, residual = comparison.items
    assert residual.totals.params - plain.totals.params == sum(row["params"] for row in rows)
    assert comparison.spec_differences[1] == [{"key": "shortcut", "baseline": "none", "value": "B"}]


def test_option_a_shortcuts_add_nothing():
    comparison = compare(["cifar_plain56", "cifar_resnet56"])
    assert comparison.module_differences[1] == []
    assert comparison.items[0].totals.params == comparison.items[1].totals.params


def test_baseline_option_and_diff():
    result = run("compare", "resnet50_v1", "resnet50", "--baseline", "resnet50", "--diff")
    assert result.exit_code == 0
    assert "ratios against resnet50" in result.stdout
    # The baseline's MACs, then resnet50_v1's with its ratio: 3,857,973,248 / 4,089,184,256.
    assert "3,857,973,248 0.943×" in " ".join(result.stdout.split())
    assert "stride_on" in result.stdout and '"1x1"' in result.stdout and '"3x3"' in result.stdout
    bad = run("compare", "resnet18", "resnet34", "--baseline", "resnet99")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("--baseline 'resnet99' is not one of the compared items")


def test_by_stage_shows_macs_per_layer():
    result = run("compare", "plain18", "resnet18", "--by", "stage")
    assert result.exit_code == 0
    # plain18's layer1: four 3x3 convs of 64 on 56x56, 3*3*64*64*56*56 MACs each.
    line = next(line for line in result.stdout.splitlines() if line.startswith("layer1 "))
    assert f"{3 * 3 * 64 * 64 * 56 * 56:,}" in line


def test_formats():
    data = json.loads(run("compare", "bottleneck", "plain", "--format", "json").stdout)
    assert [item["totals"]["conv_weights"] for item in data["items"]] == [69_632, 1_179_648]
    rows = list(
        csv.reader(io.StringIO(run("compare", "bottleneck", "plain", "--format", "csv").stdout))
    )
    assert rows[0] == ["metric", "bottleneck", "plain"]
    assert rows[1] == ["Input shape", "1x256x56x56", "1x256x56x56"]
    assert rows[2] == ["Conv weights", "69632", "1179648"]
    markdown = run("compare", "bottleneck", "plain", "--format", "markdown").stdout
    assert "| Conv weights | 69,632 | 1,179,648 | 16.9× |" in markdown


def test_errors():
    one = run("compare", "resnet18")
    assert one.exit_code == 2 and "two or more" in one.stderr
    unknown = run("compare", "resnet18", "bottlenek")
    assert unknown.exit_code == 2
    assert unknown.stderr == (
        "bottlenek: no such file or preset: 'bottlenek' (did you mean 'bottleneck'?)\n"
    )


def test_validate_rules_warns_with_locations(write_spec):
    path = write_spec(
        "extends: resnet18\nstages:\n  - {filters: [64, 64], blocks: 2}\n"
        "  - {filters: [96, 96], blocks: 2, stride: 2}\n"
    )
    result = run("validate", "--rules", path)
    assert result.exit_code == 0  # warnings, not errors
    assert result.stderr.splitlines() == [
        f"{path}:4:15: warning: stages.1.filters: layer2.0.conv1: the feature map halves to "
        "28x28 but the filters go from 64 to 96, not 128 (rule 2: size halved, filters doubled, "
        "so the time complexity per layer is preserved)"
    ]


def test_the_papers_plain_nets_follow_their_rules():
    result = run("validate", "--rules", "plain18", "plain34", "cifar_plain56")
    assert result.exit_code == 0 and result.stderr == ""


def test_validate_rules_rule_one(write_spec):
    path = write_spec(
        "extends: resnet18\nstages:\n  - {filters: [64, 64], blocks: 1}\n"
        "  - filters: [128, 128]\n    stride: 2\n    blocks: [default, {filters: [160, 128]}]\n"
    )
    result = run("validate", "--rules", path)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"{path}:6:33: warning: stages.1.blocks.1.filters: layer2.1.conv1: 160 filters at 28x28 "
        "where layer2.0.conv1 has 128 (rule 1: same output size, same number of filters)"
    ]


def test_labels_of_repeated_items_and_no_differences_said():
    result = run("compare", "resnet18", "resnet18")
    assert result.exit_code == 0
    assert "resnet18 (#1)" in result.stdout and "resnet18 (#2)" in result.stdout
    assert "resnet18 (resnet18)" not in result.stdout
    same = run("compare", "cifar_plain56", "cifar_resnet56")
    text = " ".join(same.stdout.split())
    assert "No module of cifar_resnet56 differs from cifar_plain56 in parameters or MACs." in text


def test_small_wording():
    summary = run("summary", "cifar_resnet20").stdout.replace("│", " ")
    text = " ".join(summary.split())
    assert "(1 blocks)" not in text and "((" not in text
    # Option A: zero-padding shortcuts, no projections; depth 20 counts every weighted layer.
    assert "none off it (no projection shortcuts)" in text
    resnet = " ".join(run("summary", "resnet50").stdout.replace("│", " ").split())
    assert "54 with the 4 off it (projection shortcuts, gates)" in resnet


def test_the_plain_block_is_said_to_be_residual_wherever_it_is_shown(tmp_path):
    compared = run("compare", "bottleneck", "plain", "plain34").stdout
    header = compared.split("━")[0]
    assert header.count("residual block") == 2 and "network without shortcuts" in header
    presets = run("presets").stdout
    line = next(line for line in presets.splitlines() if line.startswith("plain "))
    assert "residual block" in line and "identity shortcut" in presets
    drawing = tmp_path / "plain.svg"
    assert run("diagram", "plain", "-o", str(drawing)).exit_code == 0
    assert "plain: residual block" in drawing.read_text()


def test_input_that_makes_a_map_vanish_keeps_the_stem_layers_location(tmp_path):
    spec = tmp_path / "unpadded.yaml"
    spec.write_text(
        "name: unpadded\ninput: [3, 64, 64]\nstem:\n"
        "  - {conv: 16, kernel: 7, stride: 2, padding: 0}\n  - bn\n  - relu\n"
        "block: basic\nstages:\n  - {filters: [16, 16], blocks: 1, stride: 1}\nhead: none\n"
    )
    result = run("summary", str(spec), "--input", "3x6x6")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:4:5: stem.0: feature map shrinks to 0x0 here")
