"""SafeTable: the rich Table every renderer uses. User text is escaped (render/escape.py),
cells fold rather than being cut, and one-line cells are laid out directly.

rich lays a table out cell by cell: each is measured, wrapped in padding, rendered, split into
lines and shaped, about 40 µs a cell (20 ms for ResNet-152's block table). Most cells here are
one short line of Text that fits its column; for those the result is fixed — the text justified
in the column, padding either side, the cell's style under the text's — and SafeTable makes
those segments itself. Column widths are the widest cell plus padding when everything fits at
its natural width, else rich's own computation; cells that wrap, and tables holding anything
but Text, are rendered by rich. A test compares the output, colours included, with rich's on
the project's tables and on tables made to reach every rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.containers import Lines
from rich.measure import Measurement
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.table import Column, Table
from rich.text import Text

from resnet_inspect.render.escape import CONTROL, plain, terminal_text

_JUSTIFY = ("left", "right", "center")


class SafeTable(Table):
    """A rich Table whose plain-string cells, headers and title are user-safe Text, whose cells
    fold rather than being cut, and whose one-line cells are laid out directly."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*[_safe(cell) for cell in renderables], **kwargs)

    def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:
        # A cell too wide for its column folds onto the next line: rich's default would cut it
        # to "51,380,…", and a number must never be shortened.
        kwargs.setdefault("overflow", "fold")
        super().add_column(_safe(header), *args, **kwargs)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        cells = self._text_cells()
        natural = None if cells is None else self._natural(cells, options.max_width, True)
        if natural is None:
            return super().__rich_measure__(console, options)
        widths, minimums = natural
        extra = self._extra_width
        return Measurement(sum(minimums) + extra, sum(widths) + extra)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        cells = self._text_cells()
        if cells is None:
            yield from super().__rich_console__(console, options)
            return
        extra = self._extra_width
        natural = self._natural(cells, options.max_width)
        widths = (
            natural[0]
            if natural is not None
            else self._calculate_column_widths(
                console, options.update_width(options.max_width - extra)
            )
        )
        render_options = options.update(
            width=sum(widths) + extra, highlight=self.highlight, height=None
        )
        yield from self._annotation(console, render_options, "title")
        yield from self._rows(console, render_options, options, cells, widths)
        yield from self._annotation(console, render_options, "caption")

    def _annotation(self, console: Console, options: ConsoleOptions, kind: str) -> RenderResult:
        """The title or the caption, as rich's Table renders it."""
        text = getattr(self, kind)
        if not text:
            return
        style = Style.pick_first(getattr(self, f"{kind}_style"), f"table.{kind}")
        if isinstance(text, str):
            text = console.render_str(text, style=style, highlight=False)
        yield from console.render(text, options.update(justify=getattr(self, f"{kind}_justify")))

    def _text_cells(self) -> list[list[Text]] | None:
        """Each column's cells, header first, when every one is Text and the table has none of
        the settings this layout leaves to rich (a fixed or expanding width, footers, lines
        between rows, vertical padding); else None."""
        if (
            not self.columns
            or self.width is not None
            or self.min_width is not None
            or self.expand
            or self.show_footer
            or self.show_lines
            or self.leading
            or self.padding[0]
            or self.padding[2]
        ):
            return None
        columns = []
        for column in self.columns:
            texts = []
            for cell in [column.header, *column._cells] if self.show_header else column._cells:
                if isinstance(cell, str) and not cell:
                    cell = Text("")  # rich's own blank cell (add_row's None)
                if type(cell) is not Text:
                    return None
                texts.append(cell)
            columns.append(texts)
        return columns

    def _natural(
        self, cells: list[list[Text]], max_width: int, measure: bool = False
    ) -> tuple[list[int], list[int]] | None:
        """Column widths (each its widest cell plus padding) and, with `measure`, their
        minimums (the longest word), when every cell is one line and the table fits
        `max_width` so: the widths rich would compute. Else None."""
        available = max_width - self._extra_width
        widths: list[int] = []
        minimums: list[int] = []
        for column, texts, (left, right) in zip(self.columns, cells, self._pads(), strict=True):
            if (
                column.width is not None
                or column.min_width is not None
                or column.max_width is not None
                or column.ratio
            ):
                return None
            widest = narrowest = 0
            for cell in texts:
                text = cell.plain
                if "\n" in text or "\t" in text:
                    return None
                widest = max(widest, _width(text))
                if measure:
                    words = text.split()
                    narrowest = max(narrowest, max(map(_width, words)) if words else _width(text))
            padding = left + right
            if available - padding < 1:
                return None
            widths.append(widest + padding or 1)
            minimums.append(narrowest + padding)
        return (widths, minimums) if sum(widths) <= available else None

    def _pads(self) -> list[tuple[int, int]]:
        """Each column's (left, right) padding, as rich's _get_cells pads a cell (the
        measured width of a column includes these, not _get_padding_width)."""
        _, pad_right, _, pad_left = self.padding
        last_column = len(self.columns) - 1
        pads = []
        for index in range(len(self.columns)):
            left, right = pad_left, pad_right
            if self.collapse_padding and index:  # a grid: neighbours share their padding
                left = max(0, left - right)
            if not self.pad_edge:
                left = 0 if index == 0 else left
                right = 0 if index == last_column else right
            pads.append((left, right))
        return pads

    def _rows(
        self,
        console: Console,
        render_options: ConsoleOptions,
        options: ConsoleOptions,
        cells: list[list[Text]],
        widths: list[int],
    ) -> Iterable[Segment]:
        """The segments of rich's Table._render, one-line cells made directly."""
        get_style = console.get_style
        border_style = get_style(self.style or "") + get_style(self.border_style or "")
        safe = console.safe_box if self.safe_box is None else self.safe_box
        box = self.box.substitute(options, safe=safe) if self.box else None
        box = box.get_plain_headed_box() if box and not self.show_header else box
        show_header, show_edge = self.show_header, self.show_edge
        new_line = Segment.line()
        last_column = len(self.columns) - 1
        pads = self._pads()
        header_styles = [
            get_style(self.header_style or "") + get_style(column.header_style)
            for column in self.columns
        ]
        column_styles = [get_style(column.style or "") for column in self.columns]
        if box:
            edges = [
                (
                    Segment(left, border_style),
                    Segment(right, border_style),
                    Segment(vertical, border_style),
                )
                for left, right, vertical in (
                    (box.head_left, box.head_right, box.head_vertical),
                    (box.mid_left, box.mid_right, box.mid_vertical),
                    (box.foot_left, box.foot_right, box.foot_vertical),
                )
            ]
            if show_edge:
                yield Segment(box.get_top(widths), border_style)
                yield new_line
        count = len(cells[0])
        for index in range(count):
            first, last = index == 0, index == count - 1
            header_row = first and show_header
            row = None if header_row else self.rows[index - show_header]
            row_style = (
                Style.null()
                if row is None
                else get_style(self.get_row_style(console, index - show_header))
            )
            bases = [
                style + row_style for style in (header_styles if header_row else column_styles)
            ]
            rendered = [
                _cell(console, render_options, cells[column][index], self.columns[column], *cell)
                for column, cell in enumerate(zip(widths, pads, bases, strict=True))
            ]
            height = max(1, *(len(lines) for lines in rendered))
            if any(len(lines) != 1 for lines in rendered):  # rich's vertical alignment, shape
                rendered = [
                    Segment.set_shape(
                        _align(
                            lines,
                            "bottom" if header_row else column.vertical,
                            width,
                            height,
                            base,
                        ),
                        width,
                        height,
                    )
                    for lines, column, width, base in zip(
                        rendered, self.columns, widths, bases, strict=True
                    )
                ]
            if box:
                left_edge, right_edge, divider = edges[0 if first else (2 if last else 1)]
                if not divider.text.strip():
                    divider = Segment(divider.text, row_style.background_style + divider.style)
            for line_number in range(height):
                if box and show_edge:
                    yield left_edge
                for column, lines in enumerate(rendered):
                    yield from lines[line_number]
                    if box and column < last_column:
                        yield divider
                if box and show_edge:
                    yield right_edge
                yield new_line
            if box and header_row:
                yield Segment(box.get_row(widths, "head", edge=show_edge), border_style)
                yield new_line
            if box and row is not None and row.end_section and not last:
                yield Segment(box.get_row(widths, "row", edge=show_edge), border_style)
                yield new_line
        if box and show_edge:
            yield Segment(box.get_bottom(widths), border_style)
            yield new_line


