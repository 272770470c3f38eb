"""The font every SVG we write draws with, in one place: a subset of Liberation Sans
(metric-compatible with Helvetica, the metrics Graphviz measures labels with; SIL Open Font
License, renamed as it asks: fonts/LICENSE), embedded as a WOFF so that the text a browser
draws is the text that was measured, and nothing is fetched when a file is opened. Its advance
widths (fonts/sans_metrics.json, made by docs/make_font.py) measure the SVG tables' text."""

from __future__ import annotations

import base64
import functools
import json
from importlib import resources

FAMILY = "resnet-inspect sans"
STACK = f"'{FAMILY}',Helvetica,Arial,'Liberation Sans',Arimo,sans-serif"


@functools.cache
def font_face() -> str:
    """An SVG <defs> with the font as a data: URL (no request is ever made for it)."""
    data = resources.files("resnet_inspect.render").joinpath("fonts/sans.woff").read_bytes()
    return (
        f'<defs><style>@font-face{{font-family:"{FAMILY}";src:url('
        f'data:font/woff;base64,{base64.b64encode(data).decode("ascii")}) format("woff")}}'
        "</style></defs>"
    )


@functools.cache
def _metrics() -> tuple[int, dict[str, int], float]:
    text = resources.files("resnet_inspect.render").joinpath("fonts/sans_metrics.json")
    metrics = json.loads(text.read_text(encoding="utf-8"))
    advances: dict[str, int] = metrics["advances"]
    average = sum(advances.values()) / len(advances)
    return int(metrics["units_per_em"]), advances, average


def text_width(text: str, size: float) -> float:
    """The width of `text` in the font at `size` px (a character the subset lacks counts as
    the average one: a browser draws it in a fallback font)."""
    units, advances, average = _metrics()
    return sum(advances.get(char, average) for char in text) * size / units


__all__ = ["FAMILY", "STACK", "font_face", "text_width"]
