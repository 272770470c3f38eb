"""resnet-inspect's latency against a hand-written CUDA-events loop, in the same script.

ResNet-50, bfloat16, channels-last, batch 1, 32 and 256, eager: the CLI
`resnet-inspect latency resnet50 --device cuda --batch-size 1,32,256 --dtype bfloat16
--channels-last --format json` and, right after it, a plain loop timing the same model with CUDA
events. Prints a Markdown table for benchmarks/RESULTS.md. Target: medians within 5%.

Run on a machine with a CUDA GPU: python benchmarks/gpu_latency.py [--compile]
(--compile adds torch.compile max-autotune-no-cudagraphs rows; compiling takes minutes.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import torch

from resnet_inspect import build_model

BATCHES = (1, 32, 256)


def hand_loop(batch: int, compile_mode: str | None, warmup: int = 10, iters: int = 50) -> float:
    model = build_model("resnet50", device="cuda").to(torch.bfloat16).eval()
    model = model.to(memory_format=torch.channels_last)
    if compile_mode:
        model = torch.compile(model, mode=compile_mode)
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.bfloat16)
    x = x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        torch.cuda.synchronize()
        for _ in range(iters):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return statistics.median(times)


def ours(compile_mode: str | None) -> dict[int, dict]:
    command = [
        sys.executable,
        "-m",
        "resnet_inspect",
        "latency",
        "resnet50",
        "--device",
        "cuda",
        "--batch-size",
        ",".join(map(str, BATCHES)),
        "--dtype",
        "bfloat16",
        "--channels-last",
        "--format",
        "json",
    ]
    if compile_mode:
        command += ["--compile", compile_mode]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {row["batch_size"]: row for row in json.loads(out)["latency"]["rows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}\n")
    print(
        "| mode | batch | resnet-inspect median ms | hand loop median ms | ratio | images/s |"
        " TFLOP/s | of peak |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for mode in [None, "max-autotune-no-cudagraphs"] if args.compile else [None]:
        rows = ours(mode)
        for batch in BATCHES:
            row = rows[batch]
            if row.get("error"):
                print(f"| {mode or 'eager'} | {batch} | {row['error']} | | | | | |")
                continue
            hand = hand_loop(batch, mode)
            fraction = f"{row['peak_fraction']:.1%}" if row["peak_fraction"] else "-"
            print(
                f"| {mode or 'eager'} | {batch} | {row['median_ms']:.3f} | {hand:.3f} | "
                f"{row['median_ms'] / hand:.3f} | {row['images_per_s']:,.0f} | "
                f"{row['tflops']:.1f} | {fraction} |"
            )


if __name__ == "__main__":
    main()
