"""The layout rules of the README's architecture section, and the style checks."""

from __future__ import annotations

import ast
import subprocess

import pytest

from conftest import ROOT, tool

PACKAGE = ROOT / "resnet_inspect"


def imports_of(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules_under(part: str):
    target = PACKAGE / part
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


@pytest.mark.parametrize(
    "part", ["spec", "report.py", "render", "errors.py", "files.py", "inputs.py"]
)
def test_no_torch_outside_build_analyzers_pipeline(part):
    for path in modules_under(part):
        assert not any(name.split(".")[0] == "torch" for name in imports_of(path)), path


def test_render_imports_only_report_and_errors():
    for path in modules_under("render"):
        ours = {n for n in imports_of(path) if n.startswith("resnet_inspect")}
        allowed = {"resnet_inspect.report", "resnet_inspect.errors"}
        assert ours <= allowed | {n for n in ours if n.startswith("resnet_inspect.render")}, path


def test_imports_go_one_way():
    rank = {
        "errors": 0,
        "spec": 1,
        "report": 1,
        "files": 1,
        "inputs": 2,
        "render": 2,
        "build": 2,
        "analyzers": 3,
        "pipeline": 4,
        "cli": 5,
    }
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        here = relative[0].removesuffix(".py")
        if here in ("__init__", "__main__"):
            continue
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] != "resnet_inspect" or len(parts) < 2 or parts[1] == here:
                continue
            assert rank[parts[1]] <= rank[here], f"{path} imports {name}"


def test_only_the_cli_prints_or_exits():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "cli.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("print", "exit"), path
            if isinstance(node, ast.Attribute) and node.attr == "exit":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "sys"), path


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    ruff = tool("ruff")
    result = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy():
    mypy = tool("mypy")
    result = subprocess.run(
        [mypy, "resnet_inspect", "--ignore-missing-imports", "--warn-unused-ignores"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
