"""Latency on the CPU with tiny inputs: structure and sanity, not speed."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
import torch
from click.testing import CliRunner

from resnet_inspect.cli import cli
from resnet_inspect.experiments import timing as latency_module
from resnet_inspect.experiments.timing import statistics_ms

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


class FakeClock:
    """time.perf_counter for the latency module: time passes only when a Tick module runs, so
    the figures are exact whatever the machine is doing."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def __deepcopy__(self, memo: dict) -> FakeClock:
        return self  # the model is copied for timing; the clock stays one


class Tick(torch.nn.Module):
    """A layer that takes exactly `seconds` on the fake clock."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.clock.now += self.seconds
        return x


def timed(monkeypatch, *seconds: float) -> tuple[FakeClock, torch.nn.Module]:
    clock = FakeClock()
    monkeypatch.setattr(latency_module.time, "perf_counter", clock)
    children = {f"part{i}": Tick(clock, value) for i, value in enumerate(seconds)}
    return clock, torch.nn.Sequential(OrderedDict(children))


def measure(model: torch.nn.Module, **options) -> dict:
    from resnet_inspect import analyze
    from resnet_inspect.options import LatencyOptions

    report = analyze(model, (3, 4, 4), latency=LatencyOptions(device="cpu", **options))
    return report.latency


def test_min_time_keeps_sampling(monkeypatch):
    # Each forward takes 62.5 ms of fake time (1/16 s, exact in binary): with one iteration
    # asked for and a minimum of 0.25 s, the loop samples until 0.25 s have passed: 4 samples.
    _, model = timed(monkeypatch, 0.0625)
    section = measure(model, warmup=0, iters=1, min_time_s=0.25)
    assert section.rows[0]["samples"] == 4
    assert section.rows[0]["median_ms"] == pytest.approx(62.5)


def test_breakdown_names_its_batch_and_agrees_with_the_table(monkeypatch):
    # part0 takes 2 ms, part1 3 ms: the table's median is 5 ms, and the breakdown, timed the
    # same way, says 2 + 3 + 0 = 5 at the first batch size.
    _, model = timed(monkeypatch, 0.002, 0.003)
    section = measure(model, batch_sizes=(2, 4), warmup=1, iters=5, breakdown=True)
    assert section.breakdown_batch_size == 2
    rows = {row["name"]: row["ms"] for row in section.breakdown}
    assert list(rows) == ["part0", "part1", "other", "whole model"]
    assert rows["part0"] == pytest.approx(2.0) and rows["part1"] == pytest.approx(3.0)
    assert rows["other"] == pytest.approx(0.0, abs=1e-9)
    assert rows["whole model"] == pytest.approx(section.rows[0]["median_ms"])
    assert section.rows[0]["median_ms"] == pytest.approx(5.0)


def test_breakdown_table_says_which_batch():
    result = run(
        "latency", "cifar_resnet20", "--batch-size", "2,4", *QUICK, "--breakdown", "--threads", "1"
    )
    assert result.exit_code == 0, result.output
    assert "Breakdown at batch 2" in result.stdout
    names = json.loads(
        run("latency", "cifar_resnet20", *QUICK, "--breakdown", "--format", "json").stdout
    )["latency"]["breakdown"]
    assert [row["name"] for row in names][:3] == ["conv1", "bn1", "relu"]


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


def test_device_names_are_checked_before_torch_is_asked():
    result = run("latency", "cifar_resnet20", "--device", "gpu")
    assert result.exit_code == 2
    assert result.stderr == "--device 'gpu': use cpu, cuda, cuda:N, mps; did you mean 'cuda'?\n"


def test_cuda_on_a_machine_without_it_is_answered_at_once(monkeypatch):
    # Neither torch's CUDA initialisation nor the model is reached (both would raise here).
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    def never(*_args, **_kwargs):
        raise AssertionError("asked CUDA or built the model")

    monkeypatch.setattr(torch.cuda, "is_available", never)
    monkeypatch.setattr("resnet_inspect.pipeline.load_checked", never)
    result = run("latency", "cifar_resnet20", "--device", "cuda")
    assert result.exit_code == 2
    assert result.stderr.startswith("--device cuda: ") and result.stderr.count("\n") == 1


def test_cpu_model_name_comes_from_the_processor(tmp_path, monkeypatch):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(info if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert latency_module.cpu_name() == "AMD EPYC 7B13"


@pytest.mark.parametrize(
    ("name", "dtype", "peak"),
    [
        ("NVIDIA H100 80GB HBM3", "bfloat16", 989.0),
        ("NVIDIA H100 PCIe", "bfloat16", 756.0),  # not the SXM figure
        ("NVIDIA L40", "bfloat16", 181.0),  # not the L4's, nor the L40S's
        ("NVIDIA L4", "bfloat16", 121.0),
        ("NVIDIA L40S", "float32", 183.0),
        ("NVIDIA H100 NVL", "bfloat16", None),  # unknown: no guess from a fragment
        ("Tesla T4", "bfloat16", None),  # no bf16 on a T4
    ],
)
def test_peak_is_matched_by_exact_product_name(name, dtype, peak):
    assert latency_module.peak_for(name, dtype, None) == peak


def test_latency_table_has_no_empty_column():
    result = run("latency", "cifar_resnet20", *QUICK, "--threads", "1")
    header = next(line for line in result.stdout.splitlines() if "Median ms" in line)
    assert header.rstrip().endswith("of peak")
