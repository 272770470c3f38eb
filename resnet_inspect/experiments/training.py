"""Short training runs of several networks on the same data in the same order: the ResNet
paper's degradation experiment (its Figure 4), reproducible and resumable.

The recipe is the paper's for CIFAR-10 (section 4.2) unless changed: SGD with momentum 0.9,
weight decay 1e-4 on every parameter, batch 128, learning rate 0.1 divided by 10 at 50% and
75% of the run's iterations (the paper's 32k and 48k of 64k), 4-pixel padding, random crop and
horizontal flip (data.py). Errors are fractions: training error over the epoch's batches as
the network saw them, test error over the whole test set in evaluation mode.

Nothing is lost:
* a checkpoint per network per epoch (and every `checkpoint_every` steps): the model, the
  optimizer, the position in the schedule and in the data order (epoch, step), every random
  state, the curves so far; written to a temporary file and renamed over the last one, so a
  crash or a full disk leaves the previous checkpoint whole. An epoch's order and augmentation
  come from (seed, epoch) alone, so a resumed run repeats exactly what the lost one would have
  done: on CPU with deterministic algorithms it ends with the same weights, bit for bit.
* a loss that is not finite stops that network (its last good checkpoint is kept) and the
  run goes on with the next.
* the run directory is locked while a run uses it (flock: freed by the kernel when the process
  dies, even by kill -9); a second run into it is refused, as is a new run into a directory
  that holds one (resume it instead).

Under torchrun each rank takes a slice of every global batch (distributed.py); the loss is
scaled so that the averaged gradient is the global batch's mean, and batch norms see the
global batch: the result is the single process's for the same global batch.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_inspect.errors import UsageError
from resnet_inspect.experiments import datasets, distributed
from resnet_inspect.experiments.networks import Network, network
from resnet_inspect.report import EpochRecord, SignalReport, TrainedNetwork, TrainingRun

CHECKPOINT_FORMAT = 1
RUN_FILE = "run.json"
LOCK_FILE = ".lock"
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Recipe:
    """How every network of a run is trained; the paper's CIFAR-10 recipe by default."""

    epochs: int = 8
    batch_size: int = 128  # the global batch (split over the ranks under torchrun)
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[float, ...] = (0.5, 0.75)  # fractions of the run's iterations
    gamma: float = 0.1  # the learning rate is multiplied by this at each milestone
    # Warm-up, as torchvision's reference train.py: for the first `warmup_epochs` the rate
    # rises linearly from lr × warmup_decay to lr ("linear"), or stays at lr × warmup_decay
    # ("constant": the paper's 0.01 for ResNet-110).
    warmup_epochs: float = 0.0
    warmup_method: str = "linear"
    warmup_decay: float = 0.01
    augment: bool = True
    seed: int = 0
    device: str = "cpu"
    channels_last: bool = False
    amp: str | None = None  # "bf16" or "fp16": autocast
    compile: bool = False
    deterministic: bool = False
    checkpoint_every: int = 0  # steps; 0: at the end of each epoch only
    eval_batch_size: int = 500

    def lr_at(self, step: int, total: int) -> float:
        """The learning rate of iteration `step` (0-based) of `total`."""
        passed = sum(1 for fraction in self.milestones if step >= math.floor(fraction * total))
        rate = self.lr * self.gamma**passed
        warmup = math.floor(self.warmup_epochs * total / self.epochs)
        if step < warmup:
            if self.warmup_method == "constant":
                rate *= self.warmup_decay
            else:
                rate *= self.warmup_decay + (1 - self.warmup_decay) * step / warmup
        return float(f"{rate:.12g}")  # 0.001, not 0.0010000000000000002


@dataclass(frozen=True)
class Target:
    """What a run trains: a spec, spec file or preset, or a model factory path."""

    target: str | None = None
    model_path: str | None = None

    @property
    def label(self) -> str:
        return self.target or self.model_path or "model"


