"""ResNet variants as spec settings: squeeze-and-excitation (Hu et al. 2018)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import REFERENCE, batch_norm
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
    report = summarize("seresnet50", graph=True)
    assert report.totals.depth == 50  # SE-ResNet-50 is still "50"
    assert report.totals.weighted_layers == 54 + 32
    # The gate's global pool reaches every later position: the whole input is seen; through
    # convolution and pooling windows alone the field is ResNet-50's 427.
    assert report.totals.receptive_field == "global"
    assert report.totals.global_from == "layer1.0.se.pool"
    assert report.totals.local_receptive_field == 427
    assert report.totals.local_receptive_field == summarize("resnet50").totals.receptive_field


def test_se_gate_is_a_side_branch_in_the_graph():
    graph = summarize("seresnet50", graph=True).graph
    nodes = graph.nodes
    muls = [node for node in nodes if node["type"] == "mul"]
    assert len(muls) == 16
    for mul in muls:
        sources = [nodes[e["source"]] for e in graph.edges if e["target"] == mul["id"]]
        main, gate = sorted(sources, key=lambda node: node["type"])
        # The main path's BN and the gate's sigmoid module meet at the multiply: a side branch.
        assert main["type"] == "BatchNorm2d" and gate["type"] == "Sigmoid"
        assert gate["kind"] == "layer"
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
        return batch_norm(sd, t, prefix)

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
    from resnet_inspect.plan.shortcuts import AvgPoolProjection

    model = build_model("resnet50d", device="meta")
    shortcuts = [m for m in model.modules() if isinstance(m, AvgPoolProjection)]
    assert len(shortcuts) == 4  # the first block of each stage
    graph = summarize("resnet50d", graph=True).graph
    labels = {edge["shortcut"] for edge in graph.edges if edge["shortcut"]}
    assert labels == {"identity", "avg-pool + projection 1×1"}
    report = summarize("resnet50d", graph=True)
    assert report.totals.weighted_layers - report.totals.depth == 4  # the projections


def test_d_variant_check_rules_and_compare():
    runner = CliRunner()
    assert runner.invoke(cli, ["summary", "resnet50d", "--check"]).exit_code == 0
    assert runner.invoke(cli, ["validate", "--rules", "resnet50d", "resnet18d"]).stderr == ""
    comparison = compare(["resnet50", "resnet50d"])
    changed = {row["module"] for row in comparison.module_differences[1]}
    # The stem and the four projections (their convolution moved from downsample.0 to .1).
    assert {"conv1", "conv2", "conv3", "bn2", "bn3", "layer2.0.downsample.1"} <= changed


# -- Pre-activation blocks (He et al. 2016, "Identity Mappings in Deep Residual Networks") ----


def preact_bn_params(block: str, counts: list[int], stem: int, mids: list[int], expansion: int):
    """The BN parameters of a pre-activation net, by hand: per block a BN over its input and
    one after each convolution but the last; at the end one BN over the last width."""
    total, in_channels = 0, stem
    for count, mid in zip(counts, mids, strict=True):
        out = mid * expansion
        for index in range(count):
            cin = in_channels if index == 0 else out
            total += 2 * cin + (2 * mid if block == "basic" else 4 * mid)
        in_channels = out
    return total + 2 * in_channels


IMAGENET = {
    "preact_resnet18": ("resnet18", "basic", [2, 2, 2, 2], 1),
    "preact_resnet34": ("resnet34", "basic", [3, 4, 6, 3], 1),
    "preact_resnet50": ("resnet50", "bottleneck", [3, 4, 6, 3], 4),
    "preact_resnet101": ("resnet101", "bottleneck", [3, 4, 23, 3], 4),
    "preact_resnet152": ("resnet152", "bottleneck", [3, 8, 36, 3], 4),
}


@pytest.mark.parametrize("name", sorted(IMAGENET))
def test_preact_imagenet_parameter_counts(name):
    # The same convolutions and fc as torchvision's; the BNs move before the convolutions, the
    # projection loses its BN, the stem loses its BN and a final BN comes before pooling.
    base, block, counts, expansion = IMAGENET[name]
    reference = REFERENCE["models"][base]
    torchvision_bn = sum(
        v[0] for k, v in reference["state_dict"].items() if k.endswith("running_mean")
    )
    convs_and_fc = reference["params"] - 2 * torchvision_bn
    expected = convs_and_fc + preact_bn_params(block, counts, 64, [64, 128, 256, 512], expansion)
    params = sum(p.numel() for p in build_model(name, device="meta").parameters())
    assert params == expected
    if name == "preact_resnet50":
        assert params == 25_549_352  # timm's resnetv2_50


@pytest.mark.parametrize(
    ("name", "params", "convs"),
    [
        ("preact_resnet110", 1.7, 1.7),
        ("preact_resnet164", 1.7, 1.7),
        ("preact_resnet1001", 10.3, 10.2),
    ],
)
def test_preact_cifar_nets_against_the_paper(name, params, convs):
    # The paper's Table 3 lists 1.7M, 1.7M and 10.2M: for ResNet-1001 that is its convolution
    # weights (10,175,920); with BN and the classifier the model has 10,327,706 parameters.
    report = summarize(name)
    assert round(report.totals.params / 1e6, 1) == params
    assert round(report.totals.conv_weights / 1e6, 1) == convs
    depth = int(name.removeprefix("preact_resnet"))
    assert report.totals.depth == depth


def test_preact_resnet1001_by_hand():
    # 111 bottlenecks per stage of widths 16/32/64 (x4 out); projections where the width
    # changes (16->64, 64->128, 128->256, 1x1 convs, no BN); a 3x3 stem conv 3->16; fc 256->10.
    convs = 3 * 3 * 3 * 16
    in_channels = 16
    for mid in (16, 32, 64):
        out = 4 * mid
        for index in range(111):
            cin = in_channels if index == 0 else out
            convs += cin * mid + 9 * mid * mid + mid * out + (cin * out if index == 0 else 0)
        in_channels = out
    bn = preact_bn_params("bottleneck", [111, 111, 111], 16, [16, 32, 64], 4)
    assert convs == 10_175_920
    assert summarize("preact_resnet1001").totals.params == convs + bn + 256 * 10 + 10


def _preact_forward(sd, x, block, counts, stem):
    """An independent re-statement of a pre-activation ResNet's forward from a state_dict:
    per block BN-ReLU first, the projection (a 1x1 conv) from the pre-activated input, no
    ReLU after the add; BN-ReLU before pooling."""
    import torch
    import torch.nn.functional as F

    def bn_relu(t, prefix):
        return F.relu(batch_norm(sd, t, prefix))

    if stem == "imagenet":
        x = F.max_pool2d(F.conv2d(x, sd["conv1.weight"], stride=2, padding=3), 3, 2, 1)
    else:
        x = F.conv2d(x, sd["conv1.weight"], padding=1)
    for stage, count in enumerate(counts):
        for index in range(count):
            p = f"layer{stage + 1}.{index}"
            stride = 2 if stage > 0 and index == 0 else 1
            pre = bn_relu(x, f"{p}.bn1")
            if block == "basic":
                out = F.conv2d(pre, sd[f"{p}.conv1.weight"], stride=stride, padding=1)
                out = F.conv2d(bn_relu(out, f"{p}.bn2"), sd[f"{p}.conv2.weight"], padding=1)
            else:
                out = F.conv2d(pre, sd[f"{p}.conv1.weight"])
                out = F.conv2d(
                    bn_relu(out, f"{p}.bn2"), sd[f"{p}.conv2.weight"], stride=stride, padding=1
                )
                out = F.conv2d(bn_relu(out, f"{p}.bn3"), sd[f"{p}.conv3.weight"])
            shortcut = x
            if f"{p}.downsample.0.weight" in sd:
                shortcut = F.conv2d(pre, sd[f"{p}.downsample.0.weight"], stride=stride)
            x = out + shortcut
    x = bn_relu(x, "final_bn")
    x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
    return F.linear(x, sd["fc.weight"], sd["fc.bias"])


@pytest.mark.parametrize(
    ("name", "block", "counts", "stem", "size"),
    [
        ("preact_resnet50", "bottleneck", [3, 4, 6, 3], "imagenet", 64),
        ("preact_resnet18", "basic", [2, 2, 2, 2], "imagenet", 64),
        ("preact_resnet110", "basic", [18, 18, 18], "cifar", 32),
    ],
)
def test_preact_forward_equals_an_independent_re_statement(name, block, counts, stem, size):
    import torch

    model = build_model(name, seed=4).eval()
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
        x = torch.randn(2, 3, size, size, generator=generator)
        ours = model(x)
        theirs = _preact_forward(model.state_dict(), x, block, counts, stem)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


def test_preact_structure_in_the_report():
    report = summarize("preact_resnet50", graph=True)
    top = [row.name for row in report.layers if row.depth == 1]
    assert top[:2] == ["conv1", "maxpool"]  # no BN or ReLU in the stem
    assert top[-4:] == ["final_bn", "final_relu", "avgpool", "fc"]
    assert report.totals.depth == 50 and report.totals.receptive_field == 427
    head = next(stage for stage in report.stages if stage.kind == "head")
    assert head.params == 2 * 2048 + 2048 * 1000 + 1000  # final BN + fc
    runner = CliRunner()
    assert runner.invoke(cli, ["summary", "preact_resnet164", "--check"]).exit_code == 0
    assert runner.invoke(cli, ["validate", "--rules", "preact_resnet34"]).stderr == ""


@pytest.mark.parametrize("name", ["seresnet50", "resnet50d", "preact_resnet50", "preact_resnet110"])
def test_new_blocks_draw_and_report(name, tmp_path):
    runner = CliRunner()
    for depth in ("block", "layer"):
        target = tmp_path / f"{depth}.svg"
        result = runner.invoke(cli, ["diagram", name, "-o", str(target), "--depth", depth])
        assert result.exit_code == 0, result.output
        assert target.read_text().count('class="node"') > 10
    page = tmp_path / "page.html"
    assert runner.invoke(cli, ["report", name, "-o", str(page)]).exit_code == 0
    assert page.read_text().startswith("<!DOCTYPE html>")
