"""The command line: exit codes, messages on stderr, no tracebacks, atomic output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import REFERENCE, ROOT, tool
from resnet_inspect.cli import cli


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def test_summary_json_fields_and_numbers():
    result = run("summary", "resnet50", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    reference = REFERENCE["models"]["resnet50"]
    assert data["totals"]["params"] == reference["params"] == 25_557_032
    assert data["totals"]["trainable_params"] == reference["params"]
    assert data["totals"]["macs"] == reference["conv_linear_macs"] == 4_089_184_256
    assert data["totals"]["flops"] == 2 * 4_089_184_256
    first = data["layers"][0]
    assert first == {
        **first,
        "name": "conv1",
        "type": "Conv2d",
        "output_shape": [1, 64, 112, 112],
        "params": 9408,
        "macs": 118_013_952,
    }  # 7*7*3*64 weights at 112*112 positions


def test_summary_table_has_subtotals_and_totals():
    result = run("summary", str(ROOT / "examples" / "r50.yaml"))
    assert result.exit_code == 0
    for text in (
        "layer1.0",
        "layer1 subtotal (3 blocks)",
        "25,557,032",
        "4,089,184,256",
        "8,178,368,512",
        "Bottleneck",
    ):
        assert text in result.stdout


def test_summary_options_input_batch_depth():
    result = run(
        "summary",
        "resnet18",
        "--input",
        "3x160x160",
        "--batch-size",
        "4",
        "--depth",
        "layer",
        "--format",
        "csv",
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("name,type,depth")
    assert any(line.startswith("layer4.1.conv2,Conv2d") and ",4x512x5x5," in line for line in lines)
    result = run("summary", "resnet18", "--input", "96x96", "--format", "json")
    assert json.loads(result.stdout)["input_shape"] == [3, 96, 96]


@pytest.mark.parametrize("value", ["1x3x224x224x1", "abc", "0x224x224", "224x224x3"])
def test_bad_input_option_is_exit_2_one_line(value):
    result = run("summary", "resnet18", "--input", value)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "input" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_preset_suggests_one():
    result = run("summary", "resnet05")
    assert result.exit_code == 2
    assert (
        result.stderr == "resnet05: no such file or preset: 'resnet05' (did you mean 'resnet50'?)\n"
    )


def test_validate_reports_every_problem_and_exit_2(write_spec):
    good = str(ROOT / "examples" / "r50.yaml")
    bad = write_spec("input: [3, 224, 224]\nblock: basik\nstem: []\nstages: []\n")
    result = run("validate", good, bad)
    assert result.exit_code == 2
    assert result.stdout == f"{good}: ok (resnet50: bottleneck, 16 blocks, 25,557,032 params)\n"
    assert result.stderr.splitlines() == [
        f"{bad}:2:8: block: unknown block type 'basik' (did you mean 'basic'?)",
        f"{bad}:4:9: stages: stages must be a non-empty list, got a list of 0 "
        "(e.g. - {filters: [64, 64, 256], blocks: 3, stride: 1})",
    ]


def test_output_is_written_atomically(tmp_path):
    target = tmp_path / "r18.json"
    result = run("summary", "resnet18", "--format", "json", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())["totals"]["params"] == 11_689_512
    assert [p.name for p in tmp_path.iterdir()] == ["r18.json"]  # no temp files left behind


def test_full_disk_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    import errno

    existing = tmp_path / "out.json"
    existing.write_text("old")

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)  # the disk fills up while the file is written
    result = run("summary", "resnet18", "--format", "json", "-o", str(existing))
    assert result.exit_code == 5
    assert result.stderr == f"{existing}: cannot write: No space left on device\n"
    assert existing.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_output_into_a_missing_directory_is_exit_5(tmp_path):
    result = run("summary", "resnet18", "--format", "json", "-o", str(tmp_path / "no" / "x.json"))
    assert result.exit_code == 5
    assert (
        result.stderr.startswith(str(tmp_path / "no" / "x.json"))
        and "cannot write" in result.stderr
    )


def test_presets_and_spec_commands(tmp_path):
    result = run("presets")
    assert result.exit_code == 0
    assert any(line.startswith("resnet50 ") for line in result.stdout.splitlines())
    assert len(result.stdout.splitlines()) >= 24
    target = tmp_path / "mine.yaml"
    assert run("spec", "resnext50_32x4d", "-o", str(target)).exit_code == 0
    result = run("validate", str(target))
    assert result.exit_code == 0 and "25,028,904 params" in result.stdout
    written = run("spec", "resnet34", "--as-written")
    assert "extends: resnet18" in written.stdout


def test_internal_error_is_one_line_and_saves_the_traceback(monkeypatch):
    import resnet_inspect.pipeline as pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "summarize", broken)
    result = run("summary", "resnet18")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = result.stderr.strip()
    assert line.startswith("internal error (RuntimeError: boom)")
    path = line.rsplit(" ", 1)[1]
    assert "RuntimeError: boom" in open(path).read()
    os.unlink(path)


def _modules_after(args: list[str]) -> str:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from resnet_inspect.cli import cli\n"
        f"r = CliRunner().invoke(cli, {args!r})\n"
        "assert r.exit_code == 0, r.output\n"
        "print('torch' in sys.modules)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", "examples/r50.yaml"],
        ["presets"],
        ["spec", "resnet50"],
        ["summary", "--help"],
    ],
)
def test_fast_commands_do_not_import_torch(args):
    assert _modules_after(args) == "False"


@pytest.mark.subprocess
def test_console_script_runs():
    result = subprocess.run(
        [tool("resnet-inspect"), "summary", "examples/r50.yaml", "--depth", "stage"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "25,557,032" in result.stdout


@pytest.mark.subprocess
def test_json_is_byte_identical_across_runs(tmp_path):
    outputs = []
    for run_index in range(2):
        target = tmp_path / f"run{run_index}.json"
        subprocess.run(
            [
                tool("resnet-inspect"),
                "summary",
                "resnext50_32x4d",
                "--format",
                "json",
                "--check",
                "-o",
                str(target),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    data = json.loads(outputs[0])
    # Versions live in their own section; everything else is the model's numbers.
    assert set(data["environment"]) == {"resnet_inspect", "torch", "python"}
    assert data["report_version"] == 4