class Progress:
    """What a run reports as it goes; the command line draws a bar (this one says nothing)."""

    def network(self, index: int, count: int, name: str, total: int, done: int) -> None: ...

    def step(self, done: int, images_per_s: float) -> None: ...

    def epoch(self, name: str, record: EpochRecord, epochs: int) -> None: ...

    def note(self, text: str) -> None: ...


# --- the run directory ----------------------------------------------------------------------


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock for the block; a UsageError where another run holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    handle = open(run_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the block
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UsageError(
                f"{run_dir}: another training run is using this directory; wait for it to "
                "finish or choose another -o"
            ) from None
        yield
    finally:
        handle.close()


def _write(path: Path, payload: bytes) -> None:
    from resnet_inspect.files import write_output

    write_output(str(path), payload)


def _run_record(
    run: TrainingRun, targets: Sequence[Target], state: str, extra: dict[str, Any]
) -> bytes:
    record = {
        **run.to_dict(),
        "state": state,
        "targets": [dataclasses.asdict(target) for target in targets],
        "data_options": extra,
    }
    return (json.dumps(record, indent=2, allow_nan=False) + "\n").encode()


def read_run(run_dir: Path) -> dict[str, Any]:
    """A run directory's run.json, or a UsageError saying what is wrong."""
    if not run_dir.is_dir():
        raise UsageError(f"--resume {run_dir}: no such directory")
    path = run_dir / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--resume {run_dir}: no {RUN_FILE} there; not a training run") from None
    except (OSError, ValueError) as err:
        raise UsageError(f"{path}: cannot read the run's record ({err})") from None
    if not isinstance(record, dict) or record.get("training_version") != 1:
        raise UsageError(f"{path}: not a run record of this version of resnet-inspect")
    return record


# --- checkpoints ------------------------------------------------------------------------------


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()[1]}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically: a temporary file beside `path`, flushed, renamed over it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    _write(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint, read with weights_only=True (tensors and plain values only)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # torch raises many kinds for a damaged file
        first = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise UsageError(
            f"{path}: cannot read the checkpoint (truncated or corrupt: {first})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"{path}: not a checkpoint of this version of resnet-inspect")
    return state


# --- one network ------------------------------------------------------------------------------


def _evaluate(
    model: nn.Module, data: datasets.Dataset, recipe: Recipe, device: torch.device, autocast: Any
) -> tuple[float, float]:
    """(mean loss, error) over the whole test set, in evaluation mode."""
    model.eval()
    loss = errors = 0.0
    with torch.no_grad():
        for images, labels in datasets.test_batches(data, recipe.eval_batch_size):
            images, labels = _to(images, device, recipe), labels.to(device)
            with autocast():
                output = model(images)
            loss += nn.functional.cross_entropy(output.float(), labels, reduction="sum").item()
            errors += (output.argmax(1) != labels).sum().item()
    count = max(len(data.test_labels), 1)
    return loss / count, errors / count


def _to(images: torch.Tensor, device: torch.device, recipe: Recipe) -> torch.Tensor:
    images = images.to(device, non_blocking=True)
    if recipe.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def _autocast(recipe: Recipe, device: torch.device) -> Callable[[], Any]:
    if recipe.amp is None:
        return contextlib.nullcontext
    if recipe.amp not in AMP_DTYPES:
        raise UsageError(f"--amp {recipe.amp}: use {', '.join(AMP_DTYPES)}")
    dtype = AMP_DTYPES[recipe.amp]
    return lambda: torch.autocast(device.type, dtype=dtype)


def saved_bytes(model: nn.Module, step: Callable[[], Any], results: list[Any]) -> int:
    """The bytes autograd saves for backward while `step()` runs the forward (its result is
    appended to `results`): every saved tensor's storage counted once, the model's parameters
    and buffers not."""
    state = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in state:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        results.append(step())
    return sum(seen.values())


@dataclass
class _State:
    epoch: int = 0  # epochs completed
    step: int = 0  # steps completed in the current epoch
    history: list[EpochRecord] = field(default_factory=list)
    partial: dict[str, float] = field(default_factory=dict)  # the current epoch's sums so far
    status: str = "running"


def _facts(
    module: nn.Module, data: datasets.Dataset, batch: int
) -> tuple[bool, int, dict[str, Any]]:
    """(has a residual add, output classes, memory predicted by the analysis) from one meta
    pass over a copy of the model."""
    from resnet_inspect.analyzers.graph import residual_adds
    from resnet_inspect.analyzers.memory import analyze_memory
    from resnet_inspect.analyzers.trace import meta_copy, trace_copy

    trace = trace_copy(meta_copy(module), data.input_shape, batch)
    model = trace.infos[""]
    size = trace.element_bytes
    memory = analyze_memory(trace, model.params * size, model.buffers * size)
    output = trace.outputs[0].shape if trace.outputs else ()
    predicted = {
        "predicted_saved_bytes": memory.saved_activation_bytes,
        "predicted_peak_bytes": memory.training_bytes["sgd_momentum"],
        "batch_per_process": batch,
    }
    return bool(residual_adds(trace)), int(output[1]) if len(output) > 1 else 0, predicted


def train_network(
    net: Network,
    data: datasets.Dataset,
    recipe: Recipe,
    directory: Path | None,
    world: distributed.World,
    progress: Progress,
    place: tuple[int, int] = (0, 1),
) -> TrainedNetwork:
    """Train one network by the recipe, checkpointing into `directory` (resuming from the
    checkpoint there, if any); its curves, status and memory."""
    device = torch.device(recipe.device)
    if device.type == "cuda" and world.distributed:
        device = torch.device("cuda", world.local_rank)  # one GPU per process
    per_epoch = datasets.steps_per_epoch(data, recipe.batch_size)
    total_steps = recipe.epochs * per_epoch
    local_batch = max(1, recipe.batch_size // world.size)
    residual, classes, memory = _facts(net.module, data, local_batch)
    if classes and classes < data.classes:
        raise UsageError(
            f"{net.name} has {classes} outputs but {data.name} has {data.classes} classes; "
            "set num_classes in the spec"
        )
    model = net.module.to(device)
    if world.distributed:
        model = distributed.sync_batch_norm(model, device)
    if recipe.channels_last:
        to: Any = model.to  # (the stubs of some torch releases lack this overload)
        model = to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
    )
    state = _State()
    checkpoint = directory / "checkpoint.pt" if directory is not None else None
    if checkpoint is not None and checkpoint.exists():
        saved = load_checkpoint(checkpoint)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        _set_rng_state(saved["rng"], device)
        state = _State(
            epoch=saved["epoch"],
            step=saved["step"],
            history=[EpochRecord(**record) for record in saved["history"]],
            partial=dict(saved["partial"]),
            status=saved["status"],
        )
        memory = {**memory, **saved.get("memory", {})}
    trained: nn.Module = model
    if world.distributed:
        trained = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if recipe.compile:
        trained = torch.compile(trained)  # type: ignore[assignment]
    autocast = _autocast(recipe, device)
    params = sum(p.numel() for p in net.module.parameters())

    def result(status: str) -> TrainedNetwork:
        return TrainedNetwork(
            name=net.name,
            source=net.source,
            residual=residual,
            params=params,
            epochs=list(state.history),
            status=status,
            memory=memory,
        )

    def checkpoint_now() -> None:
        if checkpoint is None or not world.is_main:
            return
        save_checkpoint(
            checkpoint,
            {
                "format": CHECKPOINT_FORMAT,
                "network": net.name,
                "epoch": state.epoch,
                "step": state.step,
                "global_step": state.epoch * per_epoch + state.step,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": _rng_state(device),
                "history": [dataclasses.asdict(record) for record in state.history],
                "partial": dict(state.partial),
                "status": state.status,
                "memory": memory,
                "recipe": dataclasses.asdict(recipe),
            },
        )

    if state.status.startswith("stopped"):
        return result(state.status)
    progress.network(
        place[0], place[1], net.name, total_steps, state.epoch * per_epoch + state.step
    )
    while state.epoch < recipe.epochs:
        epoch = state.epoch
        sums = state.partial or {"loss": 0.0, "errors": 0.0, "seen": 0.0, "seconds": 0.0}
        last = time.perf_counter()  # a step's time includes making its batch
        for step, (images, labels) in enumerate(
            datasets.batches(data, recipe.batch_size, recipe.seed, epoch, recipe.augment)
        ):
            if step < state.step:
                last = time.perf_counter()
                continue  # done before the checkpoint; its draws were made again above
            count = len(labels)
            if count < 2 * world.size:
                state.step = step + 1
                continue  # too few for batch norm on every rank: skipped, in every run alike
            share = world.slice(count)
            x, y = _to(images[share], device, recipe), labels[share].to(device)
            global_step = epoch * per_epoch + step
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr_at(global_step, total_steps)
            trained.train()

            def forward(x: torch.Tensor = x, y: torch.Tensor = y) -> Any:
                with autocast():
                    output = trained(x)
                return output, nn.functional.cross_entropy(output.float(), y, reduction="sum")

            if "measured_saved_bytes" not in memory and world.is_main and not recipe.compile:
                holder: list[Any] = []
                memory["measured_saved_bytes"] = saved_bytes(model, forward, holder)
                output, loss_sum = holder[0]
            else:
                if device.type == "cuda" and "measured_peak_bytes" not in memory:
                    torch.cuda.reset_peak_memory_stats(device)
                output, loss_sum = forward()
            optimizer.zero_grad(set_to_none=True)
            (loss_sum * (world.size / count)).backward()
            optimizer.step()
            if device.type == "cuda" and "measured_peak_bytes" not in memory:
                memory["measured_peak_bytes"] = torch.cuda.max_memory_allocated(device)
            wrong = (output.detach().argmax(1) != y).sum()
            loss_total, wrong_total = distributed.all_sum(
                [loss_sum.item(), float(wrong.item())], device
            )
            if not math.isfinite(loss_total):
                kept = f"epoch {epoch}" if epoch else "none: no epoch finished"
                state.status = (
                    f"stopped: the loss became {loss_total} at epoch {epoch + 1}, step {step + 1}; "
                    f"the last good checkpoint ({kept}) is kept"
                )
                progress.note(f"{net.name}: {state.status}")
                return result(state.status)
            sums["loss"] += loss_total
            sums["errors"] += wrong_total
            sums["seen"] += count
            now = time.perf_counter()
            sums["seconds"] += now - last
            last = now
            state.step = step + 1
            state.partial = sums
            progress.step(global_step + 1, sums["seen"] / max(sums["seconds"], 1e-9))
            if recipe.checkpoint_every and state.step % recipe.checkpoint_every == 0:
                checkpoint_now()
        test_loss, test_error = _evaluate(trained, data, recipe, device, autocast)
        seen = max(sums["seen"], 1.0)
        record = EpochRecord(
            epoch=epoch + 1,
            train_loss=sums["loss"] / seen,
            train_error=sums["errors"] / seen,
            test_loss=test_loss,
            test_error=test_error,
            lr=recipe.lr_at(epoch * per_epoch, total_steps),
            images_per_s=sums["seen"] / max(sums["seconds"], 1e-9),
            seconds=sums["seconds"],
        )
        state.history.append(record)
        state.epoch, state.step, state.partial = epoch + 1, 0, {}
        progress.epoch(net.name, record, recipe.epochs)
        checkpoint_now()
    state.status = "done"
    checkpoint_now()
    if directory is not None and world.is_main:
        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        _write(directory / "weights.pt", buffer.getvalue())
    return result("done")


def trained_signal(
    module: nn.Module, data: datasets.Dataset, name: str, source: str, recipe: Recipe
) -> SignalReport:
    """Figure 7 again on the trained network: evaluation mode, the first test images."""
    from resnet_inspect.experiments.signal import measure_signal

    count = min(len(data.test_labels), 256)
    images = data.normalise(data.test_images[:count])
    device = next(module.parameters()).device
    return measure_signal(
        copy.deepcopy(module).float(),
        images.to(device),
        data.test_labels[:count].to(device),
        name=name,
        source=source,
        mode="eval",
        seed=recipe.seed,
        input_kind=data.name,
    )


def write_run_files(run: TrainingRun, directory: Path, progress: Progress) -> None:
    """Beside run.json: curves.csv, the plots of Figure 4 (curves.svg/png) and Figure 7
    (figure7.svg/png) and the trained networks' signal (trained_signal.json)."""
    import csv
    import io

    from resnet_inspect.errors import RenderError

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = (
        "epoch",
        "train_loss",
        "train_error",
        "test_loss",
        "test_error",
        "lr",
        "images_per_s",
        "seconds",
    )
    writer.writerow(("network", *columns))
    for net in run.networks:
        for record in net.epochs:
            writer.writerow((net.name, *(getattr(record, column) for column in columns)))
    written = [("curves.csv", out.getvalue().encode())]
    trained = [net.trained_signal for net in run.networks if net.trained_signal is not None]
    if trained:
        from resnet_inspect.render.signal_table import signal_json

        written.append(("trained_signal.json", signal_json(trained).encode()))
    try:
        from resnet_inspect.render.plots import render_response_plot, render_training_plot

        for fmt in ("svg", "png"):
            written.append((f"curves.{fmt}", render_training_plot(run, fmt)))
            if trained:
                title = f"{run.data}: std of the responses of the trained networks (Figure 7)"
                written.append((f"figure7.{fmt}", render_response_plot(trained, title, fmt)))
    except RenderError as err:  # no matplotlib: the numbers are still written
        progress.note(f"no plots: {err}")
    for name, payload in written:
        _write(directory / name, payload)
    progress.note(f"wrote run.json, {', '.join(name for name, _ in written)} in {directory}")


# --- the run ----------------------------------------------------------------------------------


def train(
    targets: Sequence[Target | str | nn.Module],
    data: str | datasets.Dataset = "digits",
    run_dir: str | os.PathLike[str] | None = None,
    recipe: Recipe | None = None,
    *,
    resume: bool = False,
    progress: Progress | None = None,
    image_size: int | None = None,
    download: bool = False,
) -> TrainingRun:
    """Train each target by `recipe` on `data` (a source name, see data.py, or a Dataset),
    one after the other, on the same batches in the same order. With `run_dir`, everything is
    kept there (run.json, a checkpoint per network, weights.pt, curves) and `resume=True`
    continues the run recorded there, with its own targets, data and recipe."""
    progress = progress or Progress()
    world = distributed.world_from_environment()
    directory = Path(run_dir) if run_dir is not None else None
    data_options = {"image_size": image_size, "download": download}
    if resume:
        if directory is None:
            raise UsageError("resume needs the run directory")
        record = read_run(directory)
        targets = [Target(**target) for target in record["targets"]]
        data = record["data"]
        options = dict(record["recipe"])
        options.pop("world_size", None)
        options["milestones"] = tuple(options["milestones"])
        recipe = dataclasses.replace(Recipe(**options), device=(recipe or Recipe(**options)).device)
        data_options = dict(record.get("data_options") or data_options)
    recipe = recipe or Recipe()
    chosen = [t if isinstance(t, (Target, nn.Module)) else Target(target=t) for t in targets]
    if not chosen:
        raise UsageError("nothing to train: give one or more specs, presets or --model")
    if directory is not None and any(isinstance(t, nn.Module) for t in chosen):
        raise UsageError(
            "a run directory records its networks by name; pass specs or --model paths"
        )
    from resnet_inspect.experiments.timing import resolve_device

    device = resolve_device(recipe.device)
    if recipe.batch_size < 2 * world.size:
        raise UsageError(f"--batch-size {recipe.batch_size}: at least 2 per process")
    if recipe.deterministic:
        torch.use_deterministic_algorithms(True)
    # The first network and the data before the run directory is touched: a bad spec or data
    # source leaves nothing behind.
    first = _build(chosen[0], recipe)
    dataset = (
        data
        if isinstance(data, datasets.Dataset)
        else datasets.load_data(
            data,
            image_size=data_options.get("image_size"),
            download=bool(data_options.get("download")),
            seed=recipe.seed,
            input_shape=first.input_shape,
        )
    )
    distributed.start(world, device)
    try:
        with contextlib.ExitStack() as stack:
            if directory is not None and world.is_main:
                _prepare(directory, resume)
                stack.enter_context(locked(directory))
                if not resume and (directory / RUN_FILE).exists():
                    raise UsageError(
                        f"{directory} already holds a training run; continue it with --resume "
                        f"{directory} or choose another -o"
                    )
            distributed.barrier()
            return _run(chosen, first, dataset, directory, recipe, world, progress, data_options)
    finally:
        distributed.stop()


def _prepare(directory: Path, resume: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"-o {directory}: is a file; give a directory for the run")
    if resume and not directory.is_dir():
        raise UsageError(f"--resume {directory}: no such directory")
    directory.mkdir(parents=True, exist_ok=True)


def _build(target: Target | nn.Module, recipe: Recipe) -> Network:
    if isinstance(target, nn.Module):
        return network(target, seed=recipe.seed)
    return network(target.target or "", seed=recipe.seed, model_path=target.model_path)


def _run(
    targets: Sequence[Target | nn.Module],
    first: Network,
    dataset: datasets.Dataset,
    directory: Path | None,
    recipe: Recipe,
    world: distributed.World,
    progress: Progress,
    data_options: dict[str, Any],
) -> TrainingRun:
    from resnet_inspect.version import __version__

    progress.note(dataset.describe())
    run = TrainingRun(
        data=dataset.name,
        recipe={**dataclasses.asdict(recipe), "world_size": world.size},
        networks=[],
        environment={"resnet_inspect": __version__, "torch": torch.__version__},
    )
    record_targets = [t for t in targets if isinstance(t, Target)]
    finished: list[TrainedNetwork] = []

    def write_record(state: str, current: TrainedNetwork | None = None) -> None:
        if directory is None or not world.is_main:
            return
        nets = finished + ([current] if current is not None else [])
        _write(
            directory / RUN_FILE,
            _run_record(
                dataclasses.replace(run, networks=nets), record_targets, state, data_options
            ),
        )

    write_record("running")
    taken: dict[str, int] = {}
    for index, target in enumerate(targets):
        net = first if index == 0 else _build(target, recipe)
        taken[net.name] = taken.get(net.name, 0) + 1
        if taken[net.name] > 1:  # the same network twice: its own directory and curve
            net.name = f"{net.name}-{taken[net.name]}"
        if tuple(dataset.input_shape[:1]) != tuple(net.input_shape[:1]):
            raise UsageError(
                f"{net.name} takes {net.input_shape[0]} channels; {dataset.name} has "
                f"{dataset.input_shape[0]}"
            )
        where = directory / net.name if directory is not None else None
        if where is not None and world.is_main:
            where.mkdir(exist_ok=True)
        distributed.barrier()
        outcome = train_network(net, dataset, recipe, where, world, progress, (index, len(targets)))
        if outcome.status == "done" and world.is_main:
            outcome = dataclasses.replace(
                outcome,
                trained_signal=trained_signal(net.module, dataset, net.name, net.source, recipe),
            )
        finished.append(outcome)
        write_record("running")
    run = dataclasses.replace(run, networks=finished)
    write_record("done")
    if directory is not None and world.is_main:
        write_run_files(run, directory, progress)
    return run


__all__ = [
    "Progress",
    "Recipe",
    "Target",
    "load_checkpoint",
    "read_run",
    "save_checkpoint",
    "saved_bytes",
    "train",
    "train_network",
    "write_run_files",
]
