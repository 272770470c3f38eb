"""Diagrams as a browser draws them: every preset at every depth, opened in headless Chromium,
each label inside its node's shape (and each cluster's title inside the cluster), and no two
labels overlapping. The SVGs embed the font whose metrics the renderer measured with."""

from __future__ import annotations

import re

import pytest

from browser import label_problems
from resnet_inspect import summarize
from resnet_inspect.render.diagram import paper_dot, render_dot, to_dot
from resnet_inspect.spec import preset_names

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Layer depth of the two nets of over a thousand layers takes 10-16 s each to lay out; their
# node and label kinds are those of cifar_resnet110 and preact_resnet164, drawn here.
HUGE = {"cifar_resnet1202", "preact_resnet1001"}
VARIANTS = (
    ("layer", False),
    ("block", False),
    ("block", True),
    ("stage", False),
    ("paper", False),
)

# The presets in three shards so that parallel workers share the browser's work.
SHARDS = 4


def _shards() -> list[list[str]]:
    """The presets in SHARDS groups of about equal drawing work (the modules drawn; the two
    huge nets are not drawn by layers), the largest placed first, each in the lightest group."""
    groups: list[list[str]] = [[] for _ in range(SHARDS)]
    weights = [0.0] * SHARDS
    cost = {
        name: len(summarize(name).layers) * (0.3 if name in HUGE else 1.0)
        for name in preset_names()
    }
    for name in sorted(cost, key=lambda name: -cost[name]):
        lightest = weights.index(min(weights))
        groups[lightest].append(name)
        weights[lightest] += cost[name]
    return groups


@pytest.mark.parametrize(
    ("renderer", "shard"),
    [("auto", shard) for shard in range(SHARDS)] + [("graphviz-pure", 0)],
)
def test_every_label_fits_its_box_and_none_overlap(tmp_path, renderer, shard):
    from concurrent.futures import ThreadPoolExecutor

    if renderer == "auto":
        names = _shards()[shard]
    else:
        names = ["resnet50", "cifar_resnet20"]
    drawings = []
    for name in names:
        report = summarize(name, graph=True)
        for depth, fold in VARIANTS:
            if depth == "layer" and name in HUGE:
                continue
            drawing = paper_dot(report) if depth == "paper" else to_dot(report, depth, fold)
            drawings.append((f"{name} {depth}{' fold' if fold else ''}", drawing))
    with ThreadPoolExecutor(max_workers=2) as pool:  # the renderers are child processes
        rendered = pool.map(lambda item: render_dot(item[1], "svg", renderer)[0], drawings)
        svgs = list(zip((name for name, _ in drawings), rendered, strict=True))
    measured, problems = label_problems(tmp_path, svgs)
    assert measured > 40 * len(svgs)  # every label was measured (ResNet-50 by blocks: 164)
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:8]}"


def test_the_check_sees_a_font_wider_than_the_one_measured(tmp_path):
    # The same drawing in DejaVu Sans, about 12% wider than the Helvetica metrics the bundled
    # renderer measured with: labels spill out of their boxes, as they did before the font was
    # embedded. (Debian's dot estimates text more generously, so the bundled renderer is used.)
    drawing = to_dot(summarize("resnet50", graph=True), "block")
    data, _ = render_dot(drawing, "svg", "graphviz-pure")
    wide = re.sub(r'font-family="[^"]*"', 'font-family="DejaVu Sans"', data.decode("utf-8"))
    measured, problems = label_problems(
        tmp_path, [("resnet50 block in DejaVu Sans", wide.encode())]
    )
    assert measured > 40 and any("outside its shape" in problem for problem in problems)
