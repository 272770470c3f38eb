"""Report -> text. Imports only the report (and errors): no torch, no printing."""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console, RenderableType

from resnet_inspect.render.data import render_csv, render_json, render_markdown
from resnet_inspect.render.table import render_table
from resnet_inspect.report import Report


def natural_width(renderable: RenderableType, least: int = 80) -> int:
    """The width at which every cell of `renderable` shows whole (at least `least`)."""
    console = Console(width=100_000, color_system=None)
    return max(least, console.measure(renderable).maximum)


def render_text(renderable: RenderableType, width: int | None = None) -> str:
    """Any rich renderable as plain text, at `width` or its natural width (for -o FILE)."""
    width = width or natural_width(renderable)
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True)
    console.print(renderable)
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
    "RENDERERS",
    "natural_width",
    "render_csv",
    "render_json",
    "render_markdown",
    "render_table",
    "render_text",
]
