"""Renderers on a hand-made Report: no torch needed, no model built."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console

from resnet_inspect.render import RENDERERS, render_table
from resnet_inspect.report import LayerRow, Report, StageRow, Totals


def make_report() -> Report:
    rows = [
        LayerRow(
            "conv1", "Conv2d", 1, "conv1", True, [1, 8, 4, 4], 216, 216, 3456, [3, 3], [2, 2], 1
        ),
        LayerRow("layer1", "Sequential", 1, "layer1", False, [1, 8, 4, 4], 600, 600, 9216),
        LayerRow("layer1.0", "BasicBlock", 2, "layer1", False, [1, 8, 4, 4], 600, 600, 9216),
        LayerRow(
            "layer1.0.conv1",
            "Conv2d",
            3,
            "layer1",
            True,
            [1, 8, 4, 4],
            576,
            576,
            9216,
            [3, 3],
            [1, 1],
            4,
        ),
        LayerRow("layer1.0.bn1", "BatchNorm2d", 3, "layer1", True, [1, 8, 4, 4], 16, 16, 0),
        LayerRow("layer1.0.relu1", "ReLU", 3, "layer1", True, [1, 8, 4, 4], 0, 0, 0),
        LayerRow("fc", "Linear", 1, "fc", True, [1, 2], 18, 18, 16),
    ]
    stages = [
        StageRow("stem", "stem", 0, [1, 8, 4, 4], 216, 3456),
        StageRow("layer1", "stage", 1, [1, 8, 4, 4], 600, 9216),
        StageRow("head", "head", 0, [1, 2], 18, 16),
    ]
    totals = Totals(
        params=834,
        trainable_params=834,
        non_trainable_params=0,
        buffers=16,
        param_bytes=3336,
        buffer_bytes=64,
        macs=12688,
        flops=25376,
        keras_total_params=850,
        weighted_layers=3,
        depth=3,
    )
    return Report("tiny", "tiny.yaml", [3, 8, 8], 1, "float32", rows, stages, totals)


def table_text(depth: str) -> str:
    console = Console(file=io.StringIO(), width=140, color_system=None)
    console.print(render_table(make_report(), depth))
    return console.file.getvalue()


def test_table_rows_subtotals_and_totals():
    text = table_text("layer")
    assert "layer1.0.conv1" in text and "3×3/1 g4" in text and "1×8×4×4" in text
    assert "layer1 subtotal (1 block)" in text
    for figure in ("834", "12,688", "25,376", "Keras-style total", "= 2 × MACs"):
        assert figure in text
    assert "layer1.0 " not in text  # a container: not a row at layer depth


def test_table_depths_pick_rows():
    block = table_text("block")
    assert "layer1.0" in block and "layer1.0.conv1" not in block
    stage = table_text("stage")
    assert "layer1" in stage and "layer1.0" not in stage and "subtotal" not in stage


def test_json_is_the_whole_report():
    data = json.loads(RENDERERS["json"](make_report(), "block"))
    assert data["report_version"] == 4
    assert data["totals"]["macs"] == 12688 and data["totals"]["flops"] == 25376
    assert [layer["name"] for layer in data["layers"]][:3] == ["conv1", "layer1", "layer1.0"]
    assert set(data["layers"][0]) >= {"name", "type", "output_shape", "params", "macs"}


def test_csv_has_a_header_and_one_line_per_row():
    rows = list(csv.DictReader(io.StringIO(RENDERERS["csv"](make_report(), "layer"))))
    assert [row["name"] for row in rows] == [
        "conv1",
        "layer1.0.conv1",
        "layer1.0.bn1",
        "layer1.0.relu1",
        "fc",
    ]
    assert rows[1]["output_shape"] == "1x8x4x4" and rows[1]["groups"] == "4"


def test_markdown_table():
    text = RENDERERS["markdown"](make_report(), "block")
    assert "| layer1.0 | BasicBlock |" in text  # a dotted name as written
    # the conventions' footnote stays one italic run: the identifier _ops is code
    assert text.rstrip().endswith("*") and "`_ops`" in text
    assert "| MACs (conv + linear multiply-adds) | 12,688 |" in text
