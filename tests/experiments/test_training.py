"""`train`: the recipe's schedule by hand, nothing lost (a real process killed with -9 and
resumed ends bit-exact; a NaN keeps the last good checkpoint; a full disk leaves the previous
one whole; two runs into one directory are refused), the paper's augmentation, torchrun with
two gloo processes against one, and memory: the bytes autograd saves in a real training step
against the summary's prediction, for every preset family."""

from __future__ import annotations

import errno
import json
import os
import signal as signals
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import resnet_inspect as ri
from conftest import ROOT, tool
from resnet_inspect.errors import RenderError, UsageError
from resnet_inspect.experiments.training import Recipe, Target, load_checkpoint, train

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


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return str(path)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_the_schedule_is_the_papers_scaled_to_the_run():
    recipe = Recipe(epochs=8)  # 11 steps an epoch on the digits: 88 iterations
    total = 88
    # 0.1 until 50% of the iterations (step 44), 0.01 until 75% (step 66), then 0.001
    assert [recipe.lr_at(step, total) for step in (0, 43, 44, 65, 66, 87)] == [
        0.1,
        0.1,
        0.01,
        0.01,
        0.001,
        0.001,
    ]
    warm = Recipe(epochs=8, warmup_epochs=1, warmup_decay=0.01)  # 11 warm-up steps
    assert warm.lr_at(0, total) == pytest.approx(0.001)
    assert warm.lr_at(5, total) == pytest.approx(0.1 * (0.01 + 0.99 * 5 / 11))
    assert warm.lr_at(11, total) == 0.1
    constant = Recipe(epochs=8, warmup_epochs=1, warmup_method="constant", warmup_decay=0.1)
    assert constant.lr_at(10, total) == pytest.approx(0.01)


def test_a_run_records_its_curves_and_memory(tiny, tmp_path):
    run_dir = tmp_path / "run"
    run = train([tiny], "synthetic", run_dir, Recipe(epochs=2, batch_size=32))
    (net,) = run.networks
    assert net.status == "done" and [e.epoch for e in net.epochs] == [1, 2]
    assert net.residual and net.params == sum(p.numel() for p in ri.build_model(tiny).parameters())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["state"] == "done" and record["networks"][0]["epochs"][1]["epoch"] == 2
    assert record["targets"] == [{"target": tiny, "model_path": None}]
    # the trained weights are in weights.pt and the checkpoint holds the same
    saved = weights(run_dir / "tiny" / "weights.pt")
    checkpoint = load_checkpoint(run_dir / "tiny" / "checkpoint.pt")
    assert all(torch.equal(saved[k], checkpoint["model"][k]) for k in saved)
    assert checkpoint["epoch"] == 2 and checkpoint["step"] == 0
    # memory: predicted by the analysis, measured in the first real step (within 2%)
    memory = net.memory
    assert memory["measured_saved_bytes"] == pytest.approx(
        memory["predicted_saved_bytes"], rel=0.02
    )
    # Figure 7 again on the trained network, in evaluation mode
    assert net.trained_signal is not None and net.trained_signal.mode == "eval"


def test_the_same_run_twice_gives_the_same_weights_and_another_seed_does_not(tiny, tmp_path):
    a = train([tiny], "synthetic", tmp_path / "a", Recipe(epochs=1, batch_size=32))
    b = train([tiny], "synthetic", tmp_path / "b", Recipe(epochs=1, batch_size=32))
    c = train([tiny], "synthetic", tmp_path / "c", Recipe(epochs=1, batch_size=32, seed=1))
    first, second = weights(tmp_path / "a/tiny/weights.pt"), weights(tmp_path / "b/tiny/weights.pt")
    assert all(torch.equal(first[k], second[k]) for k in first)
    timeless = [
        [replace(e, seconds=0.0, images_per_s=0.0) for e in run.networks[0].epochs]
        for run in (a, b)
    ]
    assert timeless[0] == timeless[1]
    assert c.networks[0].epochs[0].train_loss != a.networks[0].epochs[0].train_loss


def test_two_runs_into_one_directory_are_refused(tiny, tmp_path):
    import fcntl

    run_dir = tmp_path / "run"
    train([tiny], "synthetic", run_dir, Recipe(epochs=1, batch_size=64))
    with pytest.raises(UsageError, match="already holds a training run"):
        train([tiny], "synthetic", run_dir, Recipe(epochs=1, batch_size=64))
    # another process holds the lock: even --resume waits its turn
    with open(run_dir / ".lock", "a+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another training run is using"):
            train([], run_dir=run_dir, resume=True)


def test_a_nan_loss_stops_the_network_and_keeps_the_last_good_checkpoint(tmp_path):
    # nan_after_20 turns NaN at its 21st training forward: epoch 3 (8 steps an epoch), step 5
    run_dir = tmp_path / "run"
    target = Target(model_path="factories:nan_after_20")
    run = train([target], "synthetic", run_dir, Recipe(epochs=4, batch_size=32), image_size=8)
    (net,) = run.networks
    assert net.status.startswith("stopped: the loss became nan at epoch 3, step 5")
    assert "last good checkpoint (epoch 2)" in net.status
    assert [e.epoch for e in net.epochs] == [1, 2]
    kept = load_checkpoint(run_dir / "nan_after_20" / "checkpoint.pt")
    assert kept["epoch"] == 2
    assert all(torch.isfinite(t).all() for t in kept["model"].values() if t.is_floating_point())
    assert not (run_dir / "nan_after_20" / "weights.pt").exists()


