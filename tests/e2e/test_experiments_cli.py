"""`signal`, `train` and `report --signal` as a user types them: outputs by format and
extension, the run directory's files, and each mistake one line with its exit code."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import tool

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

TINY = """\
name: tiny
input: [3, 8, 8]
stem:
  - {conv: 4, kernel: 3, stride: 1, padding: 1}
  - bn
  - relu
block: basic
shortcut: A
stages:
  - {filters: [4, 4], blocks: 1, stride: 1}
  - {filters: [8, 8], blocks: 1, stride: 2}
head: {pool: avg, classes: 10}
"""


def run(*args, cwd=None):
    return subprocess.run(
        [tool("resnet-inspect"), *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return str(path)


def test_signal_prints_a_table_and_writes_every_format(tiny, tmp_path):
    done = run("signal", tiny, "cifar_plain20", "--batch-size", "8", "--input", "8x8")
    assert done.returncode == 0, done.stderr
    assert (
        "tiny" in done.stdout and "cifar_plain20" in done.stdout and "First / last" in done.stdout
    )
    from click.testing import CliRunner

    from resnet_inspect.cli import cli

    for name in ("s.json", "s.csv", "s.svg", "s.png", "s.html"):  # in-process: one torch import
        result = CliRunner().invoke(
            cli, ["signal", tiny, "--batch-size", "8", "-o", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
    networks = json.loads((tmp_path / "s.json").read_text())
    assert networks[0]["model"] == "tiny" and len(networks[0]["blocks"]) == 2
    assert (tmp_path / "s.csv").read_text().startswith("network,kind,index,name")
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert 'id="signal"' in (tmp_path / "s.html").read_text()


def test_signal_on_real_images(tiny):
    done = run(
        "signal", "cifar_resnet20", "--data", "digits", "--batch-size", "16", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    (network,) = json.loads(done.stdout)
    assert network["input"]["kind"] == "digits" and network["input"]["shape"] == [16, 3, 16, 16]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["signal"], "give one or more specs"),
        (["signal", "cifar_resnet20", "--input", "8x3x32x32"], "the batch comes from --batch-size"),
        (["signal", "cifar_resnet20", "-o", "x.bmp"], "cannot tell the format"),
        (["signal", "cifar_resnet20", "--device", "gpu"], "did you mean 'cuda'"),
        (["train", "cifar_resnet20"], "-o RUN_DIR"),
        (["train", "cifar_resnet20", "--milestones", "0.8,0.5", "-o", "r"], "increasing fractions"),
        (["train", "--resume", "nowhere"], "no such directory"),
    ],
)
def test_mistakes_are_one_line_with_exit_2(args, message, tmp_path):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_train_writes_the_run_and_resume_continues_it(tiny, tmp_path):
    run_dir = tmp_path / "run"
    done = run(
        "train",
        tiny,
        "--data",
        "synthetic",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "-o",
        str(run_dir),
    )
    assert done.returncode == 0, done.stderr
    assert "tiny epoch 2/2" in done.stderr and "done" in done.stdout
    for name in (
        "run.json",
        "curves.csv",
        "curves.svg",
        "curves.png",
        "figure7.svg",
        "trained_signal.json",
        "tiny/checkpoint.pt",
        "tiny/weights.pt",
    ):
        assert (run_dir / name).exists(), name
    rows = (run_dir / "curves.csv").read_text().splitlines()
    assert rows[0].startswith("network,epoch,train_loss") and len(rows) == 3
    # a second run into the directory is refused; resuming the finished run trains nothing more
    again = run("train", tiny, "--data", "synthetic", "-o", str(run_dir))
    assert again.returncode == 2 and "already holds a training run" in again.stderr
    resumed = run("train", "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch" not in resumed.stderr.replace("2 epochs", "")
    mixed = run("train", "--resume", str(run_dir), "--epochs", "5")
    assert mixed.returncode == 2 and "leave out --epochs" in mixed.stderr


def test_a_diverging_network_exits_3_with_its_reason(tmp_path):
    done = run(
        "train",
        "--model",
        "factories:nan_after_20",
        "--data",
        "synthetic",
        "--image-size",
        "8",
        "--epochs",
        "4",
        "--batch-size",
        "32",
        "-o",
        str(tmp_path / "run"),
        cwd=tool_dir(),
    )
    assert done.returncode == 3, done.stderr
    assert "stopped: the loss became nan at epoch 3, step 5" in done.stderr + done.stdout


def tool_dir():
    from conftest import ROOT

    return ROOT / "tests"


def test_report_gets_the_signal_plot(tmp_path):
    page = tmp_path / "r.html"
    done = run("report", "cifar_resnet20", "--signal", "-o", str(page))
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert 'id="signal"' in text and "Residual branch variance" in text
