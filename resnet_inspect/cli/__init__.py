"""The command line. The only place that prints, picks exit codes or exits.

torch is imported lazily inside the commands that need it, so `--help`, `validate`, `presets`
and `spec` start fast.
"""

from resnet_inspect.cli import (  # noqa: F401 - commands
    compare,
    draw,
    latency,
    propagation,
    specs,
    summary,
    train,
)
from resnet_inspect.cli.common import DTYPES, FORMATS
from resnet_inspect.cli.group import cli, main

__all__ = ["DTYPES", "FORMATS", "cli", "main"]
