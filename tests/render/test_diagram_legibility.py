"""Diagrams as a browser draws them: every preset at every depth, opened in headless Chromium,
each label inside its node's shape (and each cluster's title inside the cluster), and no two
labels overlapping. The SVGs embed the font whose metrics the renderer measured with."""

from __future__ import annotations

import html
import json
import re

import pytest

from browser import headless
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

MEASURE = """
<script>
document.fonts.ready.then(function () {
  var tolerance = 0.75, out = [], measured = 0;
  function inside(b, s) {
    return b.x >= s.x - tolerance && b.y >= s.y - tolerance &&
      b.x + b.width <= s.x + s.width + tolerance && b.y + b.height <= s.y + s.height + tolerance;
  }
  function overlap(a, b) {
    return a.x + tolerance < b.x + b.width && b.x + tolerance < a.x + a.width &&
      a.y + tolerance < b.y + b.height && b.y + tolerance < a.y + a.height;
  }
  document.querySelectorAll('svg[data-name]').forEach(function (svg) {
    var name = svg.dataset.name, labels = [];
    svg.querySelectorAll('g.node, g.cluster, g.edge').forEach(function (g, index) {
      var shape = g.querySelector('polygon, ellipse, path');
      g.querySelectorAll('text').forEach(function (t) {
        var b = t.getBBox();
        labels.push({box: b, owner: index, text: t.textContent});
        measured += 1;
        if (!g.classList.contains('edge') && shape && !inside(b, shape.getBBox())) {
          out.push(name + ': label outside its shape: ' + t.textContent);
        }
      });
    });
    labels.sort(function (a, b) { return a.box.x - b.box.x; });
    for (var i = 0; i < labels.length; i++) {
      for (var j = i + 1; j < labels.length; j++) {
        if (labels[j].box.x > labels[i].box.x + labels[i].box.width) { break; }
        if (labels[i].owner !== labels[j].owner && overlap(labels[i].box, labels[j].box)) {
          out.push(name + ': labels overlap: ' + labels[i].text + ' / ' + labels[j].text);
        }
      }
    }
  });
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify({measured: measured, problems: out});
  document.body.appendChild(pre);
});
</script>
"""


# Every SVG embeds the same font; one page needs it once (each copy costs the browser a second).
_FONT_FACE = re.compile(r"<defs><style>@font-face\{.*?</style></defs>", re.S)


def _page(svgs: list[tuple[str, bytes]]) -> str:
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"]
    for index, (name, data) in enumerate(svgs):
        text = data.decode("utf-8")
        text = text[text.index("<svg") :]
        if index:
            text = _FONT_FACE.sub("", text, count=1)
        parts.append(text.replace("<svg", f'<svg data-name="{html.escape(name)}"', 1))
    parts.append(MEASURE + "</body></html>")
    return "\n".join(parts)


def _problems(tmp_path, svgs: list[tuple[str, bytes]]) -> tuple[int, list[str]]:
    """(labels measured, problems found) in headless Chromium."""
    page = tmp_path / "diagrams.html"
    page.write_text(_page(svgs), encoding="utf-8")
    dom = headless(
        str(page),
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=60000",
        "--dump-dom",
        timeout=240,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="result">(.*?)</pre>', dom.stdout, re.S)
    assert found, "the page's script did not finish"
    result = json.loads(html.unescape(found.group(1)))
    return result["measured"], result["problems"]


# The presets in three shards so that parallel workers share the browser's work.
SHARDS = 3


@pytest.mark.parametrize(
    ("renderer", "shard"),
    [("auto", shard) for shard in range(SHARDS)] + [("graphviz-pure", 0)],
)
def test_every_label_fits_its_box_and_none_overlap(tmp_path, renderer, shard):
    from concurrent.futures import ThreadPoolExecutor

    names = preset_names()[shard::SHARDS] if renderer == "auto" else ["resnet50", "cifar_resnet20"]
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
    measured, problems = _problems(tmp_path, svgs)
    assert measured > 40 * len(svgs)  # every label was measured (ResNet-50 by blocks: 164)
    assert problems == [], f"{len(problems)} problems, e.g. {problems[:8]}"


def test_the_check_sees_a_font_wider_than_the_one_measured(tmp_path):
    # The same drawing in DejaVu Sans, about 12% wider than the Helvetica metrics the bundled
    # renderer measured with: labels spill out of their boxes, as they did before the font was
    # embedded. (Debian's dot estimates text more generously, so the bundled renderer is used.)
    drawing = to_dot(summarize("resnet50", graph=True), "block")
    data, _ = render_dot(drawing, "svg", "graphviz-pure")
    wide = re.sub(r'font-family="[^"]*"', 'font-family="DejaVu Sans"', data.decode("utf-8"))
    measured, problems = _problems(tmp_path, [("resnet50 block in DejaVu Sans", wide.encode())])
    assert measured > 40 and any("outside its shape" in problem for problem in problems)
