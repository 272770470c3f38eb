"""Drawings of models that are not ResNets, from the data flow: a node per call of a module
(a module called twice is two nodes, `pool (call 2 of 2)`), weighted nodes named by their
module path with their parameters, functional operations by the torch function only where no
module owns them, a residual add's skip found from the graph (the operand the other was
computed from) and drawn as the shortcut, concatenation skips drawn as such. Held to the
models by assertions on the graph, and to the eye by the browser's label check."""

from __future__ import annotations

import pytest

from browser import label_problems
from factories import Inception, SEGate, SharedModule, UNet, ViT, small_densenet
from resnet_inspect import analyze, summarize
from resnet_inspect.render.diagram import render_dot, to_dot

MODELS = {
    "vit": (ViT, (3, 32, 32)),
    "unet": (UNet, (3, 32, 32)),
    "densenet block": (small_densenet, (3, 16, 16)),
    "inception": (Inception, (16, 16, 16)),
    "se gate": (SEGate, (16, 8, 8)),
    "shared module": (SharedModule, (3, 16, 16)),
}


def _graph(name):
    factory, shape = MODELS[name]
    return analyze(factory(), shape, graph=True).graph


def _named(graph, module):
    return [node for node in graph.nodes if node["module"] == module and node["kind"] == "layer"]


def _shortcuts(graph):
    return [
        (graph.nodes[e["source"]], graph.nodes[e["target"]], e["shortcut"])
        for e in graph.edges
        if e["shortcut"]
    ]


def test_a_module_called_twice_is_two_nodes():
    graph = _graph("unet")
    pools = _named(graph, "pool")
    assert [node["call"] for node in pools] == [[1, 2], [2, 2]]
    assert [node["output_shape"] for node in pools] == [[8, 16, 16], [16, 8, 8]]
    shared = _named(_graph("shared module"), "shared")
    assert [node["call"] for node in shared] == [[1, 2], [2, 2]]
    # its parameters once (8 × 8 × 9 + 8), on its first call
    assert [node["params"] for node in shared] == [8 * 8 * 9 + 8, 0]


def test_weighted_modules_are_named_by_their_path_with_their_parameters():
    graph = _graph("unet")
    (up2,) = _named(graph, "up2")
    # ConvTranspose2d(32, 16, 2, 2): 32 × 16 × 2 × 2 weights + 16 biases
    assert (up2["type"], up2["params"]) == ("ConvTranspose2d", 32 * 16 * 4 + 16)
    (up1,) = _named(graph, "up1")
    assert up1["type"] == "Upsample"
    vit = _graph("vit")
    attention = _named(vit, "blocks.0.attn")
    # one node for the attention's call: its projections are its own (3 × 32 × 32 + 3 × 32
    # in_proj) and its out_proj's (32 × 32 + 32), read by its forward
    assert len(attention) == 1
    assert attention[0]["type"] == "MultiheadAttention"
    assert attention[0]["params"] == 3 * 32 * 32 + 3 * 32
    assert _named(vit, "blocks.0.norm1")[0]["type"] == "LayerNorm"
    # no anonymous operation is left where a module ran it
    owned = {node["module"] for node in vit.nodes if node["kind"] == "layer"}
    assert all(node["module"] not in owned for node in vit.nodes if node["kind"] == "op")


def test_a_transformers_skip_is_the_operand_that_bypasses_the_branch():
    graph = _graph("vit")
    shortcuts = _shortcuts(graph)
    # two residual adds per block, three blocks; each skip runs from what entered the branch
    assert len(shortcuts) == 6
    assert all(
        kind == "identity" and target["type"] in ("add", "add_") for _, target, kind in shortcuts
    )
    attention = _named(graph, "blocks.1.attn")[0]
    into_add = [e for e in graph.edges if e["source"] == attention["id"]]
    assert [e["shortcut"] for e in into_add] == [None]  # the branch, not the skip


def test_concatenation_skips():
    unet = _graph("unet")
    skips = _shortcuts(unet)
    assert {(source["module"], kind) for source, _, kind in skips} == {
        ("enc1.2", "concat"),
        ("enc2.2", "concat"),
    }
    # DenseNet: layer k's input concatenates k features, all but the newest skips: 0 + 1 + 2,
    # and the block's output (4 features) 3 more
    dense = _shortcuts(_graph("densenet block"))
    assert len(dense) == 6 and {kind for _, _, kind in dense} == {"concat"}
    # Inception's branches are parallel: none is a skip
    inception = _graph("inception")
    assert _shortcuts(inception) == []
    (cat,) = [node for node in inception.nodes if node["type"] == "cat"]
    assert sum(1 for e in inception.edges if e["target"] == cat["id"]) == 4


def test_no_skip_where_paths_merge_without_one():
    assert _shortcuts(_graph("se gate")) == []
    assert _shortcuts(_graph("shared module")) == []


def test_labels_name_the_module_and_the_call():
    report = analyze(UNet(), (3, 32, 32), graph=True)
    layer = to_dot(report, "layer").source
    assert "pool (call 2 of 2) · MaxPool2d" in layer
    assert "up2 · ConvTranspose2d" in layer
    block = to_dot(report, "block").source
    assert block.count("pool (call") == 2  # two nodes, no edge looping back up
    assert "enc1 · 3 layers" in block or "enc1 · 3 layers" in layer
    # a ResNet's projection is named from its block: downsample.0, not "0"
    resnet = to_dot(summarize("resnet18", graph=True), "layer").source
    assert "downsample.0 · Conv2d" in resnet


@pytest.mark.browser
def test_every_label_fits_in_a_browser(tmp_path):
    svgs = []
    for name, (factory, shape) in MODELS.items():
        report = analyze(factory(), shape, graph=True)
        for depth in ("layer", "block"):
            svgs.append((f"{name} {depth}", render_dot(to_dot(report, depth), "svg")[0]))
    measured, problems = label_problems(tmp_path, svgs)
    assert measured > 20 * len(svgs)
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:8]}"


def test_a_page_drawn_by_layers_has_details_and_the_heaviest_layers():
    import json
    import re

    from resnet_inspect.render.html import render_html

    page = render_html(analyze(UNet(), (3, 32, 32), graph=True))
    details = json.loads(re.search(r'id="node-details">(.*?)</script>', page).group(1))
    titles = {entry["title"] for entry in details.values()}
    assert {"enc1.0", "up2", "pool", "out"} <= titles  # a click on a layer's box says what
    heavy = re.search(r'<nav class="heaviest">(.*?)</nav>', page).group(1)
    targets = re.findall(r'data-target="([^"]+)"', heavy)
    # every weighted layer of this UNet (6 convolutions, 1 transposed), heaviest first
    assert len(targets) == 7
    assert heavy.index("dec1.0") < heavy.index("out ")
    assert all(f'id="{target}"' in page for target in targets)
