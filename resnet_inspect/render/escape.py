"""One escape function per output context, for every string that came from a user.

Names, descriptions, file names and the module paths and class names of a user's model can hold
anything: markup, quotes, backslashes, control characters. Each output gets them only through
the function of its context:

- `terminal_text` — the terminal and any plain text: control characters (ESC, BEL, NUL,
  backspace, C1, bidirectional overrides) are shown as visible escapes; the renderers wrap the
  result in `rich.text.Text`, so rich markup such as `[/bold]` is printed, never parsed.
- `markdown_text` — user text in Markdown table cells and headings: HTML is escaped
  (`<img onerror=…>` shows as text on every Markdown host), and only what would change the
  rendering is backslash-escaped (emphasis, code, links, a cell's `|`, autolinks); our own
  labels and numbers are written as they are (`1.81×10⁹`, `conv2_x`, `(18-layer)`).
- `dot_text` — Graphviz labels: backslashes and quotes are literal, a label is never taken
  as an HTML-like `<…>` label, control characters are shown as escapes.
- `spreadsheet_text` — CSV text cells: no controls, no formulas (`=HYPERLINK(…)`).
- `html_text` — HTML text and attribute values.

SafeTable (render/safe_table.py) is the rich Table every renderer uses: whatever is added to it
as a plain string passes through `terminal_text` and becomes a `Text`.
"""

from __future__ import annotations

import html
import re

import graphviz
from rich.text import Text

# C0 controls (newline and tab included: a name is one line), DEL, C1 controls, and the
# bidirectional controls that reorder what a terminal shows ("trojan source").
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: object) -> str:
    """`text` with every control character replaced by a visible escape (\\x1b, \\u202e)."""
    return CONTROL.sub(_visible, str(text))


def plain(text: object, style: str = "") -> Text:
    """User text for a rich renderable: controls escaped, markup not parsed."""
    return Text(terminal_text(text), style=style)


# What makes Markdown (GitHub's, CommonMark) render text as something else: a backslash,
# code, emphasis, links and images, a table cell's end, strikethrough. An underscore inside a
# word never opens emphasis ("conv2_x"), at a word's edge it can ("_x_").
_MARKDOWN_ACTIVE = re.compile(r"([\\`*\[\]|~])")
_EDGE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_AUTOLINK = re.compile(r"(?<=:)//|(?<=www)\.", re.IGNORECASE)  # autolinks, broken by "\"


def markdown_text(text: object) -> str:
    """User text for a Markdown table cell or heading: no raw HTML, nothing that renders as
    Markdown syntax or a link; everything else as written."""
    escaped = html.escape(terminal_text(text), quote=False)
    escaped = _MARKDOWN_ACTIVE.sub(r"\\\1", escaped)
    escaped = _EDGE_UNDERSCORE.sub(r"\\_", escaped)
    return _AUTOLINK.sub(lambda match: "".join("\\" + char for char in match.group()), escaped)


def dot_text(text: object) -> str:
    """A Graphviz label or attribute value that is only ever text.

    Controls become visible escapes (our own line breaks are added by the caller with
    `dot_lines`), backslashes are doubled so `\\l` or `\\N` stay literal, quotes are escaped by
    the graphviz package's quoting, and the value is marked as not HTML."""
    return graphviz.escape(terminal_text(text))


def dot_lines(*lines: object) -> str:
    """A multi-line Graphviz label from user or our own text, each line escaped."""
    return graphviz.nohtml("\n".join(dot_text(line) for line in lines))


def spreadsheet_text(text: object) -> str:
    """A CSV text cell that a spreadsheet shows as text: no controls, and a leading = + - @
    (a formula) is quoted with an apostrophe, as OWASP advises against CSV injection."""
    clean = terminal_text(text)
    return "'" + clean if clean[:1] in ("=", "+", "-", "@") else clean


def html_text(text: object) -> str:
    """Text or an attribute value for HTML and SVG."""
    return html.escape(terminal_text(text), quote=True)
