"""Diagrams: the graph against the model, shortcut labels, folding, both renderers, errors."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from click.testing import CliRunner

from conftest import ROOT, tool
from resnet_inspect import summarize
from resnet_inspect.cli import cli
from resnet_inspect.render.diagram import render_dot, to_dot


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def dot_counts(source: str) -> tuple[int, int]:
    nodes = len(re.findall(r"^\s*\S+ \[label=", source, flags=re.M))
    edges = len(re.findall(r" -> ", source))
    return nodes, edges


def test_resnet50_graph_by_hand():
    graph = summarize("resnet50", graph=True).graph
    # Leaf calls: convs 1 + 16*3 + 4 projections = 53, as many BNs, ReLUs 1 + 16*3 = 49,
    # max-pool, avg-pool, fc; plus 16 residual adds, the input and the output.
    assert len(graph.nodes) == 53 + 53 + 49 + 3 + 16 + 2
    # One edge per activation operand: 53 + 53 + 49 + 3 single-input layers, two per add,
    # one into the output.
    assert len(graph.edges) == 53 + 53 + 49 + 3 + 2 * 16 + 1
    shortcuts = [e["shortcut"] for e in graph.edges if e["shortcut"]]
    # 12 identity blocks, 4 projection blocks (conv in, BN in, and the add's operand).
    assert shortcuts.count("identity") == 12
    assert shortcuts.count("projection 1×1") == 4 * 3


def test_resnet152_layer_diagram_has_every_node_and_edge():
    report = summarize("resnet152", graph=True)
    source = to_dot(report, "layer").source
    nodes, edges = dot_counts(source)
    assert nodes == len(report.graph.nodes)
    assert edges == len(report.graph.edges)  # nothing merged at layer depth
    leaves = sum(row.calls for row in report.layers if row.is_leaf)
    assert nodes == leaves + 50 + 2  # 50 residual adds, input, output


def test_block_and_stage_depths_and_folding():
    report = summarize("resnet50", graph=True)
    block_nodes, _ = dot_counts(to_dot(report, "block").source)
    assert block_nodes == 4 + 16 + 2 + 2  # stem layers, blocks, head, input/output
    folded, _ = dot_counts(to_dot(report, "block", fold=True).source)
    assert folded == 4 + 4 + 4 + 2 + 2  # each stage: its first block + one folded run
    assert "identity block ×5" in to_dot(report, "block", fold=True).source
    stage_nodes, _ = dot_counts(to_dot(report, "stage").source)
    assert stage_nodes == 4 + 4 + 2 + 2


def test_shortcut_kinds_are_labelled():
    assert "zero-pad" in to_dot(summarize("cifar_resnet20", graph=True), "layer").source
    source = to_dot(summarize("resnet18", graph=True), "layer").source
    assert "projection 1×1" in source and "identity" in source
    assert "style=dashed" in source
    assert "projection" not in to_dot(summarize("plain18", graph=True), "layer").source


def test_rankdir_and_clusters():
    source = to_dot(summarize("resnet18", graph=True), "block", rankdir="LR").source
    assert "rankdir=LR" in source
    # One cluster per stage, labelled with the stage's name (the IDs are our own, not names).
    assert all(f'label="layer{i} ·' in source for i in range(1, 5))
    assert source.count("subgraph cluster_s") == 4


def test_cli_writes_svg_png_dot(tmp_path):
    for name in ("r.svg", "r.png", "r.dot"):
        result = run("diagram", "resnet18", "-o", str(tmp_path / name), "--verbose")
        assert result.exit_code == 0, result.output
        assert "rendered by" in result.stderr
    assert (tmp_path / "r.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "r.dot").read_text().startswith("digraph")


@pytest.fixture
def without_system_graphviz(monkeypatch):
    """PATH without Graphviz's dot (graphviz-pure, installed with resnet-inspect, stays)."""
    pure = tool("graphviz-pure")
    keep = [
        d
        for d in os.environ["PATH"].split(os.pathsep)
        if not os.path.exists(os.path.join(d, "dot")) or d == os.path.dirname(pure)
    ]
    monkeypatch.setenv("PATH", os.pathsep.join(keep))
    assert shutil.which("dot") is None


def test_graphviz_pure_renders_without_system_graphviz(without_system_graphviz, tmp_path):
    result = run(
        "diagram", "bottleneck", "-o", str(tmp_path / "b.svg"), "--verbose", "--depth", "layer"
    )
    assert result.exit_code == 0, result.output
    assert "graphviz-pure" in result.stderr
    assert "graphviz-pure" in (tmp_path / "b.svg").read_text()


def test_pdf_needs_system_graphviz(without_system_graphviz, tmp_path):
    target = tmp_path / "r.pdf"
    result = run("diagram", "resnet18", "-o", str(target))
    assert result.exit_code == 2  # a tool this machine lacks, like a missing device
    assert result.stderr.startswith("PDF needs Graphviz's dot (apt-get install graphviz")
    assert result.stderr.rstrip().endswith("renders svg, png, jpg, dot")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_jpg_is_a_format_both_renderers_draw(without_system_graphviz, tmp_path):
    result = run("diagram", "bottleneck", "-o", str(tmp_path / "b.jpg"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG's magic number


def test_system_graphviz_is_used_when_installed(tmp_path):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed here (.ci/run installs it)")
    result = run("diagram", "resnet18", "-o", str(tmp_path / "r.pdf"), "--verbose")
    assert result.exit_code == 0
    assert "Graphviz dot" in result.stderr
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"


def test_unknown_extension_is_a_usage_error(tmp_path):
    result = run("diagram", "resnet18", "-o", str(tmp_path / "r.gif"))
    assert result.exit_code == 2 and "--format" in result.stderr


def test_compare_draws_the_blocks_side_by_side(tmp_path):
    target = tmp_path / "blocks.svg"
    result = run("compare", "bottleneck", "plain", "--diagram", str(target))
    assert result.exit_code == 0
    svg = target.read_text()
    assert "69,632 conv weights" in svg and "1,179,648 conv weights" in svg


def test_readme_figures_are_current():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "docs/make_figures.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_render_speed_sanity():
    data, _ = render_dot(to_dot(summarize("cifar_resnet20", graph=True), "layer"), "svg")
    assert data.count(b'<g id="node') == len(summarize("cifar_resnet20", graph=True).graph.nodes)
