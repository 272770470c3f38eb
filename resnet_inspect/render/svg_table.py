"""Tables as paper-style SVG: the diagrams' embedded font (render/typeface.py), measured with its
own advance widths, rules above and below the header and at the bottom, light rules between
rows, a row's colour where it stands for a stage (the diagrams' stage colours). Nothing is
fetched when the file is opened; every text goes through the HTML/SVG escape."""

from __future__ import annotations

import re
from dataclasses import dataclass

from resnet_inspect.render.escape import html_text
from resnet_inspect.render.typeface import STACK, font_face, text_width

SIZE = 12.0  # px, the cells' text
TITLE_SIZE = 13.0
NOTE_SIZE = 10.5
LINE = 16.0  # px between lines of a cell
PAD_X, PAD_Y = 10.0, 6.0
MARGIN = 12.0
INK, MUTED, RULE, LIGHT_RULE = "#212529", "#495057", "#343a40", "#dee2e6"
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUPERSCRIPTS = re.compile("([⁰¹²³⁴⁵⁶⁷⁸⁹]+)")


@dataclass(frozen=True)
class SvgColumn:
    header: str
    align: str = "left"  # left, middle or right


def _measure(line: str, size: float) -> float:
    """A line's width, superscript digits drawn at 75% (the font has no ⁹)."""
    width = 0.0
    for index, part in enumerate(_SUPERSCRIPTS.split(line)):
        width += text_width(part.translate(_SUPERSCRIPT), size * (0.75 if index % 2 else 1))
    return width


def _text(line: str, x: float, y: float, size: float, anchor: str, colour: str) -> str:
    """One line of text; superscript digits as raised tspans."""
    parts = []
    for index, part in enumerate(_SUPERSCRIPTS.split(line)):
        if not part:
            continue
        if index % 2:
            digits = html_text(part.translate(_SUPERSCRIPT))
            parts.append(
                f'<tspan baseline-shift="super" font-size="{size * 0.75:g}">{digits}</tspan>'
            )
        else:
            parts.append(html_text(part))
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
        f'fill="{colour}">{"".join(parts)}</text>'
    )


def svg_table(
    title: str,
    columns: list[SvgColumn],
    rows: list[list[str]],
    note: str = "",
    row_colours: list[str | None] | None = None,
) -> str:
    """The SVG file's text. A cell's lines are split on newlines; `row_colours` fills a row."""
    colours = row_colours or [None] * len(rows)
    cells = [[column.header.split("\n") for column in columns]]
    cells += [[cell.split("\n") for cell in row] for row in rows]
    widths = [
        max(_measure(line, SIZE) for row in cells for line in row[index]) + 2 * PAD_X
        for index in range(len(columns))
    ]
    heights = [max(len(cell) for cell in row) * LINE + 2 * PAD_Y for row in cells]
    table_width = sum(widths)
    note_lines = _wrap(note, table_width, NOTE_SIZE) if note else []
    title_height = TITLE_SIZE + 12
    top = MARGIN + title_height
    width = max(table_width, _measure(title, TITLE_SIZE)) + 2 * MARGIN
    height = top + sum(heights) + (len(note_lines) * NOTE_SIZE * 1.4 + 10) + MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="{STACK}">',
        font_face(),
        '<rect width="100%" height="100%" fill="white"/>',
        _text(title, MARGIN, MARGIN + TITLE_SIZE, TITLE_SIZE, "start", INK),
    ]
    y = top
    for index, (row, row_height) in enumerate(zip(cells, heights, strict=True)):
        colour = colours[index - 1] if index else None
        if colour:
            out.append(
                f'<rect x="{MARGIN:.1f}" y="{y:.1f}" width="{table_width:.1f}" '
                f'height="{row_height:.1f}" fill="{colour}"/>'
            )
        x = MARGIN
        for column, cell, column_width in zip(columns, row, widths, strict=True):
            anchor = {"left": "start", "middle": "middle", "right": "end"}[column.align]
            at = {
                "left": x + PAD_X,
                "middle": x + column_width / 2,
                "right": x + column_width - PAD_X,
            }
            first = y + PAD_Y + (row_height - 2 * PAD_Y - len(cell) * LINE) / 2 + SIZE
            for number, line in enumerate(cell):
                ink = INK if index == 0 or column is not columns[0] else MUTED
                out.append(_text(line, at[column.align], first + number * LINE, SIZE, anchor, ink))
            x += column_width
        rule = RULE if index == 0 else LIGHT_RULE
        thickness = 1.2 if index == 0 else 0.8
        if index == 0:
            out.append(_rule(MARGIN, y, table_width, RULE, 1.2))
        y += row_height
        if index < len(cells) - 1:
            out.append(_rule(MARGIN, y, table_width, rule, thickness))
    out.append(_rule(MARGIN, y, table_width, RULE, 1.2))
    y += 10
    for line in note_lines:
        y += NOTE_SIZE * 1.4
        out.append(_text(line, MARGIN, y, NOTE_SIZE, "start", MUTED))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _rule(x: float, y: float, width: float, colour: str, thickness: float) -> str:
    return (
        f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{x + width:.1f}" y2="{y:.1f}" '
        f'stroke="{colour}" stroke-width="{thickness:g}"/>'
    )


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Lines of `text` no wider than `width`, broken between words."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and _measure(candidate, size) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


__all__ = ["SvgColumn", "svg_table"]
