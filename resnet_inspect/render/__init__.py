"""Report -> text. Imports only the report (and errors): no torch, no printing."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console, RenderableType

from resnet_inspect.render.data import render_csv, render_json, render_markdown
from resnet_inspect.render.table import render_table
from resnet_inspect.report import Report

# The width for output that no terminal limits (files, pipes without COLUMNS). Tables do not
# expand, so each keeps its natural width; nothing is wrapped or cut short of this.
FULL_WIDTH = 1000


def render_text(renderable: RenderableType, width: int | None = None) -> str:
    """Any rich renderable as plain text, at `width` or at full width (for -o FILE)."""
    console = Console(file=io.StringIO(), width=width or FULL_WIDTH, color_system=None, record=True)
    console.print(renderable, crop=False)  # a line too wide is left whole, never cut
    return console.export_text()


def render_table_text(report: Report, depth: str = "block", convention: str = "paper") -> str:
    """The summary table as plain text, every column at full width (for -o FILE)."""
    return render_text(render_table(report, depth, convention))


RENDERERS: dict[str, Callable[[Report, str, str], str]] = {
    "table": render_table_text,
    "json": render_json,
    "csv": render_csv,
    "markdown": render_markdown,
}

__all__ = [
    "FULL_WIDTH",
    "RENDERERS",
    "render_csv",
    "render_json",
    "render_markdown",
    "render_table",
    "render_text",
]
