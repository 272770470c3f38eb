"""Latency on the CPU with tiny inputs: structure and sanity, not speed."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from resnet_inspect.analyzers import latency as latency_module
from resnet_inspect.analyzers.latency import statistics_ms
from resnet_inspect.cli import cli

QUICK = ["--warmup", "1", "--iters", "3"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_statistics_by_hand():
    row = statistics_ms(
        [0.001, 0.002, 0.003, 0.004, 0.005], batch_size=10, macs_per_image=10**9, peak=100.0
    )
    assert row["median_ms"] == pytest.approx(3.0)
    assert row["p10_ms"] == pytest.approx(1.4)  # linear interpolation between 1 and 2
    assert row["p90_ms"] == pytest.approx(4.6)
    assert row["cv"] == pytest.approx((2**0.5) / 3)  # population std of 1..5 is sqrt(2)
    assert row["images_per_s"] == pytest.approx(10 / 0.003)
    # 2 FLOPs per MAC: 2 * 1e9 * 10 images in 3 ms = 6.67 TFLOP/s, 6.67% of a 100 TFLOP/s peak.
    assert row["tflops"] == pytest.approx(2e10 / 0.003 / 1e12)
    assert row["peak_fraction"] == pytest.approx(row["tflops"] / 100)


def test_sweep_json_structure_and_sanity():
    result = run(
        "latency",
        "cifar_resnet20",
        "--batch-size",
        "1,2",
        *QUICK,
        "--format",
        "json",
        "--threads",
        "1",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    section = data["latency"]
    assert [row["batch_size"] for row in section["rows"]] == [1, 2]
    for row in section["rows"]:
        assert row["error"] is None and row["samples"] >= 3
        assert 0 < row["p10_ms"] <= row["median_ms"] <= row["p90_ms"]
        assert row["images_per_s"] == pytest.approx(row["batch_size"] / row["median_ms"] * 1000)
        macs = data["totals"]["macs"]  # batch 1
        assert row["tflops"] == pytest.approx(2 * macs * row["batch_size"] / row["median_ms"] / 1e9)
    assert section["device"] == "cpu" and section["threads"] == 1 and section["dtype"] == "float32"
    assert section["torch"] == torch.__version__


def test_thread_count_is_restored():
    before = torch.get_num_threads()
    run("latency", "cifar_resnet20", *QUICK, "--threads", "1")
    assert torch.get_num_threads() == before


def test_min_time_keeps_sampling():
    result = run(
        "latency",
        "cifar_resnet20",
        "--warmup",
        "0",
        "--iters",
        "1",
        "--min-time",
        "0.2",
        "--format",
        "json",
    )
    assert json.loads(result.stdout)["latency"]["rows"][0]["samples"] > 1


def test_breakdown_parts_add_up_to_the_whole():
    result = run("latency", "cifar_resnet20", *QUICK, "--breakdown", "--format", "json")
    rows = json.loads(result.stdout)["latency"]["breakdown"]
    names = [row["name"] for row in rows]
    assert names[:3] == ["conv1", "bn1", "relu"] and names[-2:] == ["other", "whole model"]
    parts = sum(row["ms"] for row in rows[:-1])
    assert parts == pytest.approx(rows[-1]["ms"])
    assert rows[-2]["ms"] < 0.5 * rows[-1]["ms"]  # almost all of the time is inside a module


def fail_second_batch(monkeypatch, error: BaseException) -> None:
    """Make the measurement of the second batch size raise `error`."""
    real = latency_module._measure_one
    calls = []

    def measure(run_fn, timer, options):
        calls.append(1)
        if len(calls) == 2:
            raise error
        return real(run_fn, timer, options)

    monkeypatch.setattr(latency_module, "_measure_one", measure)


def test_out_of_memory_is_a_row_and_the_sweep_goes_on(monkeypatch):
    fail_second_batch(
        monkeypatch, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    )
    result = run("latency", "cifar_resnet20", "--batch-size", "1,2,4", *QUICK, "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["latency"]["rows"]
    assert [row["batch_size"] for row in rows] == [1, 2, 4]
    assert rows[1] == {"batch_size": 2, "error": "out of memory"}
    assert rows[2]["median_ms"] > 0


def test_ctrl_c_keeps_the_rows_measured(monkeypatch):
    fail_second_batch(monkeypatch, KeyboardInterrupt())
    result = run("latency", "cifar_resnet20", "--batch-size", "1,2,4", *QUICK)
    assert result.exit_code == 130
    assert "interrupted" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith("1 │")]
    assert len(lines) == 1  # batch 1 was measured and printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "cuda:99"], "--device cuda:99:"),
        (["--device", "mps"], "--device mps:"),
        (["--cuda-graphs"], "--cuda-graphs needs --device cuda"),
        (["--batch-size", "1,x"], "--batch-size '1,x': expected sizes like 1,8,32"),
    ],
)
def test_bad_devices_and_options_are_one_line_exit_2(args, message):
    if args[:2] == ["--device", "mps"] and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    result = run("latency", "cifar_resnet20", *QUICK, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1


def test_summary_and_compare_latency():
    data = json.loads(run("summary", "cifar_resnet20", "--latency", "--format", "json").stdout)
    assert data["latency"]["rows"][0]["batch_size"] == 1
    table = run("compare", "cifar_resnet20", "cifar_plain20", "--latency").stdout
    assert "Latency, median" in table and "Throughput" in table


def test_peak_fraction_from_the_option():
    result = run("latency", "cifar_resnet20", *QUICK, "--peak-tflops", "2", "--format", "json")
    row = json.loads(result.stdout)["latency"]["rows"][0]
    assert row["peak_fraction"] == pytest.approx(row["tflops"] / 2)
