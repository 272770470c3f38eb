"""The layout rules of the README's architecture section, and the style checks."""

from __future__ import annotations

import ast
import subprocess

import pytest

from conftest import ROOT, tool

PACKAGE = ROOT / "resnet_inspect"


def _runtime_nodes(tree: ast.AST):
    """Every node, less the bodies of `if TYPE_CHECKING:` (imports for annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", "") == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports_of(path, module_level_only: bool = False) -> set[str]:
    """What a module imports when it runs (type-only imports are left out)."""
    found = set()
    tree = ast.parse(path.read_text())
    nodes = (
        [n for n in tree.body if not isinstance(n, ast.If)]
        if module_level_only
        else _runtime_nodes(tree)
    )
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
    [
        "spec",
        "report.py",
        "render",
        "errors.py",
        "files.py",
        "inputs.py",
        "report_schema.py",
        "options.py",
    ],
)
def test_no_torch_outside_plan_model_analyzers_experiments(part):
    for path in modules_under(part):
        assert not any(name.split(".")[0] == "torch" for name in imports_of(path)), path


@pytest.mark.parametrize(
    "module",
    [
        *(str(p.relative_to(PACKAGE)) for p in modules_under("plan")),
        "analyzers/__init__.py",
        "analyzers/records.py",
        "analyzers/plan_pass.py",
        "analyzers/rows.py",
        "analyzers/flops.py",
        "analyzers/memory.py",
        "analyzers/receptive_field.py",
        "analyzers/graph.py",
        "analyzers/analytic.py",
        "experiments/timing.py",
        "pipeline.py",
        "comparison.py",
    ],
)
def test_a_specs_analysis_imports_no_torch_at_load(module):
    # torch only inside the functions that build or run a model (plan/'s module factories,
    # model/, analyzers/trace/ and experiments/ are the rest)
    at_load = imports_of(PACKAGE / module, module_level_only=True)
    assert not any(name.split(".")[0] == "torch" for name in at_load), module
    assert not any(
        name.startswith(("resnet_inspect.analyzers.trace", "resnet_inspect.model"))
        for name in at_load
    ), module


def test_the_analyzers_never_import_the_builder():
    for path in modules_under("analyzers"):
        assert not any(name.startswith("resnet_inspect.model") for name in imports_of(path)), path


def test_no_private_name_is_imported_across_modules():
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "resnet_inspect"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert private in ([], ["__version__"]), f"{path} imports {private}"


def test_one_name_per_module_across_the_package():
    names = [p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    assert sorted(names) == sorted(set(names)), sorted({n for n in names if names.count(n) > 1})
    assert not (PACKAGE / "build").exists() and not (PACKAGE / "dist").exists()


# torch's private names, each allowed in the one module that documents and tests them
_TORCH_PRIVATE = (
    "._cdata",
    "_should_skip_dynamo",
    "torch._C",
    "torch.utils._",
    "._forward_hooks",
    "._forward_pre_hooks",
    "_global_forward",
    "._parameters",
    "._modules",
    "._BatchNorm",
    "._ConvNd",
)


def test_torch_private_names_live_in_one_module():
    allowed = PACKAGE / "analyzers" / "trace" / "torch_internals.py"
    for path in PACKAGE.rglob("*.py"):
        if path == allowed:
            continue
        text = path.read_text()
        found = [name for name in _TORCH_PRIVATE if name in text]
        assert not found, f"{path} uses {found}"


def test_render_imports_only_report_and_errors():
    for path in modules_under("render"):
        ours = {n for n in imports_of(path) if n.startswith("resnet_inspect")}
        allowed = {"resnet_inspect.report", "resnet_inspect.errors"}
        assert ours <= allowed | {n for n in ours if n.startswith("resnet_inspect.render")}, path


def test_imports_go_one_way():
    rank = {
        "version": 0,
        "errors": 0,
        "options": 1,
        "plan": 1,
        "report": 1,
        "files": 1,
        "spec": 2,
        "inputs": 2,
        "report_schema": 2,
        "render": 2,
        "model": 3,
        "analyzers": 3,
        "experiments": 4,
        "pipeline": 5,
        "comparison": 6,
        "cli": 7,
    }
    # The documented exceptions: the Report's notebook display methods call render/ (and,
    # for a drawing of a report made without its graph, pipeline/) from inside the method,
    # never at load time, as the README's architecture section says.
    lazy_allowed = {("report", "render"), ("report", "pipeline")}
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


@pytest.mark.subprocess
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


@pytest.mark.subprocess
@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff(args):
    ruff = tool("ruff")
    result = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.subprocess
@pytest.mark.slow
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


def test_no_test_asserts_on_wall_clock_time():
    """The suite runs on shared, loaded machines: work is bounded by counts and bytes, and
    speed lives in benchmarks/. A test that compares a duration (an assert on a clock read,
    an elapsed time or seconds) fails here."""
    import re

    clock = re.compile(
        r"\b(time\.(time|perf_counter|monotonic|process_time)\(|perf_counter\(|elapsed|duration"
        r"|seconds\s*[<>])"
    )
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and clock.search(ast.unparse(node)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert found == []
    # (the check itself sees one)
    sample = ast.parse("assert time.perf_counter() - start < 5").body[0]
    assert isinstance(sample, ast.Assert) and clock.search(ast.unparse(sample))
