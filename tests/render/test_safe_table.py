"""SafeTable: the layout every terminal table uses, on rich's public API only.

Checked against our own expected output: small tables written out by hand here (every rule:
justification, wide characters, sections, multi-line cells, grids, wrapping), golden files of
the project's tables (tests/render/golden/, regenerated on purpose with --update-golden), and
invariants at every width: no number or dotted name is ever cut or split across lines, the
columns line up, and a table that fits is no wider than the terminal."""

from __future__ import annotations

import ast
import io
import re

import pytest
from rich.console import Console
from rich.text import Text

from conftest import ROOT
from resnet_inspect import compare, summarize
from resnet_inspect.render.architecture import render_architecture
from resnet_inspect.render.comparison_table import render_comparison
from resnet_inspect.render.safe_table import SafeTable
from resnet_inspect.render.table import render_table

GOLDEN = ROOT / "tests" / "render" / "golden"
ODD_NAMES = sorted(str(path) for path in (ROOT / "tests/specs/valid_odd_names").glob("*.yaml"))


def terminal(renderable, width: int, colour: bool = False) -> str:
    """What a terminal of `width` columns shows; lines are not cropped (as the command line
    prints), so a table wider than the terminal shows as wider, never cut."""
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=colour,
        color_system="truecolor" if colour else None,
        legacy_windows=False,
    )
    console.print(renderable, crop=False)
    return out.getvalue()


def small() -> SafeTable:
    table = SafeTable("Title", header_style="bold")
    table.add_column("Name")
    table.add_column("Count", justify="right")
    table.add_column("Mid", justify="center")
    table.add_row("conv1", "9,408", "a")
    table.add_row("layer1.0.downsample.0", "16,384", "bbb")
    table.add_section()
    table.add_row("total", "25,792", "")
    return table


def test_the_house_style_by_hand():
    # the title padded to the table's width; the header over a heavy rule; a light rule for
    # the section; no outer edge; numbers right, the last column centred
    assert terminal(small(), 80) == (
        "Title                               \n"
        "Name                  ┃  Count ┃ Mid\n"
        "━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━\n"
        "conv1                 │  9,408 │  a \n"
        "layer1.0.downsample.0 │ 16,384 │ bbb\n"
        "──────────────────────┼────────┼────\n"
        "total                 │ 25,792 │    \n"
    )


def test_colours_by_hand():
    table = SafeTable(header_style="bold")
    table.add_column("A", style="cyan")
    table.add_column("B", justify="right")
    table.add_row("x", Text("1", style="red"), style="italic")
    # the header bold (a column's style is its body's); the row's italic under the column's
    # cyan and under the cell's own red
    assert terminal(table, 40, colour=True) == (
        "\x1b[1mA \x1b[0m┃\x1b[1m B\x1b[0m\n"
        "━━╇━━\n"
        "\x1b[3;36mx \x1b[0m│\x1b[3m \x1b[0m\x1b[3;31m1\x1b[0m\n"
    )


def test_wide_characters_and_multi_line_cells():
    table = SafeTable()
    table.add_column("名前")
    table.add_column("x", justify="right")
    table.add_row("漢字の名前", Text("1\n22"))
    assert terminal(table, 40) == (
        "名前       ┃  x\n━━━━━━━━━━━╇━━━\n漢字の名前 │  1\n           │ 22\n"
    )


def test_a_grid_shares_its_padding_and_wraps_between_words():
    grid = SafeTable.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    grid.add_row("Depth", "50", "weighted layers on the main path, as the paper counts them")
    assert terminal(grid, 40) == (
        "Depth  50  weighted layers on the main  \n"
        "           path, as the paper counts    \n"
        "           them                         \n"
    )


def test_a_column_is_never_narrower_than_its_longest_word():
    table = SafeTable()
    table.add_column("Module")
    table.add_column("Params", justify="right")
    table.add_row("layer2.0.downsample.0 (projection)", "51,380,224")
    assert table.minimum_width() == len("layer2.0.downsample.0") + 1 + 1 + len("51,380,224") + 1
    text = terminal(table, 20)  # narrower than the words: the table keeps them whole
    assert "layer2.0.downsample.0" in text and "51,380,224" in text
    assert not table.fits(20)
    assert table.fits(table.minimum_width())


