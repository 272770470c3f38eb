"""Every command and example in the README and docs/spec.md runs as written."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from conftest import ROOT
from resnet_inspect.cli import cli
from resnet_inspect.errors import SpecError
from resnet_inspect.spec import load_spec

README = (ROOT / "README.md").read_text()
SPEC_DOC = (ROOT / "docs" / "spec.md").read_text()


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def readme_commands() -> list[str]:
    commands = []
    for block in blocks(README, "sh"):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("resnet-inspect "):
                commands.append(line)
    return commands


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch directory that sees the repository's examples/ and tests/ (outputs land here)."""
    for name in ("examples", "tests"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_lists_the_commands_users_type_first():
    commands = readme_commands()
    assert "resnet-inspect summary examples/r50.yaml" in commands
    assert len(commands) >= 8


@pytest.mark.parametrize("command", [c for c in readme_commands() if "--import" not in c])
def test_readme_command_runs(workdir, command):
    # (the one with --import needs the block file the README shows: the next test writes it)
    result = CliRunner().invoke(cli, shlex.split(command)[1:], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_readme_quick_start_is_two_commands():
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    (block,) = blocks(section, "sh")
    lines = block.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("resnet-inspect summary examples/r50.yaml")
    assert lines[1].endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest" in ci and '-e ".[test]"' in ci and "venv" in ci


def test_readme_console_example_is_the_real_output(workdir):
    (block,) = blocks(README, "console")
    command, *expected = block.strip().splitlines()
    result = CliRunner().invoke(cli, shlex.split(command.removeprefix("$ "))[1:])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == expected


def test_readme_python_example_runs(workdir, capsys):
    code = blocks(README.split("## Python API", 1)[1], "python")[0]
    exec(compile(code, "README.md", "exec"), {})
    # The example asks for batch 8: eight times torchvision's 4,089,184,256 multiply-adds.
    assert capsys.readouterr().out.split() == ["25557032", str(8 * 4_089_184_256)]


def test_readme_block_of_your_own_runs_as_written(workdir, monkeypatch):
    import sys

    import torch

    import resnet_inspect as ri

    section = README.split("## Your own blocks and layer kinds", 1)[1].split("\n## ", 1)[0]
    (code,) = blocks(section, "python")
    (workdir / "my_blocks.py").write_text(code)
    (workdir / "gated.yaml").write_text(
        "extends: cifar_resnet20\nname: gated_net\nblock: my_blocks:GatedBlock\n"
    )
    command = next(c for c in readme_commands() if "--import my_blocks" in c)
    monkeypatch.syspath_prepend(str(workdir))
    try:
        result = CliRunner().invoke(cli, shlex.split(command)[1:])
        assert result.exit_code == 0, result.output
        assert "✓ equal" in result.stdout and "MISMATCH" not in result.stdout
        model = ri.build_model("gated.yaml")
        report = ri.summarize("gated.yaml")
        assert report.totals.params == sum(p.numel() for p in model.parameters())
        assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    finally:
        sys.modules.pop("my_blocks", None)


def spec_examples() -> list[tuple[str, str | None]]:
    found = []
    for match in re.finditer(
        r"(<!-- invalid: (.*?) -->\n)?```yaml\n(.*?)```", SPEC_DOC, flags=re.S
    ):
        found.append((match.group(3), match.group(2)))
    return found


def test_spec_doc_has_examples_for_every_key():
    text = "\n".join(code for code, _ in spec_examples())
    for key in (
        "input:",
        "stem:",
        "block:",
        "stride_on:",
        "shortcut:",
        "groups:",
        "bias:",
        "stages:",
        "head:",
        "extends:",
        "name:",
        "conv_block",
        "identity_block",
        "se:",
        "norm:",
    ):
        assert key in text, key


@pytest.mark.parametrize(("code", "invalid"), spec_examples())
def test_spec_doc_example(tmp_path, code, invalid):
    path = tmp_path / "example.yaml"
    path.write_text(code)
    if invalid is None:
        load_spec(str(path))
    else:
        with pytest.raises(SpecError, match=re.escape(invalid)):
            load_spec(str(path))


def test_readme_preset_table_matches_the_presets():
    section = README.split("## Presets", 1)[1].split("##", 1)[0]
    checked = 0
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"[\d,]+( / [\d,]+)*", cells[2]):
            continue
        names = [name.strip() for name in cells[0].split(",")]
        values = [int(v.replace(",", "")) for v in cells[2].split(" / ")]
        if len(values) == 1:
            values *= len(names)
        for name, value in zip(names, values, strict=True):
            assert load_params(name) == value, name
            checked += 1
    assert checked >= 12


def load_params(name: str) -> int:
    from resnet_inspect import summarize

    return summarize(name).totals.params


def test_the_readme_names_every_key_of_a_layer_row():
    from dataclasses import fields

    from resnet_inspect.report import LayerRow

    section = README.split("| `layers[]` |", 1)[1].split("\n", 1)[0]
    missing = [f.name for f in fields(LayerRow) if f"`{f.name}`" not in section]
    assert not missing, missing


def test_the_readme_says_which_formats_the_bundled_renderer_draws():
    from resnet_inspect.render.diagram import FORMATS, PURE_FORMATS

    drawn = ", ".join(f for f in FORMATS if f in PURE_FORMATS)
    assert f"resnet-inspect installs ({drawn}; not pdf)" in README
