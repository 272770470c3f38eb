"""Headless Chromium for the tests that look at pages and drawings as a browser draws them
(skipped where no Chromium is installed; .ci/run installs Debian's)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")


def headless(path: str, *flags: str, timeout: int = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            *flags,
            f"file://{path}",
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Labels as a browser draws them: each inside its node's shape (and each cluster's title
# inside the cluster), no two overlapping. (tests/render/test_diagram_legibility.py and
# test_any_model_drawings.py)
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


def page_result(page: Path, *flags: str, budget_ms: int, timeout: int) -> Any:
    """Open `page` in headless Chromium and read the JSON its script leaves in
    <pre id="result"> (a measuring script's findings)."""
    dom = headless(
        str(page),
        f"--user-data-dir={page.parent / 'profile'}",
        *flags,
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        timeout=timeout,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="result">(.*?)</pre>', dom.stdout, re.S)
    assert found, "the page's script did not finish"
    return json.loads(html.unescape(found.group(1)))


def label_problems(tmp_path: Path, svgs: list[tuple[str, bytes]]) -> tuple[int, list[str]]:
    """(labels measured, problems found) in headless Chromium."""
    page = tmp_path / "diagrams.html"
    page.write_text(_page(svgs), encoding="utf-8")
    result = page_result(page, budget_ms=60000, timeout=240)
    return result["measured"], result["problems"]
