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
from resnet_inspect.render.diagram import (
    SHORTCUT_COLOUR,
    STAGE_COLOURS,
    paper_dot,
    render_dot,
    to_dot,
)


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
    # stem layers, each block's body and its + node, head, input/output
    assert block_nodes == 4 + 16 * 2 + 2 + 2
    folded, _ = dot_counts(to_dot(report, "block", fold=True).source)
    # each stage: its first block and one folded run, each a body and a + node
    assert folded == 4 + 4 * 2 * 2 + 2 + 2
    assert "identity block ×5" in to_dot(report, "block", fold=True).source
    stage_nodes, _ = dot_counts(to_dot(report, "stage").source)
    assert stage_nodes == 4 + 4 + 2 + 2


def _shortcut_edges(source: str) -> list[str]:
    return [line for line in source.splitlines() if "->" in line and SHORTCUT_COLOUR in line]


def test_block_depth_draws_every_shortcut_as_its_own_edge():
    # ResNet-18: 8 blocks, each drawn as its body and a + node; the shortcut goes from the
    # block's input to its +: solid for identity, dashed and labelled for a projection.
    source = to_dot(summarize("resnet18", graph=True), "block").source
    edges = _shortcut_edges(source)
    assert len(edges) == 8
    assert sum("style=solid" in e for e in edges) == 5
    dashed = [e for e in edges if "style=dashed" in e]
    assert len(dashed) == 3
    for width in (128, 256, 512):  # the paper's wording for each stage's projection
        assert sum(f"1×1 conv, {width}, /2" in e for e in dashed) == 1
    # option A: dotted, zero-padding to the stage's width at stride 2
    edges = _shortcut_edges(to_dot(summarize("cifar_resnet20", graph=True), "block").source)
    dotted = [e for e in edges if "style=dotted" in e]
    assert len(edges) == 9 and len(dotted) == 2
    assert any("zero-pad, 32, /2" in e for e in dotted)
    assert any("zero-pad, 64, /2" in e for e in dotted)


def test_a_folded_run_keeps_its_shortcut_and_stages_are_single_boxes():
    report = summarize("resnet50", graph=True)
    edges = _shortcut_edges(to_dot(report, "block", fold=True).source)
    # per stage: the first block's projection and the folded run's identity
    assert len(edges) == 8
    assert sum("identity ×2" in e for e in edges) == 2  # layer1 and layer4
    assert (
        sum("identity ×3" in e for e in edges) == 1 and sum("identity ×5" in e for e in edges) == 1
    )
    stage = to_dot(report, "stage").source
    assert "subgraph cluster" not in stage  # no cluster around a single node
    assert "layer3 · 6 × Bottleneck" in stage


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


@pytest.mark.subprocess
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
    assert data.count(b'class="node"') == len(summarize("cifar_resnet20", graph=True).graph.nodes)


def test_model_option_draws_any_module_and_refuses_what_cannot_be_laid_out(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT / "tests")
    target = tmp_path / "dense.svg"
    # DenseNet-121 (factories.py restates torchvision's): by blocks it draws in seconds, with
    # its concatenations; by layers (423 edges reaching far back) it is refused at once.
    result = run("diagram", "--model", "factories:densenet121", "-o", str(target))
    assert result.exit_code == 0, result.output
    svg = target.read_text()
    assert svg.count("· DenseBlock") == 4  # each dense block one node at block depth
    assert "adaptive_avg_pool2d" in svg  # functional code in forward is drawn too
    refused = run(
        "diagram", "--model", "factories:densenet121", "--depth", "layer", "-o", str(target)
    )
    assert refused.exit_code == 2
    assert "--depth block" in refused.stderr and "423 edges" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    page = tmp_path / "small.html"
    result = run("report", "--model", "factories:small_resnet", "-o", str(page))
    assert result.exit_code == 0, result.output
    assert "<svg" in page.read_text()
    both = run("diagram", "resnet18", "--model", "factories:small_resnet", "-o", str(target))
    assert both.exit_code == 2 and "not both" in both.stderr


def test_dpi_sets_the_pixels_of_a_png(tmp_path):
    from PIL import Image

    sizes = []
    for dpi in (48, 96):
        target = tmp_path / f"r{dpi}.png"
        assert (
            run(
                "diagram",
                "cifar_resnet20",
                "--depth",
                "stage",
                "--dpi",
                str(dpi),
                "-o",
                str(target),
            ).exit_code
            == 0
        )
        sizes.append(Image.open(target).size)
    assert abs(sizes[1][0] / sizes[0][0] - 2) < 0.05 and abs(sizes[1][1] / sizes[0][1] - 2) < 0.05


def _arcs(source: str) -> tuple[int, int]:
    """(solid, dotted) shortcut arcs of a paper-style drawing."""
    edges = _shortcut_edges(source)
    return sum("style=solid" in e for e in edges), sum("style=dotted" in e for e in edges)


