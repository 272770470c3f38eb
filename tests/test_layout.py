"""The layout rules of the README's architecture section, and the style checks."""

from __future__ import annotations

import ast
import subprocess

import pytest

from conftest import ROOT, tool

PACKAGE = ROOT / "resnet_inspect"


def imports_of(path, module_level_only: bool = False) -> set[str]:
    found = set()
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module == "resnet_inspect":
            # `from resnet_inspect import pipeline` imports a submodule; any other name comes
            # from the package root itself.
            for alias in node.names:
                submodule = PACKAGE / alias.name
                is_module = submodule.is_dir() or submodule.with_suffix(".py").exists()
                found.add(f"resnet_inspect.{alias.name}" if is_module else "resnet_inspect")
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def modules_under(part: str):
    target = PACKAGE / part
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


@pytest.mark.parametrize(
    "part",
    ["spec", "blocks", "report.py", "render", "errors.py", "files.py", "inputs.py", "schema.py"],
)
def test_no_torch_outside_build_analyzers_pipeline(part):
    for path in modules_under(part):
        assert not any(name.split(".")[0] == "torch" for name in imports_of(path)), path


@pytest.mark.parametrize(
    "module",
    [
        "analyzers/__init__.py",
        "analyzers/records.py",
        "analyzers/plan_pass.py",
        "analyzers/layers.py",
        "analyzers/flops.py",
        "analyzers/memory.py",
        "analyzers/receptive_field.py",
        "analyzers/graph.py",
        "analyzers/analytic.py",
        "analyzers/latency.py",
        "pipeline.py",
        "comparison.py",
    ],
)
def test_a_specs_analysis_imports_no_torch_at_load(module):
    # torch only inside the functions that build or run a model (trace.py, build/ are the rest)
    at_load = imports_of(PACKAGE / module, module_level_only=True)
    assert not any(name.split(".")[0] == "torch" for name in at_load), module
    assert "resnet_inspect.analyzers.trace" not in at_load and not any(
        name.startswith("resnet_inspect.build") for name in at_load
    ), module


def test_render_imports_only_report_and_errors():
    for path in modules_under("render"):
        ours = {n for n in imports_of(path) if n.startswith("resnet_inspect")}
        allowed = {"resnet_inspect.report", "resnet_inspect.errors"}
        assert ours <= allowed | {n for n in ours if n.startswith("resnet_inspect.render")}, path


def test_imports_go_one_way():
    rank = {
        "version": 0,
        "errors": 0,
        "blocks": 1,
        "spec": 1,
        "report": 1,
        "files": 1,
        "inputs": 2,
        "schema": 2,
        "render": 2,
        "build": 2,
        "analyzers": 3,
        "pipeline": 4,
        "comparison": 5,
        "cli": 6,
    }
    # The one documented exception: the Report's notebook display methods call render/ from
    # inside the method (never at load time), as the README's architecture section says.
    lazy_allowed = {("report", "render")}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).parts
        here = relative[0].removesuffix(".py")
        if here in ("__init__", "__main__"):
            continue
        # Only the package root (and __main__) may import the package root: anything else
        # importing `resnet_inspect` itself is a cycle through __init__.
        assert "resnet_inspect" not in imports_of(path), f"{path} imports the package root"
        at_load = imports_of(path, module_level_only=True)
        for name in imports_of(path):
            parts = name.split(".")
            if parts[0] != "resnet_inspect" or len(parts) < 2 or parts[1] == here:
                continue
            if name not in at_load and (here, parts[1]) in lazy_allowed:
                continue
            assert rank[parts[1]] <= rank[here], f"{path} imports {name}"


def test_the_package_root_imports_no_torch_rich_or_graphviz_at_load():
    import subprocess
    import sys

    code = (
        "import sys, resnet_inspect; "
        "print(sorted(m for m in ('torch', 'rich', 'graphviz') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_only_the_cli_prints_or_exits():
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] == "cli":
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


def test_one_home_for_formats_and_dtypes():
    from resnet_inspect import cli
    from resnet_inspect.render import RENDERERS
    from resnet_inspect.report import DTYPES

    assert cli.FORMATS == tuple(RENDERERS)
    assert cli.DTYPES is DTYPES
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        if path.name != "report.py":
            assert '"float32", "bfloat16", "float16"' not in text, path


def test_the_command_line_is_thin():
    # Option declarations, calls into the API, printing: no module of it over 400 lines.
    for path in (PACKAGE / "cli").glob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path
