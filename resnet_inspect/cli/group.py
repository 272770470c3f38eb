"""The click group: every error caught once, printed one line per problem, with its exit code."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import click

from resnet_inspect.cli.common import EXIT_BROKEN_PIPE, MAX_ERROR_LINES, quiet_broken_pipe
from resnet_inspect.errors import ResnetInspectError, ResnetInspectWarning
from resnet_inspect.render.escape import terminal_text
from resnet_inspect.version import __version__


class _Group(click.Group):
    """Catches our errors once: one line per problem on stderr, the error's exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", ResnetInspectWarning)
            warnings.showwarning = _show_note(warnings.showwarning)
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ResnetInspectError as err:
            lines = err.lines()
            for line in lines[:MAX_ERROR_LINES]:
                click.echo(terminal_text(line), err=True)
            if len(lines) > MAX_ERROR_LINES:
                click.echo(f"... and {len(lines) - MAX_ERROR_LINES:,} more problems", err=True)
            ctx.exit(err.exit_code)
        except BrokenPipeError:
            quiet_broken_pipe()
            ctx.exit(EXIT_BROKEN_PIPE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except Exception:  # a bug: keep the traceback, show one line
            handle, path = tempfile.mkstemp(prefix="resnet-inspect-crash-", suffix=".txt")
            with os.fdopen(handle, "w") as out:
                out.write(f"resnet-inspect {__version__}\nargv: {sys.argv}\n\n")
                out.write(traceback.format_exc())
            kind = sys.exc_info()[0].__name__  # type: ignore[union-attr]
            message = terminal_text(str(sys.exc_info()[1]).splitlines()[0][:200] or kind)
            click.echo(
                f"internal error ({kind}: {message}); this is a bug in resnet-inspect. "
                f"Full traceback saved to {path}",
                err=True,
            )
            ctx.exit(1)


def _show_note(show: Callable[..., None]) -> Callable[..., None]:
    """Our warnings as one line each, "note: …", on standard error; others as Python shows
    them."""

    def note(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, ResnetInspectWarning):
            click.echo(f"note: {terminal_text(message)}", err=True)
        else:
            show(message, category, *args, **kwargs)

    return note


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resnet-inspect")
def cli() -> None:
    """Inspect residual networks described in YAML: shapes, params, MACs, memory.

    TARGET is a spec file (YAML) or a preset name such as resnet50; `resnet-inspect presets`
    lists the presets and `resnet-inspect spec NAME` prints one to start a file from.

    \b
    Exit codes: 0 ok, 1 internal error (traceback saved to a file), 2 bad input or usage
    (including a device this machine lacks), 3 model refused or analysis failed, 5 output
    could not be written, 130 interrupted.
    """


def main() -> None:
    try:
        cli(prog_name="resnet-inspect")
    except BrokenPipeError:  # the reader went away while click itself was writing
        quiet_broken_pipe()
        sys.exit(EXIT_BROKEN_PIPE)
