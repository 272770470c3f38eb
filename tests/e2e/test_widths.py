"""Every command that prints a table, at every terminal width from 60 to 200 columns: no line
wider than the terminal, and no number or dotted name cut or split (each that the narrow
output shows is one the full-width output shows whole). Tables drop, split or wrap whole
cells instead."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from resnet_inspect.cli import cli

COMMANDS = [
    ["summary", "resnet50", "--depth", "stage", "--check"],
    ["summary", "seresnet50", "--depth", "block"],
    ["summary", "cifar_resnet20", "--depth", "layer"],
    ["compare", "bottleneck", "plain"],
    ["compare", "resnet50", "seresnet50", "resnet50d", "preact_resnet50", "--by", "stage"],
    ["compare", "plain34", "resnet34", "--by", "module", "--diff"],
    ["table", "resnet18", "resnet34", "resnet50_v1", "resnet101_v1", "resnet152_v1"],
    ["presets"],
]
# a number (with its separators, signs, units glued to it) or a dotted module path
TOKEN = re.compile(r"[+-]?\d[\d,._×/]*\d|\d|\w+(?:\.\w+)+")


def run(args: list[str], columns: int | None) -> str:
    env = {"COLUMNS": str(columns)} if columns else {}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_every_width_fits_and_keeps_numbers_and_names_whole(args):
    whole = set(TOKEN.findall(run(args, None)))
    for columns in range(60, 201, 20):
        text = run(args, columns)
        widest = max(cell_len(line) for line in text.splitlines())
        assert widest <= columns, f"{columns} columns: a line of {widest}"
        shown = "\n".join(line for line in text.splitlines() if "Hidden to fit" not in line)
        split = set(TOKEN.findall(shown)) - whole
        assert not split, f"{columns} columns: {sorted(split)[:5]} are pieces of something"


def test_the_api_table_fits_the_console_it_is_printed_on():
    import io

    from rich.console import Console

    import resnet_inspect as ri

    report = ri.summarize("resnet50", check=True)
    out = io.StringIO()
    Console(file=out, width=70, color_system=None).print(ri.render_table(report))
    lines = out.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= 70
    assert "4,089,184,256" in out.getvalue() and "25,557,032" in out.getvalue()