def _width(text: str) -> int:
    """Cells `text` takes in a terminal (printable ASCII: one a character)."""
    return len(text) if text.isascii() and text.isprintable() else cell_len(text)


def _align(
    lines: list[list[Segment]], vertical: str, width: int, height: int, style: Style
) -> list[list[Segment]]:
    if vertical == "top":
        return Segment.align_top(lines, width, height, style)
    if vertical == "middle":
        return Segment.align_middle(lines, width, height, style)
    return Segment.align_bottom(lines, width, height, style)


def _cell(
    console: Console,
    options: ConsoleOptions,
    text: Text,
    column: Column,
    width: int,
    pad: tuple[int, int],
    base: Style,
) -> list[list[Segment]]:
    """One cell's lines as rich renders them. A one-line Text that fits: Padding's spaces in
    the cell's style, the Text justified inside them (its own style also on the justifying
    spaces), all over the cell's style. Anything else: rich's own rendering of the cell."""
    left, right = pad
    inner = width - left - right
    justify = text.justify or column.justify
    content = text.plain
    if (
        "\n" in content
        or "\t" in content
        or justify not in _JUSTIFY
        or _width(content) > inner
        or inner < 1
    ):
        cell_options = options.update(
            width=width,
            justify=column.justify,
            no_wrap=column.no_wrap,
            overflow=column.overflow,
            height=None,
            highlight=column.highlight,
        )
        return console.render_lines(Padding(text, (0, right, 0, left)), cell_options, style=base)
    segments: list[Segment]
    if not text.style and not text.spans:
        if justify == "left":
            content += " " * (inner - _width(content))
        else:
            content = content.rstrip()
            room = inner - _width(content)
            before = room if justify == "right" else room // 2
            content = " " * before + content + " " * (room - before)
        segments = [Segment(content, base) if base else Segment(content)]
    else:
        line = text.copy()
        Lines([line]).justify(console, inner, justify=justify, overflow="fold")
        rendered = Text("\n").join([line]).render(console)
        segments = list(Segment.apply_style(rendered, base)) if base else list(rendered)
    pad_style = base if base else Style.null()
    if left:
        segments.insert(0, Segment(" " * left, pad_style))
    if right:
        segments.append(Segment(" " * right, pad_style))
    return [segments]


def _safe(cell: Any) -> Any:
    if isinstance(cell, str):
        return plain(cell)
    # A Text is ours: its line breaks are kept, any other control character is escaped.
    if isinstance(cell, Text) and any(CONTROL.search(line) for line in cell.plain.split("\n")):
        lines = [terminal_text(line) for line in cell.plain.split("\n")]
        return Text("\n".join(lines), style=cell.style, justify=cell.justify)
    return cell
