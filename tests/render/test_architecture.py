"""`resnet-inspect table`: the ResNet paper's Table 1, from the specs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resnet_inspect import summarize
from resnet_inspect.cli import cli
from resnet_inspect.render.architecture import architecture_rows

# He et al. 2015, Table 1, typed in from the paper: per stage, the block recipe and the counts
# for 18, 34, 50, 101, 152 layers; the last row's FLOPs (multiply-adds) x 10^9.
BASIC = "[3×3, {w} / 3×3, {w}]"
BOTTLENECK = "[1×1, {w} / 3×3, {w} / 1×1, {x}]"
COUNTS = {
    "conv2_x": (2, 3, 3, 3, 3),
    "conv3_x": (2, 4, 4, 4, 8),
    "conv4_x": (2, 6, 6, 23, 36),
    "conv5_x": (2, 3, 3, 3, 3),
}
WIDTHS = {"conv2_x": 64, "conv3_x": 128, "conv4_x": 256, "conv5_x": 512}
SIZES = {"conv1": "112×112", "conv2_x": "56×56", "conv3_x": "28×28", "conv4_x": "14×14"}
PAPER_FLOPS = (1.8, 3.6, 3.8, 7.6, 11.3)
NETWORKS = ("resnet18", "resnet34", "resnet50_v1", "resnet101_v1", "resnet152_v1")


@pytest.fixture(scope="module")
def rows():
    return {
        name: (size, cells)
        for name, size, cells in architecture_rows([summarize(n) for n in NETWORKS])
    }


def test_the_papers_table_1(rows):
    assert rows["conv1"] == ("112×112", ["7×7, 64, stride 2"] * 5)
    for stage, counts in COUNTS.items():
        size, cells = rows[stage]
        assert size == SIZES.get(stage, "7×7")
        width = WIDTHS[stage]
        for index, (cell, count) in enumerate(zip(cells, counts, strict=True)):
            recipe = (BASIC if index < 2 else BOTTLENECK).format(w=width, x=4 * width)
            expected = f"{recipe} ×{count}"
            if stage == "conv2_x":
                expected = "3×3 max pool, stride 2\n" + expected
            assert cell == expected, (stage, index)
    assert rows[""] == ("1×1", ["average pool, 1000-d fc, softmax"] * 5)


def test_flops_within_two_percent_of_the_paper(rows):
    # The paper prints one decimal: 3.66 and 3.86 (ResNet-34, ResNet-50 v1) appear as 3.6
    # and 3.8, so the figures are compared within 2%, not to the digit.
    _, cells = rows["FLOPs"]
    for cell, paper in zip(cells, PAPER_FLOPS, strict=True):
        value = float(cell.removesuffix("×10⁹"))
        assert abs(value - paper) / paper < 0.02, (cell, paper)


@pytest.mark.parametrize("fmt", ["markdown", "html", "svg"])
def test_table_command_formats(fmt, tmp_path):
    target = tmp_path / f"table.{fmt}"
    result = CliRunner().invoke(
        cli, ["table", "resnet18", "resnet50", "--format", fmt, "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    text = target.read_text()
    if fmt == "svg":  # the font has no ⁹: the exponent is a raised 9
        text = text.replace('<tspan baseline-shift="super" font-size="9">9</tspan>', "⁹")
    assert "conv5_x" in text and "1.81×10⁹" in text  # our own words and numbers as written
    if fmt == "markdown":
        assert "| resnet18 (18-layer) |" in text and "[3×3, 64 / 3×3, 64] ×2" in text
        assert "\\" not in text  # nothing of ours needed an escape
    if fmt == "svg":
        assert text.lstrip().startswith("<svg")


def test_table_in_the_terminal_and_a_variant():
    result = CliRunner().invoke(cli, ["table", "resnet50", "preact_resnet50", "resnet50d"])
    assert result.exit_code == 0, result.output
    assert "3×3, 32, stride 2" in result.stdout  # ResNet-C's deep stem in conv1
