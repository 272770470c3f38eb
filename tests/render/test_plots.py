"""The experiments' plots as a browser draws them: every text inside the drawing, none over
another, at a legible size, in the embedded font (which has loaded: nothing is fetched); the
files are the same bytes each time, and a PNG has the pixels its size and dpi say."""

from __future__ import annotations

import html
import re
import struct

import pytest

from browser import page_result
from resnet_inspect.render.plots import (
    render_response_plot,
    render_signal_plot,
    render_training_plot,
)
from resnet_inspect.report import (
    EpochRecord,
    SignalBlock,
    SignalLayer,
    SignalReport,
    TrainedNetwork,
    TrainingRun,
)

MEASURE = """
<script>
document.fonts.ready.then(function () {
  var out = [], measured = 0, tolerance = 0.5;
  var loaded = document.fonts.check("12px 'resnet-inspect sans'");
  document.querySelectorAll('svg[data-name]').forEach(function (svg) {
    var name = svg.dataset.name, frame = svg.getBoundingClientRect(), boxes = [];
    svg.querySelectorAll('text').forEach(function (t) {
      if (!t.textContent.trim()) { return; }
      var b = t.getBoundingClientRect();
      var size = parseFloat(getComputedStyle(t).fontSize) * frame.width / svg.viewBox.baseVal.width;
      measured += 1;
      if (b.left < frame.left - tolerance || b.right > frame.right + tolerance ||
          b.top < frame.top - tolerance || b.bottom > frame.bottom + tolerance) {
        out.push(name + ': outside the drawing: ' + t.textContent);
      }
      if (size < 9.5) {
        out.push(name + ': too small (' + size.toFixed(1) + 'px): ' + t.textContent);
      }
      if (getComputedStyle(t).fontFamily.indexOf('resnet-inspect sans') < 0) {
        out.push(name + ': not in the embedded font: ' + t.textContent);
      }
      boxes.push({b: b, text: t.textContent});
    });
    for (var i = 0; i < boxes.length; i++) {
      for (var j = i + 1; j < boxes.length; j++) {
        var a = boxes[i].b, c = boxes[j].b;
        if (a.left + tolerance < c.right && c.left + tolerance < a.right &&
            a.top + tolerance < c.bottom && c.top + tolerance < a.bottom) {
          out.push(name + ': texts overlap: ' + boxes[i].text + ' / ' + boxes[j].text);
        }
      }
    }
  });
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify({measured: measured, loaded: loaded, problems: out});
  document.body.appendChild(pre);
});
</script>
"""


def signal_report(name: str, blocks: int, residual: bool, ratio: float) -> SignalReport:
    return SignalReport(
        model=name,
        source=name,
        mode="train",
        input={"kind": "normal", "shape": [64, 3, 32, 32], "seed": 0},
        loss=2.3,
        blocks=[
            SignalBlock(
                f"layer{1 + i // 9}.{i % 9}",
                "BasicBlock",
                0.2 + 0.25 * i * residual,
                0.35 + 0.2 * i * residual,
                1.0 if residual else None,
            )
            for i in range(blocks)
        ],
        layers=[
            SignalLayer(f"l{i}", "Conv2d", True, 1.0, f"l{i}", ratio * 0.1 / (1 + i))
            for i in range(2 * blocks + 1)
        ],
        grad_norm_ratio=ratio,
        ratio_layers=["l0", f"l{2 * blocks}"],
    )


REPORTS = [
    signal_report("cifar_plain20", 9, False, 13.5),
    signal_report("cifar_plain56", 27, False, 4600.0),
    signal_report("cifar_resnet20", 9, True, 3.6),
    signal_report("cifar_resnet56", 27, True, 14.0),
]


def training_run() -> TrainingRun:
    def curve(start: float, end: float) -> list[EpochRecord]:
        return [
            EpochRecord(
                e,
                1.0,
                start + (end - start) * e / 16,
                1.0,
                start + (end - start) * e / 16,
                0.1,
                700.0,
                2.0,
            )
            for e in range(1, 17)
        ]

    nets = [
        TrainedNetwork(name, name, residual, 270_000, curve(0.9, end), "done", {})
        for name, residual, end in (
            ("cifar_plain20", False, 0.12),
            ("cifar_plain56", False, 0.73),
            ("cifar_resnet20", True, 0.013),
            ("cifar_resnet56", True, 0.016),
        )
    ]
    return TrainingRun(data="digits", recipe={}, networks=nets)


def _problems(tmp_path, svgs: list[tuple[str, bytes]]):
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='width:1300px'>"]
    for name, data in svgs:
        text = data.decode("utf-8")
        text = text[text.index("<svg") :]
        parts.append(text.replace("<svg", f'<svg data-name="{html.escape(name)}"', 1))
    page = tmp_path / "plots.html"
    page.write_text("\n".join(parts) + MEASURE + "</body></html>", encoding="utf-8")
    return page_result(page, "--window-size=1300,900", budget_ms=30000, timeout=180)


@pytest.mark.browser
@pytest.mark.slow
def test_every_text_of_the_plots_is_legible_in_a_browser(tmp_path):
    svgs = [
        ("signal", render_signal_plot(REPORTS, "svg")),
        ("signal, one network", render_signal_plot(REPORTS[3:], "svg")),
        ("training", render_training_plot(training_run(), "svg")),
        ("figure 7", render_response_plot(REPORTS, "std of the responses", "svg")),
    ]
    result = _problems(tmp_path, svgs)
    assert result["loaded"], "the embedded font did not load"
    assert result["measured"] > 60
    assert result["problems"] == [], result["problems"][:8]


@pytest.mark.browser
def test_the_check_sees_text_that_overlaps(tmp_path):
    pytest.importorskip("matplotlib")
    data = render_signal_plot(REPORTS, "svg").decode("utf-8")
    # every upright label moved onto one place
    crowded = re.sub(r'x="[^"]*" y="[^"]*" transform="rotate\(-0 [^)]*\)"', 'x="100" y="100"', data)
    result = _problems(tmp_path, [("crowded", crowded.encode())])
    assert any("overlap" in problem for problem in result["problems"])


def test_the_svg_is_self_contained_and_the_same_each_time():
    first = render_signal_plot(REPORTS, "svg")
    assert first == render_signal_plot(REPORTS, "svg")
    text = first.decode("utf-8")
    assert "data:font/woff;base64," in text
    assert not re.search(r"(href|src)=\"(https?:)?//", text)
    assert "resnet-inspect sans" in text and "cifar_resnet56" in text


def test_a_png_has_the_pixels_its_size_says():
    data = render_signal_plot(REPORTS, "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (13 * 192, round(8.2 * 192))
    assert render_signal_plot(REPORTS, "png") == data
