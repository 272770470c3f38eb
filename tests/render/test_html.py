"""The HTML report: self-contained, and checked in a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from resnet_inspect.cli import cli

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def write_report(tmp_path, *args: str) -> str:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, [*args, "-o", str(target)] if args[0] == "report" else [*args, "--html", str(target)]
    )
    assert result.exit_code == 0, result.output
    return str(target)


def test_report_is_self_contained(tmp_path):
    page = open(write_report(tmp_path, "report", "resnet50")).read()
    assert page.startswith("<!DOCTYPE html>")
    for section in ("diagram", "totals", "stages", "memory", "receptive-field", "layers"):
        assert f'id="{section}"' in page
    assert page.count("<svg") >= 3  # the diagram and two bar charts
    assert "25,557,032" in page and "4,089,184,256" in page and "427 px" in page
    # Nothing to fetch: no external scripts, styles, images or fonts.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page and "@import" not in page
    urls = set(re.findall(r"https?://[^\"' )]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_report_with_latency_and_comparison_page(tmp_path):
    page = open(write_report(tmp_path, "report", "cifar_resnet20", "--latency")).read()
    assert 'id="latency"' in page and "Median ms" in page
    compare_page = open(write_report(tmp_path, "compare", "bottleneck", "plain")).read()
    assert "69,632" in compare_page and "16.9×" in compare_page


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


@pytest.mark.browser
@pytest.mark.parametrize("args", [("report", "resnet50"), ("compare", "bottleneck", "plain")])
def test_page_in_a_headless_browser(tmp_path, args):
    from PIL import Image

    page = write_report(tmp_path, *args)
    profile = tmp_path / "profile"
    dom = headless(page, f"--user-data-dir={profile}", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="yes"' in dom.stdout  # the page's script ran to the end without errors
    assert "<svg" in dom.stdout and "<table" in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not [line for line in console if "rror" in line], console

    shot = tmp_path / "page.png"
    result = headless(
        page, f"--user-data-dir={profile}", "--window-size=1300,1400", f"--screenshot={shot}"
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    image = Image.open(shot).convert("L")
    width, height = image.size
    assert share_below(image, 200) > 0.01  # not blank
    # The diagram box sits under the title: it must hold drawn lines and text.
    assert share_below(image.crop((60, 220, min(width, 900), 700)), 120) > 0.005


def share_below(image, level: int) -> float:
    """The fraction of pixels darker than `level` (a grey-scale image)."""
    histogram = image.histogram()
    return sum(histogram[:level]) / sum(histogram)


@pytest.mark.browser
def test_report_drawing_fills_the_panel_and_a_click_shows_details(tmp_path):
    from PIL import Image

    page = write_report(tmp_path, "report", "resnet50")
    profile = tmp_path / "profile"
    # The page's test hook dispatches real events: a click on the first layer's box (its
    # details appear, with numbers from the report), the mouse over a block (its shortcut edge
    # is highlighted), a click on the layer table's Params header (sorted, largest first).
    dom = headless(page + "#try-it", f"--user-data-dir={profile}", "--dump-dom")
    assert 'data-ready="yes"' in dom.stdout
    details = re.search(r'<div id="details">(.*?)</div>', dom.stdout, re.S)
    assert details, "the details box is missing"
    text = re.sub(r"<[^>]+>", " ", details.group(1))
    assert "conv1" in text and "9,408" in text and "118,013,952" in text and "7 px" in text
    # Stages to jump to, a sortable layer table, shortcut edges the page can highlight.
    # every label at least 10 CSS px on open (font size in points x the fit's scale)
    smallest = re.search(r'data-smallest-label="([\d.]+)"', dom.stdout)
    assert smallest and float(smallest.group(1)) >= 10
    jumps = re.findall(r'data-target="([^"]+)">(layer\d)<', dom.stdout)
    assert [name for _, name in jumps] == ["layer1", "layer2", "layer3", "layer4"]
    assert all(f'<g id="{target}" class="cluster">' in dom.stdout for target, _ in jumps)
    assert re.search(r'<g id="[^"]+-shortcut" class="edge hl">', dom.stdout)
    table = dom.stdout[dom.stdout.index('<table class="sortable">') :]
    table = table[: table.index("</table>")]
    params = [
        int(cells[4].replace(",", ""))
        for cells in (re.findall(r"<td>([^<]*)</td>", row) for row in table.split("<tr")[2:])
    ]
    # the largest block first: layer4.0, 1024·512 + 9·512·512 + 512·2048 + 1024·2048 weights
    # and BN 2·(512 + 512 + 2048) + 2·2048
    largest = 1024 * 512 + 9 * 512 * 512 + 512 * 2048 + 1024 * 2048 + 2 * 3072 + 2 * 2048
    assert params == sorted(params, reverse=True) and params[0] == largest

    # At a 1400 px window the drawing spans most of its panel (1,168 px wide: the page is 1,200
    # px with 16 px padding), its labels at reading size rather than shrunk to fit the height.
    shot = tmp_path / "page.png"
    result = headless(
        page, f"--user-data-dir={profile}", "--window-size=1400,1400", f"--screenshot={shot}"
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    image = Image.open(shot).convert("L")
    panel = image.crop((116, 420, 1284, 1400))
    # the box around the pixels darker than 160 (the panel's border is lighter)
    box = panel.point(lambda value: 255 if value < 160 else 0).getbbox()
    assert box and (box[2] - box[0]) / panel.width >= 0.6