def _tables():
    report = summarize("seresnet50", batch_size=2, check=True)
    comparison = compare(["bottleneck", "plain", "resnet50"])
    reports = [summarize(name) for name in ("resnet18", "resnet50_v1", "resnet152_v1")]
    return {
        "summary": lambda width: render_table(report, "block", "paper", None, width),
        "layers": lambda width: render_table(report, "layer", "paper", None, width),
        "compare": lambda width: render_comparison(comparison, "module", True),
        "table1": lambda width: render_architecture(reports),
    }


TABLES = _tables()
NUMBER_OR_NAME = re.compile(r"[\w.,×/+-]*\d[\w.,×/+-]*|\w+(?:\.\w+)+")


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("width", range(60, 201, 20))
def test_no_number_or_name_is_split_at_any_width(name, width):
    renderable = TABLES[name](width)
    wide = terminal(renderable, 1000)
    text = terminal(renderable, width)
    whole = set(NUMBER_OR_NAME.findall(wide))
    shown = "\n".join(line for line in text.splitlines() if "Hidden to fit" not in line)
    pieces = set(NUMBER_OR_NAME.findall(shown)) - whole  # what a split or a cut would leave
    assert not pieces, sorted(pieces)[:5]


@pytest.mark.parametrize("width", range(60, 201, 10))
def test_a_table_that_fits_is_no_wider_than_the_terminal_and_lines_up(width):
    report = summarize("resnet50")
    text = terminal(render_table(report, "block", "paper", None, width), width)
    table_lines = [
        line for line in text.split("\n\n")[0].splitlines() if "┃" in line or "│" in line
    ]
    assert len(table_lines) > 20 and max(len(line) for line in table_lines) <= width
    dividers = {tuple(m.start() for m in re.finditer("[┃│╇┼]", line)) for line in table_lines}
    assert len({len(d) for d in dividers}) == 1 and len(dividers) == 1  # columns line up


def test_one_line_cells_are_laid_out_directly(monkeypatch):
    from resnet_inspect.render import safe_table

    calls = []
    wrap = safe_table.wrap_words

    def counted(text, *args, **kwargs):
        calls.append(text.plain)
        return wrap(text, *args, **kwargs)

    monkeypatch.setattr(safe_table, "wrap_words", counted)
    report = summarize("resnet152", batch_size=32)
    table = render_table(report, "layer", width=1000).renderables[0]  # its layer table
    assert isinstance(table, SafeTable) and len(table.rows) > 400
    terminal(table, 1000)
    assert calls == []  # no cell of the 468 rows needed more than one segment's work
    narrow = render_table(report, "block", "paper", None, 60).renderables[0]
    terminal(narrow, 60)  # at 60 columns only the subtotals' words do not fit on one line
    assert calls and all("subtotal" in text or "Layer" in text for text in calls)


def test_a_no_break_space_holds_an_item_together():
    grid = SafeTable.grid(padding=(0, 1))
    grid.add_column()
    grid.add_row(Text("add_\u00a0×16, max_pool2d\u00a0×1, relu_\u00a0×49"))
    lines = terminal(grid, 14).splitlines()
    assert [line.rstrip() for line in lines] == [
        "add_\u00a0×16,",
        "max_pool2d\u00a0×1,",
        "relu_\u00a0×49",
    ]


@pytest.mark.parametrize("path", ODD_NAMES)
def test_hostile_names_stay_text(path):
    text = terminal(render_table(summarize(path), "layer"), 1000)
    assert "\x1b" not in text and "\x07" not in text


def test_only_rich_public_api():
    source = (ROOT / "resnet_inspect" / "render" / "safe_table.py").read_text()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rich"):
            assert not any(part.startswith("_") for part in node.module.split(".")), node.module
            assert not any(alias.name.startswith("_") for alias in node.names), node.module
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            assert owner in ("self", "cls") or node.attr.startswith("__"), ast.unparse(node)


GOLDEN_CASES = [
    ("resnet50", "block", 100),
    ("resnet50", "stage", 80),
    ("cifar_resnet20", "layer", 132),
    ("seresnet50", "block", 60),
]


@pytest.mark.parametrize(("name", "depth", "width"), GOLDEN_CASES)
def test_golden_summaries(request, name, depth, width):
    report = summarize(name, check=True)
    text = terminal(render_table(report, depth, "paper", None, width), width, colour=True)
    path = GOLDEN / f"summary_{name}_{depth}_{width}.txt"
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{path.name}: run pytest --update-golden"
