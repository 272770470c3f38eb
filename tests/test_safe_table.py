"""SafeTable's layout against rich's own: the same terminal output, colours and styles included,
for the project's tables and for tables made to reach every rule of the layout (wide
characters, every justification, styled text and spans, edges, grids, empty cells, sections,
row styles, cells that wrap, multi-line cells). A spy proves SafeTable's layout ran, so no case
passes by handing the whole table to rich."""

from __future__ import annotations

import io

import pytest
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from conftest import ROOT
from resnet_inspect import compare, summarize
from resnet_inspect.render.architecture import render_architecture
from resnet_inspect.render.compare import render_comparison
from resnet_inspect.render.safe_table import SafeTable
from resnet_inspect.render.table import render_table

ODD_NAMES = sorted(str(path) for path in (ROOT / "tests/specs/valid_odd_names").glob("*.yaml"))


def terminal(renderable, width: int, colour: bool = True) -> str:
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=colour,
        color_system="truecolor" if colour else None,
        legacy_windows=False,
    )
    console.print(renderable)
    return out.getvalue()


@pytest.fixture
def both(monkeypatch):
    """(ours, rich's, how many tables took the one-pass layout) for a renderable."""

    def render(renderable, width: int, colour: bool = True) -> tuple[str, str, int]:
        fast = []
        original = SafeTable._rows

        def spy(self, *args):
            fast.append(self)
            return original(self, *args)

        with monkeypatch.context() as patch:
            patch.setattr(SafeTable, "_rows", spy)
            ours = terminal(renderable, width, colour)
        with monkeypatch.context() as patch:
            patch.setattr(SafeTable, "__rich_console__", Table.__rich_console__)
            patch.setattr(SafeTable, "__rich_measure__", Table.__rich_measure__)
            theirs = terminal(renderable, width, colour)
        return ours, theirs, len(fast)

    return render


@pytest.mark.parametrize("name", ["resnet152", "seresnet50", "cifar_resnet20", "bottleneck"])
@pytest.mark.parametrize("depth", ["stage", "block", "layer"])
@pytest.mark.parametrize("width", [60, 80, 132, None])
def test_summary_tables(both, name, depth, width):
    report = summarize(name, batch_size=2, check=True)
    ours, theirs, fast = both(render_table(report, depth, "paper", None, width), width or 1000)
    assert ours == theirs
    assert fast == 3  # the layer table, the totals grid (its descriptions wrap) and the check


@pytest.mark.parametrize("path", ODD_NAMES)
def test_hostile_names(both, path):
    report = summarize(path)
    for colour in (True, False):
        ours, theirs, fast = both(render_table(report, "layer"), 1000, colour)
        assert ours == theirs and fast


@pytest.mark.parametrize("width", [80, 120, 1000])
@pytest.mark.parametrize("by", ["overview", "stage", "module"])
def test_comparison_tables(both, width, by):
    comparison = compare(["resnet50", "seresnet50", "resnet50d", "preact_resnet50"])
    ours, theirs, fast = both(render_comparison(comparison, by=by, diff=True), width)
    assert ours == theirs and fast


@pytest.mark.parametrize("width", [60, 200])
def test_multi_line_cells(both, width):
    reports = [summarize(name) for name in ("resnet18", "resnet50_v1")]
    ours, theirs, fast = both(render_architecture(reports), width)
    assert ours == theirs and fast == 1  # the paper's Table 1: recipes over several lines


def made_table(grid: bool = False, **options) -> SafeTable:
    if grid:
        table = SafeTable.grid(**options)  # collapsed padding, no box, no header
    else:
        table = SafeTable(title="Made to reach every rule", **options)
    table.add_column("left", style="green", header_style="bold magenta")
    table.add_column("right", justify="right")
    table.add_column("centre", justify="center", no_wrap=True)
    table.add_row("plain", "1,234", "x")
    table.add_row("  indented", Text("56", style="cyan"), Text("wide 表格", style="italic"))
    table.add_row(None, "", Text.assemble(("a", "red"), " and ", ("b", "bold blue")), style="bold")
    table.add_section()
    table.add_row(Text("right-justified text", justify="right"), "trailing  ", "😀 emoji")
    table.add_row("last", "7", "", style="on grey23")
    return table


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"show_edge": False, "pad_edge": False},
        {"box": box.ROUNDED, "border_style": "blue", "style": "dim"},
        {"box": box.SIMPLE, "show_header": False},
        {"box": None, "padding": (0, 2)},
        {"header_style": "underline", "title_justify": "left"},
        {"row_styles": ["dim", ""], "pad_edge": True, "collapse_padding": True},
        {"grid": True, "padding": (0, 2)},
        {"grid": True, "padding": (0, 3, 0, 1), "pad_edge": True},
    ],
)
@pytest.mark.parametrize("colour", [True, False])
def test_every_rule_of_the_layout(both, options, colour):
    ours, theirs, fast = both(made_table(**options), 120, colour)
    assert ours == theirs and fast == 1


@pytest.mark.parametrize("width", [20, 30, 45])
@pytest.mark.parametrize("colour", [True, False])
@pytest.mark.parametrize("grid", [False, True])
def test_a_table_too_wide_wraps_as_rich_wraps_it(both, width, colour, grid):
    ours, theirs, fast = both(made_table(grid=grid), width, colour)
    assert ours == theirs and fast == 1


def test_measurement_agrees():
    console = Console(width=1000)
    table = made_table()
    options = console.options
    assert table.__rich_measure__(console, options) == Table.__rich_measure__(
        table, console, options
    )
