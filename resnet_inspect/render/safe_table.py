"""SafeTable: the rich Table every renderer uses. User text is escaped (render/escape.py),
cells fold rather than being cut, and a table whose every cell fits on one line is laid out in
one pass.

rich lays a table out cell by cell: each is measured, wrapped in padding, rendered, split into
lines and shaped, which costs about 40 µs a cell (20 ms for ResNet-152's block table). When no
cell needs wrapping — every cell a single line of Text and the table at its natural width within
the space it is given, as for nearly every table printed here — the layout is fixed: each column
as wide as its widest cell plus padding. SafeTable then makes the same segments itself, with
rich's own box, justification and style rules (a test compares the output, styles included,
with rich's on the project's tables); anything else goes to rich's layout unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.containers import Lines
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text

from resnet_inspect.render.escape import CONTROL, plain, terminal_text

_JUSTIFY = ("left", "right", "center")


class SafeTable(Table):
    """A rich Table whose plain-string cells, headers and title are user-safe Text, whose cells
    fold rather than being cut, and which lays itself out in one pass when every cell fits."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*[_safe(cell) for cell in renderables], **kwargs)

    def add_column(self, header: Any = "", *args: Any, **kwargs: Any) -> None:
        # A cell too wide for its column folds onto the next line: rich's default would cut it
        # to "51,380,…", and a number must never be shortened.
        kwargs.setdefault("overflow", "fold")
        super().add_column(_safe(header), *args, **kwargs)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        layout = self._fitting_layout(options.max_width)
        if layout is None:
            return super().__rich_measure__(console, options)
        _, widths, minimums = layout
        extra = self._extra_width
        return Measurement(sum(minimums) + extra, sum(widths) + extra)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        layout = self._fitting_layout(options.max_width)
        if layout is None:
            yield from super().__rich_console__(console, options)
            return
        cells, widths, _ = layout
        render_options = options.update(
            width=sum(widths) + self._extra_width, highlight=self.highlight, height=None
        )
        if self.title:
            yield from _annotation(
                console,
                render_options,
                self.title,
                Style.pick_first(self.title_style, "table.title"),
                self.title_justify,
            )
        yield from self._fitting_rows(console, options, cells, widths)
        if self.caption:
            yield from _annotation(
                console,
                render_options,
                self.caption,
                Style.pick_first(self.caption_style, "table.caption"),
                self.caption_justify,
            )

    def _fitting_layout(
        self, max_width: int
    ) -> tuple[list[list[Text]], list[int], list[int]] | None:
        """(cells per column, header first; column widths; their minimums) when every cell is
        one line of Text and the table fits `max_width` at its natural width; else None."""
        if (
            not self.columns
            or self.width is not None
            or self.min_width is not None
            or self.expand
            or self.show_footer
            or self.show_lines
            or self.leading
            or self.row_styles
            or self.collapse_padding
            or self.padding[0]
            or self.padding[2]
        ):
            return None
        available = max_width - self._extra_width
        cells: list[list[Text]] = []
        widths: list[int] = []
        minimums: list[int] = []
        for index, column in enumerate(self.columns):
            if (
                column.width is not None
                or column.min_width is not None
                or column.max_width is not None
                or column.ratio
            ):
                return None
            texts = []
            widest = narrowest = 0
            for cell in [column.header, *column._cells] if self.show_header else column._cells:
                if isinstance(cell, str) and not cell:
                    cell = Text("")  # rich's own blank cell (add_row's None)
                if type(cell) is not Text:
                    return None
                text = cell.plain
                if "\n" in text or "\t" in text or (cell.justify or column.justify) not in _JUSTIFY:
                    return None
                texts.append(cell)
                widest = max(widest, cell_len(text))
                words = text.split()
                narrowest = max(narrowest, max(map(cell_len, words)) if words else cell_len(text))
            padding = self._get_padding_width(index)
            if available - padding < 1:
                return None
            cells.append(texts)
            widths.append(widest + padding or 1)
            minimums.append(narrowest + padding)
        if sum(widths) > available:
            return None
        return cells, widths, minimums

    def _fitting_rows(
        self,
        console: Console,
        options: ConsoleOptions,
        cells: list[list[Text]],
        widths: list[int],
    ) -> Iterable[Segment]:
        """The segments rich's Table._render makes for one-line cells at these widths."""
        get_style = console.get_style
        border_style = get_style(self.style or "") + get_style(self.border_style or "")
        safe = console.safe_box if self.safe_box is None else self.safe_box
        box = self.box.substitute(options, safe=safe) if self.box else None
        box = box.get_plain_headed_box() if box and not self.show_header else box
        show_header, show_edge = self.show_header, self.show_edge
        new_line = Segment.line()
        last_column = len(self.columns) - 1
        pads = [
            (
                0 if index == 0 and not self.pad_edge else self.padding[3],
                0 if index == last_column and not self.pad_edge else self.padding[1],
            )
            for index in range(len(self.columns))
        ]
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
            line: list[Segment] = []
            if box:
                left_edge, right_edge, divider = edges[0 if first else (2 if last else 1)]
                if not divider.text.strip():
                    divider = Segment(divider.text, row_style.background_style + divider.style)
                if show_edge:
                    line.append(left_edge)
            for column, width in enumerate(widths):
                base = (header_styles if header_row else column_styles)[column] + row_style
                line += _cell(
                    console,
                    cells[column][index],
                    self.columns[column].justify,
                    width,
                    pads[column],
                    base,
                )
                if box and column < last_column:
                    line.append(divider)
            if box and show_edge:
                line.append(right_edge)
            yield from line
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


def _cell(
    console: Console,
    text: Text,
    column_justify: str,
    width: int,
    pad: tuple[int, int],
    base: Style,
) -> list[Segment]:
    """One cell as rich renders it: Padding's spaces in the cell's style, the Text justified
    inside them (its own style also on the justifying spaces), all over the cell's style."""
    left, right = pad
    inner = width - left - right
    justify = text.justify or column_justify
    segments: list[Segment]
    if not text.style and not text.spans:
        content = text.plain
        if justify == "left":
            content += " " * (inner - cell_len(content))
        else:
            content = content.rstrip()
            room = inner - cell_len(content)
            before = room if justify == "right" else room // 2
            content = " " * before + content + " " * (room - before)
        segments = [Segment(content, base) if base else Segment(content)]
    else:
        line = text.copy()
        Lines([line]).justify(console, inner, justify=justify, overflow="fold")  # type: ignore[arg-type]
        rendered = Text("\n").join([line]).render(console)
        segments = list(Segment.apply_style(rendered, base)) if base else list(rendered)
    pad_style = base if base else Style.null()
    if left:
        segments.insert(0, Segment(" " * left, pad_style))
    if right:
        segments.append(Segment(" " * right, pad_style))
    return segments


def _annotation(
    console: Console, options: ConsoleOptions, text: Any, style: Any, justify: Any
) -> RenderResult:
    """A title or caption, as rich's Table renders it."""
    rendered = (
        console.render_str(text, style=style, highlight=False) if isinstance(text, str) else text
    )
    return console.render(rendered, options=options.update(justify=justify))


def _safe(cell: Any) -> Any:
    if isinstance(cell, str):
        return plain(cell)
    # A Text is ours: its line breaks are kept, any other control character is escaped.
    if isinstance(cell, Text) and any(CONTROL.search(line) for line in cell.plain.split("\n")):
        lines = [terminal_text(line) for line in cell.plain.split("\n")]
        return Text("\n".join(lines), style=cell.style, justify=cell.justify)
    return cell
