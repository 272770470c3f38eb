"""`resnet-inspect train`: short training runs of several networks on the same data in the
same order, resumable, on one process or under torchrun (experiments/training.py)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from resnet_inspect.cli.common import (
    DATA_HELP,
    DEVICE_OPTION,
    IMPORT_OPTION,
    MAX_ITERS,
    MAX_SEED,
    MAX_THREADS,
    MODELS_OPTION,
    emit,
    print_fitted,
    set_threads,
)
from resnet_inspect.cli.group import cli
from resnet_inspect.errors import UsageError
from resnet_inspect.spec.parser import MAX_BATCH_SIZE

MAX_EPOCHS = 100_000


def _milestones(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--milestones {text!r}: fractions of the run, like 0.5,0.75") from None
    if any(not 0 < value < 1 for value in values) or list(values) != sorted(values):
        raise UsageError(
            f"--milestones {text!r}: increasing fractions between 0 and 1, like 0.5,0.75"
        )
    return values


# Options a resumed run takes from its run.json; giving one with --resume is refused.
_RECIPE_OPTIONS = (
    "epochs",
    "batch_size",
    "lr",
    "momentum",
    "weight_decay",
    "milestones",
    "gamma",
    "warmup_epochs",
    "warmup_method",
    "warmup_decay",
    "no_augment",
    "seed",
    "data_source",
    "image_size",
    "channels_last",
    "amp",
    "compile_model",
    "checkpoint_every",
)


@cli.command()
@IMPORT_OPTION
@click.argument("targets", nargs=-1)
@MODELS_OPTION
@click.option(
    "--data", "data_source", metavar="SOURCE", default="digits", show_default=True, help=DATA_HELP
)
@click.option(
    "-o",
    "--output",
    "run_dir",
    type=click.Path(file_okay=False),
    help="The run directory: run.json, a checkpoint per network, the curves and plots.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    help="Continue the run in this directory with its own networks, data and recipe.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1, max=MAX_EPOCHS),
    default=8,
    show_default=True,
    help="Passes over the training set per network.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=2, max=MAX_BATCH_SIZE),
    default=128,
    show_default=True,
    help="The global batch (split over the processes of torchrun).",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=0.1,
    show_default=True,
    help="The learning rate at the start.",
)
@click.option(
    "--momentum",
    type=click.FloatRange(min=0, max=1),
    default=0.9,
    show_default=True,
    help="SGD momentum.",
)
@click.option(
    "--weight-decay",
    type=click.FloatRange(min=0),
    default=1e-4,
    show_default=True,
    help="L2 penalty on every parameter (the paper: 1e-4).",
)
@click.option(
    "--milestones",
    default="0.5,0.75",
    show_default=True,
    help="Where the learning rate is divided, as fractions of the run's iterations "
    "(the paper's 32k and 48k of 64k).",
)
@click.option(
    "--gamma",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=0.1,
    show_default=True,
    help="The factor at each milestone.",
)
@click.option(
    "--warmup-epochs",
    type=click.FloatRange(min=0, max=MAX_EPOCHS),
    default=0.0,
    show_default=True,
    help="Warm the learning rate up over this many epochs first (torchvision's reference).",
)
@click.option(
    "--warmup-method",
    type=click.Choice(("linear", "constant")),
    default="linear",
    show_default=True,
    help="linear: from lr × decay up to lr; constant: lr × decay (the paper's ResNet-110).",
)
@click.option(
    "--warmup-decay",
    type=click.FloatRange(min=0, max=1, min_open=True),
    default=0.01,
    show_default=True,
    help="The warm-up's starting fraction of --lr.",
)
@click.option("--no-augment", is_flag=True, help="No padding, cropping or flipping.")
@click.option(
    "--seed",
    type=click.IntRange(min=0, max=MAX_SEED),
    default=0,
    show_default=True,
    help="Seeds the weights, the data order and the augmentation.",
)
@click.option(
    "--image-size",
    type=click.IntRange(min=4, max=4096),
    help="Resize an ImageFolder's images to this square size [default: 32].",
)
@click.option("--download", is_flag=True, help="With --data cifar10: fetch it if not cached.")
@DEVICE_OPTION
@click.option("--channels-last", is_flag=True, help="NHWC memory format.")
@click.option("--amp", type=click.Choice(("bf16", "fp16")), help="Mixed precision (autocast).")
@click.option("--compile", "compile_model", is_flag=True, help="torch.compile each network.")
@click.option(
    "--deterministic",
    is_flag=True,
    help="torch's deterministic algorithms: a resumed run ends bit-exact.",
)
@click.option(
    "--threads", type=click.IntRange(min=1, max=MAX_THREADS), help="CPU threads for torch."
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=0, max=MAX_ITERS),
    default=0,
    show_default=True,
    help="Also checkpoint every N steps (0: at the end of each epoch only).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="What is printed at the end: the table or the run's JSON.",
)
def train(
    targets: tuple[str, ...],
    model_paths: tuple[str, ...],
    data_source: str,
    run_dir: str | None,
    resume_dir: str | None,
    epochs: int,
    batch_size: int,
    lr: float,
    momentum: float,
    weight_decay: float,
    milestones: str,
    gamma: float,
    warmup_epochs: float,
    warmup_method: str,
    warmup_decay: float,
    no_augment: bool,
    seed: int,
    image_size: int | None,
    download: bool,
    device: str,
    channels_last: bool,
    amp: str | None,
    compile_model: bool,
    deterministic: bool,
    threads: int | None,
    checkpoint_every: int,
    fmt: str,
) -> None:
    """Train several networks on the same data in the same order: the ResNet paper's
    degradation experiment (its Figure 4).

    The paper's CIFAR-10 recipe unless changed: SGD, momentum 0.9, weight decay 1e-4, batch
    128, lr 0.1 divided by 10 at 50% and 75% of the run, 4-pixel padding + random crop +
    horizontal flip. Each epoch is checkpointed; --resume RUN_DIR continues after any stop
    (kill -9 included) and ends where an uninterrupted run would have. RUN_DIR gets run.json,
    curves.csv, curves.svg/png (training error dashed, test error bold), figure7.svg/png (the
    responses of the trained networks) and each network's checkpoint.pt and weights.pt.
    Under `torchrun --nproc-per-node N` the same command trains with DistributedDataParallel.

    \b
    Exit codes as for every command; 3 when a network's loss stopped being finite.
    \b
      resnet-inspect train cifar_plain20 cifar_plain56 cifar_resnet20 cifar_resnet56 -o runs/digits
      resnet-inspect train --resume runs/digits
    """
    from resnet_inspect.experiments.training import Recipe, Target
    from resnet_inspect.experiments.training import train as run_training

    context = click.get_current_context()
    if resume_dir is not None:
        given = [
            name
            for name in _RECIPE_OPTIONS
            if context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        ]
        if targets or model_paths or given or run_dir:
            what = ", ".join(f"--{name.replace('_', '-')}" for name in given) or "networks"
            raise UsageError(
                f"--resume takes the networks, data and recipe from its run.json; leave out {what}"
            )
    else:
        if not targets and not model_paths:
            raise UsageError("give one or more specs or presets, or --model MODULE:FACTORY")
        if run_dir is None:
            raise UsageError("-o RUN_DIR: where the run keeps its checkpoints and curves")
    recipe = Recipe(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        milestones=_milestones(milestones),
        gamma=gamma,
        warmup_epochs=warmup_epochs,
        warmup_method=warmup_method,
        warmup_decay=warmup_decay,
        augment=not no_augment,
        seed=seed,
        device=device,
        channels_last=channels_last,
        amp=amp,
        compile=compile_model,
        deterministic=deterministic,
        checkpoint_every=checkpoint_every,
    )
    set_threads(threads)
    chosen = [Target(target=t) for t in targets] + [Target(model_path=m) for m in model_paths]
    directory = resume_dir or run_dir
    assert directory is not None
    try:
        with _Bar() as bar:
            run = run_training(
                chosen,
                data_source,
                directory,
                recipe,
                resume=resume_dir is not None,
                progress=bar,  # type: ignore[arg-type]
                image_size=image_size,
                download=download,
            )
    except KeyboardInterrupt:
        click.echo(f"note: continue with: resnet-inspect train --resume {directory}", err=True)
        raise
    from resnet_inspect.experiments.distributed import world_from_environment

    if not world_from_environment().is_main:
        return
    if fmt == "json":
        import json

        emit(json.dumps(run.to_dict(), indent=2, allow_nan=False) + "\n", None)
    else:
        from resnet_inspect.render.signal_table import render_training_table

        print_fitted(lambda width: render_training_table(run))
    if any(net.status.startswith("stopped") for net in run.networks):
        sys.exit(3)


class _Bar:
    """Training progress on standard error: a bar with images/s and time left on a terminal,
    a line per epoch otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.progress: Any = None
        self.task: Any = None
        self.name = ""
        self.count = 0
        self.index = 0
        self.started = time.monotonic()
        self.first_step = 0

    def __enter__(self) -> _Bar:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps · {task.fields[speed]} img/s · left"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=False,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def network(self, index: int, count: int, name: str, total: int, done: int) -> None:
        self.name, self.index, self.count = name, index, count
        if self.progress is not None:
            self.task = self.progress.add_task(
                f"{index + 1}/{count} {name}", total=total, completed=done, speed="-"
            )

    def step(self, done: int, images_per_s: float) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=done, speed=f"{images_per_s:,.0f}")

    def epoch(self, name: str, record: Any, epochs: int) -> None:
        test = f"{100 * record.test_error:.1f}%" if record.test_error is not None else "-"
        line = (
            f"{name} epoch {record.epoch}/{epochs}: training error "
            f"{100 * record.train_error:.1f}%, test error {test}, lr {record.lr:g}, "
            f"{record.images_per_s:,.0f} img/s"
        )
        if self.progress is not None:
            self.progress.console.print(line, highlight=False)
        else:
            click.echo(line, err=True)

    def note(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, highlight=False)
        else:
            click.echo(text, err=True)