def test_a_full_disk_while_checkpointing_leaves_the_previous_checkpoint_whole(
    tiny, tmp_path, monkeypatch
):
    import resnet_inspect.files as files

    run_dir = tmp_path / "run"
    real_fsync = os.fsync
    calls = {"checkpoints": 0}

    def fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else ""
        if Path(name).parent.name == "tiny":  # a temporary file beside tiny/checkpoint.pt
            calls["checkpoints"] += 1
            if calls["checkpoints"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    with pytest.raises(RenderError, match="No space left on device"):
        train([tiny], "synthetic", run_dir, Recipe(epochs=3, batch_size=64))
    kept = load_checkpoint(run_dir / "tiny" / "checkpoint.pt")
    assert kept["epoch"] == 1  # the first epoch's, whole
    assert [p.name for p in (run_dir / "tiny").iterdir()] == ["checkpoint.pt"]  # no temp left


@pytest.mark.subprocess
def test_kill_9_and_resume_ends_bit_exact(tiny, tmp_path):
    command = [
        tool("resnet-inspect"),
        "train",
        tiny,
        "--data",
        "synthetic",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--deterministic",
        "--checkpoint-every",
        "5",
    ]
    whole = tmp_path / "whole"
    done = subprocess.run([*command, "-o", str(whole)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    broken = tmp_path / "broken"
    process = subprocess.Popen(
        [*command, "-o", str(broken)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    checkpoint = broken / "tiny" / "checkpoint.pt"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signals.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signals.SIGKILL
    assert not (broken / "tiny" / "weights.pt").exists()  # it died mid-run
    position = load_checkpoint(checkpoint)
    assert (position["epoch"], position["step"]) < (3, 0)

    resumed = subprocess.run(
        [
            tool("resnet-inspect"),
            "train",
            "--resume",
            str(broken),
            "--threads",
            "1",
            "--deterministic",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    expected, got = weights(whole / "tiny/weights.pt"), weights(broken / "tiny/weights.pt")
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    curves = [
        json.loads((d / "run.json").read_text())["networks"][0]["epochs"] for d in (whole, broken)
    ]
    strip = [
        [{k: v for k, v in e.items() if k not in ("seconds", "images_per_s")} for e in c]
        for c in curves
    ]
    assert strip[0] == strip[1]


@pytest.mark.subprocess
def test_torchrun_two_gloo_processes_give_the_single_process_result(tiny, tmp_path):
    common = [
        "train",
        tiny,
        "--data",
        "synthetic",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--threads",
        "1",
    ]
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo"}
    single = subprocess.run(
        [tool("resnet-inspect"), *common, "-o", str(tmp_path / "one")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert single.returncode == 0, single.stderr
    double = subprocess.run(
        [
            tool("torchrun"),
            "--standalone",
            "--nnodes",
            "1",
            "--nproc-per-node",
            "2",
            "-m",
            "resnet_inspect",
            *common,
            "-o",
            str(tmp_path / "two"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert double.returncode == 0, double.stderr[-3000:]
    one, two = weights(tmp_path / "one/tiny/weights.pt"), weights(tmp_path / "two/tiny/weights.pt")
    for key in one:
        assert torch.allclose(one[key].double(), two[key].double(), rtol=1e-4, atol=1e-5), key
    curves = [
        json.loads((tmp_path / d / "run.json").read_text())["networks"][0]["epochs"]
        for d in ("one", "two")
    ]
    for a, b in zip(*curves, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["test_error"] == pytest.approx(b["test_error"], abs=1e-9)


# Every preset family: basic and bottleneck, projection and option A, SE, pre-activation,
# ResNet-D, ResNeXt, wide, GroupNorm, Keras' v1, plain.
FAMILIES = [
    ("resnet18", (3, 64, 64)),
    ("resnet50", (3, 64, 64)),
    ("seresnet50", (3, 64, 64)),
    ("preact_resnet50", (3, 64, 64)),
    ("resnet50d", (3, 64, 64)),
    ("resnext50_32x4d", (3, 64, 64)),
    ("wide_resnet50_2", (3, 64, 64)),
    ("resnet50_gn", (3, 64, 64)),
    ("keras_resnet50", (3, 64, 64)),
    ("plain18", (3, 64, 64)),
    ("cifar_resnet56", (3, 32, 32)),
    ("preact_resnet110", (3, 32, 32)),
    ("cifar_plain20", (3, 32, 32)),
]


@pytest.mark.parametrize(("preset", "shape"), FAMILIES)
def test_saved_activation_bytes_match_what_autograd_saves(preset, shape):
    model = ri.build_model(preset).train()
    state = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    saved: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in state:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.randn(2, *shape))
    measured = sum(saved.values())
    predicted = ri.summarize(preset, input_shape=shape, batch_size=2).memory.saved_activation_bytes
    assert predicted == pytest.approx(measured, rel=0.02)


def test_the_progress_hears_every_epoch(tiny):
    from resnet_inspect.experiments.training import Progress

    heard = []

    class Listen(Progress):
        def epoch(self, name, record, epochs):
            heard.append((name, record.epoch, epochs))

    train([tiny], "synthetic", None, Recipe(epochs=2, batch_size=64), progress=Listen())
    assert heard == [("tiny", 1, 2), ("tiny", 2, 2)]


def test_a_model_with_fewer_outputs_than_classes_is_refused(tmp_path):
    spec = tmp_path / "five.yaml"
    spec.write_text(TINY.replace("classes: 10", "classes: 5"), encoding="utf-8")
    with pytest.raises(UsageError, match="has 5 outputs but synthetic has 10 classes"):
        train([str(spec)], "synthetic", None, Recipe(epochs=1, batch_size=64))
