"""One exception hierarchy. Each class carries the exit code the CLI uses for it.

Exit codes (documented in the README):
  0  success
  1  internal error (a bug in resnet-inspect; the traceback is saved to a file)
  2  bad input or usage: an invalid spec, an unknown preset, a bad option value, a device
     this machine does not have
  3  analysis or build refused (e.g. a model too large to allocate) or failed
  5  rendering or writing output failed
  130  interrupted (Ctrl-C); what was measured so far is printed first
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in a spec, located like a compiler diagnostic."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {self.path + ': ' if self.path else ''}{self.message}"
        if self.severity == "warning":
            text = f"{where}: warning: {self.path + ': ' if self.path else ''}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        # One line per problem, whatever the file contained.
        return text.replace("\r", "\\r").replace("\n", "\\n")


class ResnetInspectError(Exception):
    """Base of every error resnet-inspect raises on purpose."""

    exit_code = 1

    def lines(self) -> list[str]:
        """The message as the CLI prints it, one line per problem."""
        return [str(self)]


class UsageError(ResnetInspectError):
    """A bad option value or argument."""

    exit_code = 2


class SpecError(ResnetInspectError):
    """A spec that cannot be used; holds every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

    def lines(self) -> list[str]:
        return [p.format() for p in self.problems]

    @classmethod
    def for_file(cls, file: str, message: str, hint: str = "") -> SpecError:
        """A problem with the file as a whole (no line to point at)."""
        return cls([Problem(file, None, None, "", message, hint)])


class BuildError(ResnetInspectError):
    """The spec is valid but the model cannot (or should not) be built."""

    exit_code = 3


class AnalysisError(ResnetInspectError):
    """An analyzer failed on a model."""

    exit_code = 3


class DeviceError(ResnetInspectError):
    """The requested device is not available on this machine (a usage error)."""

    exit_code = 2


class DataError(UsageError):
    """A data source that cannot be used: missing, truncated or corrupt, named in one line."""


class RenderError(ResnetInspectError):
    """A renderer or an output file failed."""

    exit_code = 5


class ResnetInspectWarning(UserWarning):
    """Something the user should know that changes no number; the CLI prints it as one line,
    "note: …", on standard error."""


class TracedInstead(ResnetInspectWarning):
    """The plan's pass could not run a block's forward on its stand-ins (an operation they do
    not model); the report was made by tracing the built model instead."""
