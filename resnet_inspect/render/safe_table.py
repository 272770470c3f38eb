"""SafeTable: the table every terminal renderer uses, made with rich's public pieces (Text,
Segment, Style, Box, cell_len, Measurement) and composed through `__rich_console__`.

What it promises:
* user text is escaped: a plain string cell becomes a Text through render/escape.py, so
  control characters are shown and rich markup is printed, never parsed;
* a cell wraps only between words: a number or a dotted name is never cut or folded. A column
  is never narrower than its longest word; when even that does not fit, the table is as wide
  as its words need and `fits(width)` says so, for the caller to drop columns (render/table.py
  does) instead of letting a terminal cut the line;
* speed: a one-line cell that fits its column (nearly every cell) becomes one Segment,
  justified here, so ResNet-152's table by layers lays out many times faster than rich's own
  Table (benchmarks/bench_summary.py measures the ratio).

The look is rich's Table's: a title above (style "table.title"), a bold header under which a
heavy rule runs, light rules between sections, columns divided by the box's verticals, no
outer edge. A grid (`SafeTable.grid`) has no box and no header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rich import box as boxes
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from resnet_inspect.render.escape import CONTROL, plain, terminal_text

_JUSTIFY = ("left", "right", "center")
# A word: leading spaces belong to it (an indented name is one word), then everything up to the
# next plain space; a no-break space (U+00A0) is part of a word.
_WORD = re.compile(r" *[^ ]+ *")


@dataclass
class _Column:
    header: Text
    justify: str = "left"
    style: str = ""
    header_style: str = ""
    no_wrap: bool = False
    min_width: int = 0
    cells: list[Text] = field(default_factory=list)


@dataclass
class _Row:
    style: str = ""
    end_section: bool = False


def width_of(text: str) -> int:
    """Cells `text` takes in a terminal (printable ASCII: one a character)."""
    return len(text) if text.isascii() and text.isprintable() else cell_len(text)


class SafeTable:
    """A table of Text cells; see the module docstring. `padding` is (top, right, bottom,
    left) as in rich, or (vertical, horizontal); only the horizontal part is used."""

    def __init__(
        self,
        title: str | Text | None = None,
        *,
        title_justify: str = "left",
        header_style: str = "bold",
        show_header: bool = True,
        show_edge: bool = False,
        pad_edge: bool = False,
        box: boxes.Box | None = boxes.HEAVY_HEAD,
        padding: tuple[int, ...] = (0, 1),
        collapse_padding: bool = False,
    ) -> None:
        self.title = plain(title) if isinstance(title, str) else title
        self.title_justify = title_justify
        self.header_style = header_style
        self.show_header = show_header
        self.show_edge = show_edge
        self.pad_edge = pad_edge
        self.box = box
        right, left = (padding[1], padding[1]) if len(padding) == 2 else (padding[1], padding[3])
        self.padding = (left, right)
        self.collapse_padding = collapse_padding
        self.columns: list[_Column] = []
        self.rows: list[_Row] = []

    @classmethod
    def grid(cls, padding: tuple[int, ...] = (0, 1)) -> SafeTable:
        """Columns without a box, a header or outer padding; neighbours share their padding."""
        return cls(
            show_header=False,
            box=None,
            padding=padding,
            collapse_padding=True,
        )

    def add_column(
        self,
        header: str | Text = "",
        *,
        justify: str = "left",
        style: str = "",
        header_style: str = "",
        no_wrap: bool = False,
        min_width: int = 0,
    ) -> None:
        if justify not in _JUSTIFY:
            raise ValueError(f"justify must be one of {', '.join(_JUSTIFY)}")
        self.columns.append(
            _Column(_safe(header), justify, style, header_style, no_wrap, min_width)
        )

    def add_row(self, *cells: str | Text | None, style: str | None = None) -> None:
        """One row; a missing or None cell is blank. Plain strings are user-safe text."""
        if len(cells) > len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        for column, cell in zip(self.columns, [*cells, *[None] * len(self.columns)], strict=False):
            column.cells.append(_safe(cell if cell is not None else ""))
        self.rows.append(_Row(style or ""))

    def add_section(self) -> None:
        """A rule under the last row."""
        if self.rows:
            self.rows[-1].end_section = True

    # --- layout -------------------------------------------------------------------------------
    def _pads(self) -> list[tuple[int, int]]:
        """Each column's (left, right) padding, as rich pads its cells."""
        left, right = self.padding
        last = len(self.columns) - 1
        pads = []
        for index in range(len(self.columns)):
            pad_left, pad_right = left, right
            if self.collapse_padding and index:
                pad_left = max(0, pad_left - right)
            if not self.pad_edge:
                pad_left = 0 if index == 0 else pad_left
                pad_right = 0 if index == last else pad_right
            pads.append((pad_left, pad_right))
        return pads

    def _cells(self, column: _Column) -> list[Text]:
        return [column.header, *column.cells] if self.show_header else column.cells

    def _extra(self) -> int:
        """Cells taken by the box's verticals."""
        if self.box is None or not self.columns:
            return 0
        return len(self.columns) - 1 + (2 if self.show_edge else 0)

    def _limits(self) -> tuple[list[int], list[int]]:
        """(natural, minimum) width of each column, padding included: natural is its widest
        line, minimum its longest word (or its widest line, for a no_wrap column)."""
        natural, minimum = [], []
        for column, (left, right) in zip(self.columns, self._pads(), strict=True):
            widest = longest = 0
            for cell in self._cells(column):
                for line in cell.plain.split("\n"):
                    size = width_of(line)
                    widest = max(widest, size)
                    if column.no_wrap:
                        longest = max(longest, size)
                    elif size > longest:  # only a line wider than the longest word so far
                        longest = max(
                            [longest, *(width_of(w.rstrip(" ")) for w in _WORD.findall(line))]
                        )
            pad = left + right
            natural.append(max(widest, column.min_width) + pad)
            minimum.append(max(longest, column.min_width) + pad)
        return natural, minimum

    def natural_width(self) -> int:
        """The width that shows every cell on one line."""
        return sum(self._limits()[0]) + self._extra()

    def minimum_width(self) -> int:
        """The narrowest the table can be without breaking a word."""
        return sum(self._limits()[1]) + self._extra()

    def fits(self, width: int) -> bool:
        """Whether the table can be laid out in `width` cells without breaking a word."""
        return self.minimum_width() <= width

    def column_widths(self, max_width: int) -> list[int]:
        """Each column's width: the natural ones when they fit; else the wrappable columns
        capped at one width (the widest give way first), never below their longest word."""
        natural, minimum = self._limits()
        available = max_width - self._extra()
        if sum(natural) <= available:
            return natural
        if sum(minimum) >= available:
            return minimum
        low, high = 0, max(natural)
        while low < high:  # the largest cap that fits
            cap = (low + high + 1) // 2
            total = sum(max(m, min(n, cap)) for n, m in zip(natural, minimum, strict=True))
            low, high = (cap, high) if total <= available else (low, cap - 1)
        return [max(m, min(n, low)) for n, m in zip(natural, minimum, strict=True)]

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        extra = self._extra()
        natural, minimum = self._limits()
        return Measurement(sum(minimum) + extra, sum(natural) + extra)

    # --- rendering ----------------------------------------------------------------------------
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.columns:
            return
        widths = self.column_widths(options.max_width)
        table_width = sum(widths) + self._extra()
        if self.title is not None and self.title.plain:
            justify: Any = self.title_justify
            yield from console.render(
                self.title, options.update(width=table_width, justify=justify, height=None)
            )
        yield from self._body(console, options, widths)

    def _body(
        self, console: Console, options: ConsoleOptions, widths: list[int]
    ) -> Iterable[Segment]:
        get_style = console.get_style
        box = self.box.substitute(options, safe=console.safe_box) if self.box else None
        if box is not None and not self.show_header:
            box = box.get_plain_headed_box()
        pads = self._pads()
        new_line = Segment.line()
        header_base = get_style(self.header_style or "") if self.header_style else Style.null()
        column_styles = [get_style(c.style) if c.style else Style.null() for c in self.columns]
        header_styles = [
            header_base + (get_style(c.header_style) if c.header_style else Style.null())
            for c in self.columns
        ]
        if box is not None and self.show_edge:
            yield Segment(box.get_top(widths))
            yield new_line
        lines: list[tuple[bool, _Row | None]] = [(True, None)] if self.show_header else []
        lines += [(False, row) for row in self.rows]
        last = len(lines) - 1
        for index, (is_header, row) in enumerate(lines):
            row_index = index - (1 if self.show_header else 0)
            row_style = get_style(row.style) if row is not None and row.style else Style.null()
            bases = header_styles if is_header else [s + row_style for s in column_styles]
            rendered = [
                _cell_lines(
                    console,
                    column.header if is_header else column.cells[row_index],
                    column,
                    width,
                    pad,
                    base,
                )
                for column, width, pad, base in zip(self.columns, widths, pads, bases, strict=True)
            ]
            height = max(len(cell) for cell in rendered)
            if height > 1:
                rendered = [
                    _fill(cell, height, width, base, bottom=is_header)
                    for cell, width, base in zip(rendered, widths, bases, strict=True)
                ]
            divider = left = right = None
            if box is not None:
                if index == 0:
                    left, divider, right = box.head_left, box.head_vertical, box.head_right
                elif index == last:
                    left, divider, right = box.foot_left, box.foot_vertical, box.foot_right
                else:
                    left, divider, right = box.mid_left, box.mid_vertical, box.mid_right
            for number in range(height):
                if left is not None and self.show_edge:
                    yield Segment(left)
                for column, cell in enumerate(rendered):
                    if column and divider is not None:
                        yield Segment(divider)
                    yield from cell[number]
                if right is not None and self.show_edge:
                    yield Segment(right)
                yield new_line
            if box is not None and is_header:
                yield Segment(box.get_row(widths, "head", edge=self.show_edge))
                yield new_line
            elif box is not None and row is not None and row.end_section and index != last:
                yield Segment(box.get_row(widths, "row", edge=self.show_edge))
                yield new_line
        if box is not None and self.show_edge:
            yield Segment(box.get_bottom(widths))
            yield new_line


