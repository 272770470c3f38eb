"""The experiments' speed, against the peer measured in the same run.

1. `train`'s images/s against a minimal hand-written loop (the same model, batch, optimizer
   and device; the loop indexes pre-normalised tensors and does no augmentation, keeps no
   checkpoints and evaluates nothing). Both train CIFAR ResNet-20 on 3x32x32 images, batch 128,
   SGD with momentum and weight decay, for a few epochs; the figure is the median over the
   epochs after the first of each (the first pays the warm-up and train's one measured memory
   step). train's images/s counts making each batch (its augmentation) and the step, not the
   per-epoch test pass. Target: train >= 0.95 of the hand loop.
2. `signal` for cifar_resnet56 (batch 64, 3x32x32) and resnet50 (batch 8, 3x224x224), against
   the same forward and backward with timm-style hooks written by hand on the same built model
   (no meta pass, no plain-block lookup). Target: seconds on 2 cores.
3. With --demo: the README's digits degradation demo end to end through the command line
   (plain-20, plain-56, ResNet-20, ResNet-56; 16 epochs at lr 0.02). Target: under 10 minutes
   on 2 cores. Prints the final training errors.

Run: python benchmarks/bench_train.py [--epochs N] [--demo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from torch import nn

import resnet_inspect as ri
from resnet_inspect.experiments import datasets
from resnet_inspect.experiments.training import Recipe, train


def hand_loop(dataset: datasets.Dataset, epochs: int, batch: int) -> list[float]:
    """The minimal loop: images/s of each epoch."""
    model = ri.build_model("cifar_resnet20", seed=0).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    images = dataset.normalise(dataset.train_images)
    labels = dataset.train_labels
    speeds = []
    for epoch in range(epochs):
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(epoch))
        start = time.perf_counter()
        for first in range(0, len(order), batch):
            index = order[first : first + batch]
            loss = nn.functional.cross_entropy(model(images[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        speeds.append(len(labels) / (time.perf_counter() - start))
    return speeds


def ours(dataset: datasets.Dataset, epochs: int, batch: int) -> list[float]:
    run = train(["cifar_resnet20"], dataset, None, Recipe(epochs=epochs, batch_size=batch))
    return [record.images_per_s for record in run.networks[0].epochs]


def bench_train(epochs: int) -> None:
    dataset = datasets.synthetic((3, 32, 32), seed=0, train=1024, test=64)
    hand, mine = [], []
    for _ in range(2):  # alternate, so a change in the machine's load hits both
        hand += hand_loop(dataset, epochs, 128)[1:]
        mine += ours(dataset, epochs, 128)[1:]
    h, m = statistics.median(hand), statistics.median(mine)
    print(
        f"1. train vs a hand loop, CIFAR ResNet-20, batch 128, {torch.get_num_threads()} threads: "
        f"{m:,.0f} vs {h:,.0f} images/s -> {m / h:.3f} of the hand loop (target >= 0.95)"
    )


def by_hand_signal(name: str, shape: tuple[int, ...], batch: int) -> float:
    start = time.perf_counter()
    model = ri.build_model(name, seed=0).train()
    stats = []

    def hook(_module, _inputs, output):
        stats.append((output.mean(dim=(0, 2, 3)) ** 2).mean().item())
        stats.append(output.var(dim=(0, 2, 3)).mean().item())

    for module_name, module in model.named_modules():
        if module_name.count(".") == 1 and module_name.startswith("layer"):
            module.register_forward_hook(hook)
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))
    output = model(x)
    labels = torch.randint(0, output.shape[1], (batch,))
    nn.functional.cross_entropy(output, labels).backward()
    [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return time.perf_counter() - start


def bench_signal() -> None:
    from resnet_inspect.experiments.signal import signal

    for name, shape, batch in (("cifar_resnet56", (3, 32, 32), 64), ("resnet50", (3, 224, 224), 8)):
        signal(name, batch_size=2, input_shape=shape)  # imports and first-call costs
        start = time.perf_counter()
        signal(name, batch_size=batch, input_shape=shape)
        seconds = time.perf_counter() - start
        hand = by_hand_signal(name, shape, batch)
        print(
            f"2. signal {name} batch {batch}: {seconds:.2f} s; by hand (hooks, forward, "
            f"backward) {hand:.2f} s -> {seconds / hand:.2f}x"
        )


def bench_demo() -> None:
    nets = ["cifar_plain20", "cifar_plain56", "cifar_resnet20", "cifar_resnet56"]
    with tempfile.TemporaryDirectory() as directory:
        run_dir = os.path.join(directory, "digits")
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "resnet_inspect",
                "train",
                *nets,
                "--data",
                "digits",
                "--lr",
                "0.02",
                "--epochs",
                "16",
                "-o",
                run_dir,
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        minutes = (time.perf_counter() - start) / 60
    import json

    run = json.loads(done.stdout)
    ends = ", ".join(
        f"{net['name']} {100 * net['epochs'][-1]['train_error']:.1f}%" for net in run["networks"]
    )
    print(f"3. digits demo: {minutes:.1f} min (target < 10); final training error: {ends}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--demo", action="store_true", help="also run the digits demo (minutes)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    bench_train(args.epochs)
    bench_signal()
    if args.demo:
        bench_demo()


if __name__ == "__main__":
    main()