def test_paper_style_is_figure_3():
    from resnet_inspect.render.diagram import paper_dot

    source = paper_dot(summarize("resnet34", graph=True)).source
    boxes = re.findall(r'label="([^"]*)"', source)
    # Figure 3, 34-layer residual: 7x7 conv, pool, 32 3x3 convs, avg pool, fc 1000
    assert boxes[1:3] == ["7×7 conv, 64, /2", "pool, /2"]
    assert boxes[-2:] == ["avg pool", "fc 1000"]
    assert sum(b.startswith("3×3 conv") for b in boxes) == 32
    assert [b for b in boxes if b.endswith("/2") and "3×3" in b] == [
        "3×3 conv, 128, /2",
        "3×3 conv, 256, /2",
        "3×3 conv, 512, /2",
    ]
    # 16 blocks: solid arcs where the shapes match, dotted where the dimensions increase
    assert _arcs(source) == (13, 3)
    assert _arcs(paper_dot(summarize("plain34", graph=True)).source) == (0, 0)
    assert _arcs(paper_dot(summarize("cifar_resnet20", graph=True)).source) == (7, 2)
    bottleneck = paper_dot(summarize("resnet50", graph=True)).source
    assert "1×1 conv, 256" in bottleneck and _arcs(bottleneck) == (12, 4)


def test_compare_plain34_resnet34_in_the_paper_style(tmp_path):
    target = tmp_path / "fig3.svg"
    args = ("compare", "plain34", "resnet34", "--diagram", str(target), "--style", "paper")
    assert run(*args).exit_code == 0
    svg = target.read_text()
    assert "plain34" in svg and "resnet34" in svg
    assert svg.count(">7×7 conv, 64, /2<") == 2 and svg.count(">fc 1000<") == 2
    single = tmp_path / "r34.svg"
    assert run("diagram", "resnet34", "--style", "paper", "-o", str(single)).exit_code == 0


def test_what_help_says_about_the_png_pixel_cap_is_what_happens(tmp_path):
    import graphviz
    from PIL import Image

    if not shutil.which("dot"):
        pytest.skip("Graphviz's dot is not installed (.ci/run installs it)")
    help_text = run("diagram", "--help").output
    assert "32,767 pixels" in help_text and "the bundled renderer does not" in help_text
    chain = graphviz.Digraph()
    for index in range(1500):  # about 144,000 px tall at 96 dpi
        chain.edge(f"n{index}", f"n{index + 1}")
    capped, _ = render_dot(chain, "png")
    target = tmp_path / "tall.png"
    target.write_bytes(capped)
    assert max(Image.open(target).size) == 32767  # scaled down to fit, as --help says
    uncapped, _ = render_dot(chain, "png", prefer="graphviz-pure")
    target.write_bytes(uncapped)
    assert max(Image.open(target).size) > 100_000


def _centres(svg: str) -> dict[str, float]:
    """Node ID -> the x of its shape's centre, from the SVG Graphviz wrote."""
    centres = {}
    for match in re.finditer(r'<g id="([^"]+)" class="node">(.*?)</g>', svg, re.S):
        shape = match.group(2)
        ellipse = re.search(r'<ellipse[^>]*cx="(-?[\d.]+)"', shape)
        outline = re.search(r'<(?:path|polygon)[^>]* (?:d|points)="([^"]*)"', shape)
        pairs = re.findall(
            r"(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)", outline.group(1) if outline else ""
        )
        xs = [float(x) for x, _ in pairs]
        if ellipse:
            centres[match.group(1)] = float(ellipse.group(1))
        elif xs:
            centres[match.group(1)] = (min(xs) + max(xs)) / 2
    return centres


@pytest.mark.parametrize("fold", [False, True])
def test_the_main_path_is_one_straight_column(fold):
    report = summarize("resnet50", graph=True)
    dot = to_dot(report, "block", fold)
    svg = render_dot(dot, "svg")[0].decode()
    main = re.findall(r"group=main id=(\w+)", dot.source)
    centres = _centres(svg)
    xs = [centres[name] for name in main if name in centres]
    assert len(xs) > 10 and max(xs) - min(xs) < 1.0, sorted(set(round(x) for x in xs))


def test_a_stage_has_one_colour_at_every_depth_and_in_every_style():
    report = summarize("resnet50", graph=True)
    by_blocks = to_dot(report, "block").source
    by_stages = to_dot(report, "stage").source
    paper = paper_dot(report).source
    blue = STAGE_COLOURS[0]  # layer1's
    assert re.search(rf'fillcolor="{blue}"[^\]]*label="layer1 ·', by_blocks)
    assert re.search(rf'label="layer1 ·[^"]*"[^\]]*fillcolor="{blue}"', by_stages)
    assert re.search(rf'label="3×3 conv, 64"[^\]]*fillcolor="{blue}"', paper)