def _cell_lines(
    console: Console, text: Text, column: _Column, width: int, pad: tuple[int, int], base: Style
) -> list[list[Segment]]:
    """A cell's lines at `width`, padding included: its text justified, wrapped between words
    only, its own style over the cell's."""
    left, right = pad
    inner = width - left - right
    justify = text.justify if text.justify in _JUSTIFY else column.justify
    content = text.plain
    if "\n" not in content and width_of(content) <= inner and not text.spans:
        room = inner - width_of(content)
        before = 0 if justify == "left" else room if justify == "right" else room // 2
        line = " " * (left + before) + content + " " * (room - before + right)
        style = base + console.get_style(text.style) if text.style else base
        if not text.style or before + left == 0 and room - before + right == 0:
            return [[Segment(line, style or None)]]
        return [
            [
                Segment(" " * (left + before), base or None),
                Segment(content, style or None),
                Segment(" " * (room - before + right), base or None),
            ]
        ]
    result = []
    for part in wrap_words(text, max(inner, 1), column.no_wrap):
        room = inner - width_of(part.plain)
        before = 0 if justify == "left" else room if justify == "right" else room // 2
        part.pad_left(before)
        part.pad_right(max(0, room - before))
        segments = list(Segment.apply_style(part.render(console), base or None))
        result.append(
            [Segment(" " * left, base or None), *segments, Segment(" " * right, base or None)]
        )
    return result or [[Segment(" " * width, base or None)]]


