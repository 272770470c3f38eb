"""Terminals, pipes and -o: tables that fit, numbers never cut, closed pipes, standard output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import REFERENCE, ROOT, tool
from resnet_inspect.cli import cli

pytestmark = pytest.mark.subprocess  # the command in a child process, as a terminal runs it

WIDTHS = (80, 100, 120, 160)


def piped(*args: str, columns: int | None = None, **env: str) -> subprocess.CompletedProcess:
    """The installed command with its output in a pipe, as `| less` or a CI log sees it."""
    environment = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        environment["COLUMNS"] = str(columns)
    environment.update(env)
    return subprocess.run(
        [tool("resnet-inspect"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
    )


def leaf_params(name: str) -> list[str]:
    """Every weighted module's parameter count, formatted, from the torchvision manifest."""
    sizes: dict[str, int] = {}
    for key, shape in REFERENCE["models"][name]["state_dict"].items():
        module, _, kind = key.rpartition(".")
        if kind in ("weight", "bias"):
            count = 1
            for dim in shape:
                count *= dim
            sizes[module] = sizes.get(module, 0) + count
    return [f"{value:,}" for value in sizes.values()]


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_fits_the_width_and_never_cuts_a_number(width):
    result = piped("summary", "resnet50", "--depth", "layer", "--batch-size", "256", columns=width)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in result.stdout
    # Every layer's parameter count (torchvision's state_dict shapes, multiplied out here) and
    # the totals stand whole in the table.
    for figure in leaf_params("resnet50"):
        assert figure in result.stdout
    for figure in ("25,557,032", "1,046,831,169,536"):  # params; MACs at batch 256
        assert figure in result.stdout
    if width < 135:  # the full table needs about 135 columns: some must be hidden, and said so
        assert "Hidden to fit" in result.stdout and "--columns all" in result.stdout
    else:
        assert "Hidden to fit" not in result.stdout


def test_piped_output_without_columns_is_full_width():
    result = piped("summary", "resnet50")
    assert result.returncode == 0
    assert "Hidden to fit" not in result.stdout
    header = next(line for line in result.stdout.splitlines() if "Layer (module path)" in line)
    for column in ("Type", "Kernel/stride", "RF /stride", "Activations"):
        assert column in header


def test_columns_option_picks_columns():
    result = piped("summary", "resnet18", "--columns", "layer,params", columns=80)
    header = next(line for line in result.stdout.splitlines() if "Layer (module path)" in line)
    assert "Params" in header and "MACs" not in header and "Output shape" not in header
    bad = CliRunner().invoke(cli, ["summary", "resnet18", "--columns", "layer,flops"])
    assert bad.exit_code == 2 and "unknown column 'flops'" in bad.stderr


@pytest.mark.parametrize("width", (80, 120))
def test_comparison_keeps_numbers_whole(width):
    result = piped("compare", "resnet50", "resnet101", "resnet152", columns=width)
    assert result.returncode == 0
    assert "…" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= width
    text = " ".join(result.stdout.split())
    for figure in ("25,557,032", "44,549,160", "60,192,808"):
        assert figure in text


@pytest.mark.parametrize(
    "command",
    [
        ["presets"],
        ["summary", "resnet50", "--format", "json"],
        ["summary", "resnet50", "--format", "csv"],
        ["spec", "resnet50"],
        ["summary", "resnet152", "--depth", "layer"],
    ],
)
def test_a_closed_pipe_ends_quietly(tmp_path, command):
    crash_dir = tmp_path / "tmp"
    crash_dir.mkdir()
    # A reader that takes 10 bytes and goes, as `| head -2` does once it has its lines.
    reader = subprocess.Popen(
        [sys.executable, "-c", "import os; os.read(0, 10)"], stdin=subprocess.PIPE
    )
    writer = subprocess.Popen(
        [tool("resnet-inspect"), *command],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(crash_dir)},
    )
    reader.stdin.close()  # only the reader holds the pipe now
    _, stderr = writer.communicate(timeout=300)
    reader.wait(timeout=60)
    # 141 (128 + SIGPIPE, as for `yes | head`) when a write met the closed pipe; 0 when the
    # kernel took the last write before the reader left.
    assert writer.returncode in (0, 141)
    assert stderr == b""
    assert list(crash_dir.iterdir()) == []  # no crash file


@pytest.mark.parametrize(
    "command",
    [
        ["summary", "cifar_resnet20", "--format", "json", "-o", "-"],
        ["summary", "cifar_resnet20", "-o", "-"],
        ["spec", "cifar_resnet20", "-o", "-"],
        ["report", "cifar_resnet20", "-o", "-"],
        ["diagram", "cifar_resnet20", "-o", "-"],
        ["compare", "basic", "bottleneck", "--format", "csv", "-o", "-"],
    ],
)
def test_dash_is_standard_output(tmp_path, command):
    result = subprocess.run(
        [tool("resnet-inspect"), *command], capture_output=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "-").exists()
    assert result.stdout
    if "json" in command:
        assert json.loads(result.stdout)["model"] == "cifar_resnet20"
    if command[0] == "diagram":
        assert result.stdout.lstrip().startswith((b"<?xml", b"<svg"))
    if command[0] == "report":
        assert result.stdout.startswith(b"<!DOCTYPE html>")


def test_terminal_width_is_the_terminals():
    # Under a real terminal (a pseudo-terminal of 90 columns), the table fits 90 columns.
    import pty

    script = (
        "import fcntl, struct, termios, sys;"
        "fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 90, 0, 0));"
        "from resnet_inspect.cli import main; sys.argv=['resnet-inspect','summary','resnet50'];"
        "main()"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    output = bytearray()
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-c", script], environment)
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode("utf-8", "replace"))
    lines = [line for line in text.replace("\r", "").splitlines() if line.strip()]
    assert lines and max(len(line) for line in lines) <= 90
    assert "25,557,032" in text and "…" not in text
