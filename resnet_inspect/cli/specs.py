"""`validate`, `presets` and `spec`: specs without building anything."""

from __future__ import annotations

import sys

import click

from resnet_inspect.cli.common import (
    IMPORT_OPTION,
    MAX_ERROR_LINES,
    OUTPUT_OPTION,
    emit,
    print_fitted,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.render.escape import terminal_text


@cli.command()
@IMPORT_OPTION
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--rules",
    is_flag=True,
    help="Also check the plain baseline's design rules on the 3x3 convolutions "
    "(same output size: same filters; size halved: filters doubled). Warnings "
    "only: they do not change the exit code.",
)
def validate(targets: tuple[str, ...], rules: bool) -> None:
    """Check spec files without building anything; report every problem, one line each.

    Problems print as FILE:LINE:COL: key.path: message (hint). Exit code 2 if any.
    """
    from resnet_inspect.errors import SpecError
    from resnet_inspect.spec import load_with_warnings

    lines: list[str] = []
    failed = False
    for target in targets:
        try:
            spec, plan, warnings = load_with_warnings(target, rules=rules)
        except SpecError as err:
            lines += err.lines()
            failed = True
            continue
        lines += [warning.format() for warning in warnings]
        params = sum(layer.params for layer in plan.layers)
        blocks = f"{len(plan.blocks)} block" + ("" if len(plan.blocks) == 1 else "s")
        click.echo(
            terminal_text(f"{target}: ok ({spec.name}: {spec.block}, {blocks}, {params:,} params)")
        )
    for line in lines[:MAX_ERROR_LINES]:
        click.echo(terminal_text(line), err=True)
    if len(lines) > MAX_ERROR_LINES:
        click.echo(f"... and {len(lines) - MAX_ERROR_LINES:,} more problems", err=True)
    if failed:
        sys.exit(2)


@cli.command()
def presets() -> None:
    """List the presets that any command accepts in place of a spec file."""
    from resnet_inspect.render.table import render_presets
    from resnet_inspect.spec import load_spec, preset_names

    rows = [(name, load_spec(name).description) for name in preset_names()]
    print_fitted(lambda width: render_presets(rows, width))


@cli.command("spec")
@IMPORT_OPTION
@click.argument("name")
@click.option("--as-written", is_flag=True, help="The preset file itself, with its extends: line.")
@OUTPUT_OPTION
def spec_command(name: str, as_written: bool, output: str | None) -> None:
    """Print a preset (or a spec file) as complete YAML, to start a new spec from."""
    from resnet_inspect.spec import load_spec, preset_path
    from resnet_inspect.spec.dump import dump_spec

    path = preset_path(name)
    if as_written and path is not None:
        text = path.read_text(encoding="utf-8")
    else:
        text = dump_spec(load_spec(name))
    emit(text, output)