def wrap_words(text: Text, width: int, no_wrap: bool = False) -> list[Text]:
    """`text`'s lines, each broken between words to fit `width`: a break only at a plain space,
    never inside a word (a no-break space U+00A0 holds two parts together: "relu_ ×49"), and a
    word wider than `width` kept whole on a line of its own. Leading spaces (an indent) stay
    with the first word; the spaces at a break are dropped."""
    lines: list[Text] = []
    for line in text.split("\n", allow_blank=True):
        plain = line.plain
        if no_wrap or width_of(plain) <= width:
            lines.append(line)
            continue
        breaks: list[int] = []
        start = used = 0
        for match in _WORD.finditer(plain):
            word = match.group().rstrip(" ")
            if match.start() > start and used + width_of(word) > width:
                breaks.append(match.start())
                start, used = match.start(), 0
            used += width_of(match.group())
        for part in line.divide(breaks):
            part.rstrip()
            lines.append(part)
    return lines


def _fill(
    cell: list[list[Segment]], height: int, width: int, base: Style, bottom: bool
) -> list[list[Segment]]:
    """A cell's lines made `height` tall with blank lines (below it; above it in the header,
    which rich aligns to the bottom)."""
    blank = [Segment(" " * width, base or None)]
    missing = [blank] * (height - len(cell))
    return [*missing, *cell] if bottom else [*cell, *missing]


def _safe(cell: Any) -> Text:
    if isinstance(cell, str):
        return plain(cell)
    if isinstance(cell, Text):
        # A Text is ours: its line breaks are kept, any other control character is escaped.
        if any(CONTROL.search(line) for line in cell.plain.split("\n")):
            lines = [terminal_text(line) for line in cell.plain.split("\n")]
            return Text("\n".join(lines), style=cell.style, justify=cell.justify)
        return cell
    return plain(str(cell))


class Fitted:
    """A renderable made for the width it is drawn at: `make(width)` gives what a console of
    `width` columns shows (its tables dropping, splitting or wrapping whole cells to fit), so
    `console.print(render_table(report))` fits any terminal without a width given."""

    def __init__(self, make: Callable[[int], RenderableType]) -> None:
        self.make = make

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.make(options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.make(options.max_width))


def drop_to_fit(
    build: Callable[[tuple[str, ...]], SafeTable],
    keys: tuple[str, ...],
    drop_order: tuple[str, ...],
    width: int | None,
) -> tuple[SafeTable, list[str]]:
    """The table of `keys` with columns left out in `drop_order` until it fits `width` (None:
    any width): (the table, the keys left out)."""
    table, dropped = build(keys), []
    for key in drop_order:
        if width is None or table.fits(width):
            break
        dropped.append(key)
        keys = tuple(k for k in keys if k != key)
        table = build(keys)
    return table, dropped


def split_to_fit(
    build: Callable[[list[int]], SafeTable], count: int, width: int | None
) -> list[SafeTable]:
    """Tables of consecutive items 0…count-1 (`build(indices)` makes one, repeating what every
    table shows), as many items to a table as fit `width` (at least one)."""
    tables: list[SafeTable] = []
    start = 0
    while start < count:
        size = count - start
        table = build(list(range(start, start + size)))
        while width is not None and size > 1 and not table.fits(width):
            size -= 1
            table = build(list(range(start, start + size)))
        tables.append(table)
        start += size
    return tables
