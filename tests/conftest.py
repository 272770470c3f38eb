from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Measured on torchvision 0.29.1 / torch 2.14.1 (a copy of the project's shared reference file).
REFERENCE = json.loads((Path(__file__).parent / "reference" / "torchvision.json").read_text())
TORCHVISION_PRESETS = sorted(REFERENCE["models"])


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write YAML text to a file in a temp dir and return its path as a string."""

    def write(text: str, name: str = "spec.yaml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def tool(name: str) -> str:
    """A command installed with the test dependencies: beside this Python (the virtual
    environment's bin, whether or not it is on PATH), else on PATH; else the test is skipped."""
    beside = Path(sys.executable).parent / name
    if beside.exists() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed beside {sys.executable} or on PATH")
    return found


def batch_norm(state: dict, tensor, prefix: str):
    """Inference batch norm from a state_dict's `prefix.*` entries (for the tests' independent
    re-statements of the models' forwards)."""
    import torch.nn.functional as F

    return F.batch_norm(
        tensor,
        state[f"{prefix}.running_mean"],
        state[f"{prefix}.running_var"],
        state[f"{prefix}.weight"],
        state[f"{prefix}.bias"],
        False,
        0.0,
        1e-5,
    )


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="write the golden files of the tests that have them (tests/render/golden/)",
    )


@pytest.fixture(autouse=True)
def _no_terminal_size_from_outside(monkeypatch):
    """Tables fit COLUMNS when it is set; tests set it themselves where they mean a width, so
    the shell's (or a test runner's) does not leak in."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
