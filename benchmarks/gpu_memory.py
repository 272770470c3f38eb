"""Memory estimate vs torch.cuda.max_memory_allocated on a CUDA GPU (ResNet-50, batch 1/32/128).

For each batch size: the summary's inference estimate (weights + buffers + peak live
activations) against the peak of one forward pass under torch.inference_mode, and its training
estimate for SGD with momentum against the peak of a second training step (forward, backward,
optimizer step; the first step allocates the momentum buffers). cuDNN benchmarking is off so
algorithm search does not add workspace.

Run on a machine with a CUDA GPU: python benchmarks/gpu_memory.py [--dtype float32]
Prints a Markdown table for benchmarks/RESULTS.md. Target: every ratio within 0.85..1.15.
"""

from __future__ import annotations

import argparse

import torch

from resnet_inspect import build_model, summarize
from resnet_inspect.analyzers import torch_dtype
from resnet_inspect.report import DTYPES


def measure(batch: int, dtype: torch.dtype, train: bool) -> int:
    torch.cuda.empty_cache()
    model = build_model("resnet50", device="cuda").to(dtype)
    x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=dtype)
    if not train:
        model.eval()
        torch.cuda.reset_peak_memory_stats()
        with torch.inference_mode():
            model(x)
        return torch.cuda.max_memory_allocated()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(2):
        if step == 1:
            torch.cuda.reset_peak_memory_stats()
        optimizer.zero_grad(set_to_none=True)
        model(x).float().sum().backward()
        optimizer.step()
    return torch.cuda.max_memory_allocated()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=list(DTYPES), default="float32")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    torch.backends.cudnn.benchmark = False
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, {args.dtype}\n")
    print("| batch | mode | estimate (MiB) | max_memory_allocated (MiB) | estimate / measured |")
    print("|---:|---|---:|---:|---:|")
    for batch in (1, 32, 128):
        memory = summarize("resnet50", batch_size=batch, dtype=args.dtype).memory
        assert memory is not None  # a summary always has its memory section
        for mode, estimate in (
            ("inference", memory.inference_bytes),
            ("train (SGD momentum)", memory.training_bytes["sgd_momentum"]),
        ):
            measured = measure(batch, torch_dtype(args.dtype), mode != "inference")
            print(
                f"| {batch} | {mode} | {estimate / 2**20:,.1f} | {measured / 2**20:,.1f} | "
                f"{estimate / measured:.3f} |"
            )


if __name__ == "__main__":
    main()
