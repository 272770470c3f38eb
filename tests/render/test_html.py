"""The HTML report: self-contained, and checked in a real headless browser."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from browser import headless
from resnet_inspect.cli import cli


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
    # The diagram box sits under the title, the whole drawing in it: lines and text.
    assert share_below(image.crop((60, 220, width - 60, height)), 120) > 0.001


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
    # It opens on the whole drawing (the network's outline); at reading size every label is
    # at least 10 CSS px (font size in points x the scale); after jumping to layer3 and three
    # clicks on "−" (zooming about the panel's middle) the drawing is still in the panel.
    assert re.search(r'data-on-open="whole"', dom.stdout)
    smallest = re.search(r'data-smallest-label="([\d.]+)"', dom.stdout)
    assert smallest and float(smallest.group(1)) >= 10
    assert re.search(r'data-after-jump-and-zoom-out="(whole|part)"', dom.stdout)
    # Stages to jump to, a sortable layer table, shortcut edges the page can highlight.
    jumps = re.findall(r'data-target="([^"]+)">(layer\d)<', dom.stdout)
    assert [name for _, name in jumps] == ["layer1", "layer2", "layer3", "layer4"]
    assert all(f'<g id="{target}" class="cluster">' in dom.stdout for target, _ in jumps)
    assert re.search(r'<g id="[^"]+-shortcut" class="edge hl">', dom.stdout)
    table = dom.stdout[dom.stdout.index('<table class="sortable">') :]
    table = table[: table.index("</table>")]
    params = [
        int(cells[4].replace(",", ""))
        for cells in (re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in table.split("<tr")[2:])
    ]
    # the largest block first: layer4.0, 1024·512 + 9·512·512 + 512·2048 + 1024·2048 weights
    # and BN 2·(512 + 512 + 2048) + 2·2048
    largest = 1024 * 512 + 9 * 512 * 512 + 512 * 2048 + 1024 * 2048 + 2 * 3072 + 2 * 2048
    assert params == sorted(params, reverse=True) and params[0] == largest

    # At a 1400 px window the whole drawing shows, centred: the tall network spans most of the
    # panel's height.
    shot = tmp_path / "page.png"
    result = headless(
        page, f"--user-data-dir={profile}", "--window-size=1400,1400", f"--screenshot={shot}"
    )
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    image = Image.open(shot).convert("L")
    top = 360  # below the title, the notes and the buttons
    panel = image.crop((116, top, 1284, 1400))
    # the box around the pixels darker than 160 (the panel's border is lighter)
    box = panel.point(lambda value: 255 if value < 160 else 0).getbbox()
    assert box and (box[3] - box[1]) / panel.height >= 0.6
    middle = (box[0] + box[2]) / 2
    assert abs(middle - panel.width / 2) < 0.1 * panel.width


@pytest.mark.browser
def test_the_layer_table_sorts_shapes_by_size_and_kernels_by_area(tmp_path):
    page = write_report(tmp_path, "report", "resnet18", "--depth", "layer")
    dom = headless(page + "#sort-output", f"--user-data-dir={tmp_path / 'p'}", "--dump-dom")
    table = dom.stdout[dom.stdout.index('<table class="sortable">') :]
    table = table[: table.index("</table>")]
    rows = [re.findall(r"<td([^>]*)>([^<]*)</td>", row) for row in table.split("<tr")[2:]]
    sizes = [int(re.search(r'data-sort="(\d+)"', row[3][0]).group(1)) for row in rows]
    assert len(sizes) > 40 and sizes == sorted(sizes, reverse=True)
    assert sizes[0] == 64 * 112 * 112  # conv1's output, 1×64×112×112, the largest
    left = re.findall(r'<td class="text">([^<]*)</td>', table)
    assert "conv1" in left and "Conv2d" in left  # names and types aligned left


def test_a_notebook_drawing_makes_the_graph_when_asked():
    import resnet_inspect as ri
    from factories import small_resnet
    from resnet_inspect.errors import RenderError

    report = ri.summarize("cifar_resnet20", input_shape="3x40x40", batch_size=2)
    assert report.graph is None
    fragment = report.html(diagram=True)
    assert "<svg" in fragment and "10×10" in fragment  # drawn at the report's own input
    model = ri.analyze(small_resnet(), (3, 64, 64))
    with pytest.raises(RenderError, match="analyze\\(model, ..., graph=True\\)"):
        model.html(diagram=True)
    assert "<svg" in ri.analyze(small_resnet(), (3, 64, 64), graph=True).html(diagram=True)
