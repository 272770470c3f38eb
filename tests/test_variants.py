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


# -- ResNet-C's deep stem and ResNet-D's average-pool shortcut (He et al. 2019) ---------------

# The deep stem: 3x3 convs 3->32 (stride 2), 32->32, 32->64, each with a BN of its width,
# instead of a 7x7 conv 3->64 (9,408 weights); ResNet-D's pool adds no parameters.
DEEP_STEM = 3 * 3 * 3 * 32 + 2 * 32 + 3 * 3 * 32 * 32 + 2 * 32 + 3 * 3 * 32 * 64
STEM_7x7 = 7 * 7 * 3 * 64


@pytest.mark.parametrize(
    ("name", "base", "published"),
    [
        ("resnet18d", "resnet18", 11_708_744),
        ("resnet34d", "resnet34", 21_816_904),
        ("resnet50d", "resnet50", 25_576_264),
    ],
)
def test_d_variant_parameter_counts_are_timms(name, base, published):
    params = sum(p.numel() for p in build_model(name, device="meta").parameters())
    assert params == REFERENCE["models"][base]["params"] - STEM_7x7 + DEEP_STEM == published


def test_resnet26d_by_hand():
    # Two bottlenecks per stage of widths (64, 256), (128, 512), (256, 1024), (512, 2048); the
    # first of each stage has a 1x1 projection (and BN); bn1 of the stem (64) and fc (2048 -> 1000).
    total = DEEP_STEM + 2 * 64
    in_channels = 64
    for mid, out in ((64, 256), (128, 512), (256, 1024), (512, 2048)):
        for index in range(2):
            cin = in_channels if index == 0 else out
            total += cin * mid + 2 * mid + 9 * mid * mid + 2 * mid + mid * out + 2 * out
            if index == 0:
                total += cin * out + 2 * out
        in_channels = out
    total += 2048 * 1000 + 1000
    assert total == 16_014_408  # timm's resnet26d
    assert sum(p.numel() for p in build_model("resnet26d", device="meta").parameters()) == total


def _resnet50d_forward(sd, x):
    """An independent re-statement of ResNet-50-D's forward from a state_dict alone: the deep
    stem, v1.5 bottlenecks, and where the shape changes an average pool (2x2 at the stride,
    ceil mode, padding not counted) before the 1x1 projection."""
    import torch
    import torch.nn.functional as F

    def bn(t, prefix):
        return F.batch_norm(
            t,
            sd[f"{prefix}.running_mean"],
            sd[f"{prefix}.running_var"],
            sd[f"{prefix}.weight"],
            sd[f"{prefix}.bias"],
            False,
            0.0,
            1e-5,
        )

    x = F.relu(bn(F.conv2d(x, sd["conv1.weight"], stride=2, padding=1), "bn1"))
    x = F.relu(bn(F.conv2d(x, sd["conv2.weight"], padding=1), "bn2"))
    x = F.relu(bn(F.conv2d(x, sd["conv3.weight"], padding=1), "bn3"))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage, count in enumerate([3, 4, 6, 3]):
        for index in range(count):
            p = f"layer{stage + 1}.{index}"
            stride = 2 if stage > 0 and index == 0 else 1
            out = F.relu(bn(F.conv2d(x, sd[f"{p}.conv1.weight"]), f"{p}.bn1"))
            out = F.relu(
                bn(F.conv2d(out, sd[f"{p}.conv2.weight"], stride=stride, padding=1), f"{p}.bn2")
            )
            out = bn(F.conv2d(out, sd[f"{p}.conv3.weight"]), f"{p}.bn3")
            identity = x
            if f"{p}.downsample.1.weight" in sd:
                pooled = (
                    F.avg_pool2d(x, 2, stride, ceil_mode=True, count_include_pad=False)
                    if stride > 1
                    else x
                )
                identity = bn(F.conv2d(pooled, sd[f"{p}.downsample.1.weight"]), f"{p}.downsample.2")
            x = F.relu(out + identity)
    x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    return F.linear(x, sd["fc.weight"], sd["fc.bias"])


@pytest.mark.parametrize("size", [64, 56])  # 56: odd maps (7 -> 4) meet the ceil-mode pool
def test_resnet50d_forward_equals_an_independent_re_statement(size):
    import torch

    model = build_model("resnet50d", seed=3).eval()
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for module in model.modules():  # non-trivial BN statistics
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
        x = torch.randn(2, 3, size, size, generator=generator)
        ours = model(x)
        theirs = _resnet50d_forward(model.state_dict(), x)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_avgpool_shortcut_is_its_own_kind():
    from resnet_inspect.build import AvgPoolProjection

    model = build_model("resnet50d", device="meta")
    shortcuts = [m for m in model.modules() if isinstance(m, AvgPoolProjection)]
    assert len(shortcuts) == 4  # the first block of each stage
    graph = summarize("resnet50d").graph
    labels = {edge["shortcut"] for edge in graph["edges"] if edge["shortcut"]}
    assert labels == {"identity", "avg-pool + projection 1×1"}
    report = summarize("resnet50d")
    assert report.totals.weighted_layers - report.totals.depth == 4  # the projections


def test_d_variant_check_rules_and_compare():
    runner = CliRunner()
    assert runner.invoke(cli, ["summary", "resnet50d", "--check"]).exit_code == 0
    assert runner.invoke(cli, ["validate", "--rules", "resnet50d", "resnet18d"]).stderr == ""
    comparison = compare(["resnet50", "resnet50d"])
    changed = {row["module"] for row in comparison.module_differences[1]}
    # The stem and the four projections (their convolution moved from downsample.0 to .1).
    assert {"conv1", "conv2", "conv3", "bn2", "bn3", "layer2.0.downsample.1"} <= changed
