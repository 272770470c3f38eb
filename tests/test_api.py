"""The Python API as a notebook user meets it: display, export, render functions, input shapes."""

from __future__ import annotations

import io
import json
import sys

import pytest
import torch
from click.testing import CliRunner
from rich.console import Console

import resnet_inspect as ri
from resnet_inspect.cli import cli


@pytest.fixture(scope="module")
def report():
    return ri.summarize("resnet18", graph=True)


def test_the_graph_is_made_only_when_asked():
    plain = ri.summarize("resnet18")
    assert plain.graph is None and json.loads(plain.to_json())["graph"] is None
    with pytest.raises(ri.RenderError, match=r"summarize\(\.\.\., graph=True\)"):
        ri.render_diagram(plain)
    drawn = ri.summarize("resnet18", graph=True)
    assert len(drawn.to_json()) > 1.5 * len(plain.to_json())  # the graph is most of the JSON


def test_dir_is_the_public_api():
    names = dir(ri)
    assert names == sorted(ri.__all__)
    assert "Any" not in names and "TYPE_CHECKING" not in names
    for name in ("summarize", "analyze", "compare", "render_table", "render_diagram"):
        assert name in names and getattr(ri, name).__doc__


def test_repr_is_short(report):
    text = repr(report)
    assert len(text) < 200
    assert "resnet18" in text and "11,689,512 params" in text  # torchvision's count


def test_notebook_html_shows_totals_and_stages(report):
    page = report._repr_html_()
    assert "11,689,512" in page and "1,814,073,344" in page  # torchvision's params and MACs
    for stage in ("layer1", "layer2", "layer3", "layer4"):
        assert f'<td class="text">{stage}</td>' in page
    assert "<svg" in page  # the bar charts; no diagram unless asked
    with_diagram = report.html(diagram=True)
    assert with_diagram._repr_html_() == str(with_diagram)
    assert with_diagram.count("<svg") > page.count("<svg")


def test_rich_display_is_the_summary_table(report):
    console = Console(file=io.StringIO(), width=150, color_system=None)
    console.print(report)
    assert "layer4.1" in console.file.getvalue() and "Total params" in console.file.getvalue()


def test_to_json_is_the_cli_json():
    printed = CliRunner().invoke(cli, ["summary", "resnet18", "--format", "json"]).stdout
    assert json.loads(ri.summarize("resnet18").to_json()) == json.loads(printed)


def test_to_pandas_has_a_row_per_module(report):
    import pandas  # a test dependency

    frame = report.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    model = ri.build_model("resnet18", device="meta")
    names = [name for name, _ in model.named_modules() if name]
    assert sorted(frame["name"]) == sorted(names)  # rows come in execution order
    leaves = frame[frame["is_leaf"]]
    assert int(leaves["params"].sum()) == sum(p.numel() for p in model.parameters())
    assert len(report.to_pandas("stage")) == len(list(model.children()))


def test_to_pandas_without_pandas_says_what_to_install(report, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        report.to_pandas()


def test_render_functions(report, tmp_path):
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(ri.render_table(report, "stage", width=100))
    assert "layer3" in console.file.getvalue()
    assert ri.render_diagram(report, "svg").lstrip().startswith((b"<?xml", b"<svg"))
    assert ri.render_diagram(report, "dot").startswith(b"digraph")
    assert ri.render_html(report).startswith("<!DOCTYPE html>")
    comparison = ri.compare(["bottleneck", "plain"], graph=True)
    assert "69,632" in comparison._repr_html_() and "1,179,648" in comparison._repr_html_()
    assert len(repr(comparison)) < 200
    console = Console(file=io.StringIO(), width=100, color_system=None)
    console.print(ri.render_comparison(comparison))
    assert "16.9×" in console.file.getvalue()
    assert ri.render_html(comparison).startswith("<!DOCTYPE html>")
    assert json.loads(comparison.to_json())["items"][1]["model"] == "plain"


@pytest.mark.parametrize(
    "shape", ["3x64x64", "3×64×64", (3, 64, 64), [3, 64, 64], torch.Size([3, 64, 64]), "64x64"]
)
def test_input_shapes_people_write(shape):
    result = ri.summarize("resnet18", input_shape=shape)
    assert result.input_shape == [3, 64, 64] and result.batch_size == 1
    # 64x64: the stem halves twice, the stages three more times: 2x2 at the end.
    assert result.layers_at("stage")[-3].output_shape == [1, 512, 2, 2]


def test_a_4d_shape_carries_the_batch():
    result = ri.summarize("resnet18", input_shape=(8, 3, 64, 64))
    assert result.batch_size == 8 and result.input_shape == [3, 64, 64]
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    analysed = ri.analyze(model, (1, 3, 8, 8))  # torchinfo's habit
    assert analysed.batch_size == 1 and analysed.input_shape == [3, 8, 8]
    assert analysed.layers[0].output_shape == [1, 4, 6, 6]  # a real forward: 8 - 3 + 1
    with pytest.raises(ri.UsageError, match="batch 8 but the batch size is 2"):
        ri.summarize("resnet18", input_shape=(8, 3, 64, 64), batch_size=2)


@pytest.mark.parametrize("shape", ["224x224x3", (224, 224, 3)])
def test_channels_last_is_refused_with_a_hint(shape):
    with pytest.raises(ri.UsageError, match="looks channels-last.*write 3x224x224"):
        ri.summarize("resnet18", input_shape=shape)
    model = torch.nn.Conv2d(3, 4, 3)
    with pytest.raises(ri.UsageError, match="write 3x224x224"):
        ri.analyze(model, shape)


def test_cli_input_forms():
    four_d = CliRunner().invoke(
        cli, ["summary", "resnet18", "--input", "4x3x64x64", "--format", "json"]
    )
    data = json.loads(four_d.stdout)
    assert data["batch_size"] == 4 and data["input_shape"] == [3, 64, 64]
    refused = CliRunner().invoke(cli, ["summary", "resnet50", "--input", "224x224x3"])
    assert refused.exit_code == 2 and "write 3x224x224" in refused.stderr


@pytest.mark.parametrize("shape", ["abc", (3, 0, 4), (1, 2, 3, 4, 5), "3x224"])
def test_bad_shapes_are_usage_errors(shape):
    model = torch.nn.Conv2d(3, 4, 1)
    if shape == "3x224":  # two numbers are H×W: a valid 3x3x224 input, not an error
        assert ri.analyze(model, shape).input_shape == [3, 3, 224]
        return
    with pytest.raises(ri.UsageError):
        ri.analyze(model, shape)
