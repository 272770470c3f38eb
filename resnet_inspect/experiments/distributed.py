"""Training past one process: under `torchrun --nproc-per-node N` (RANK, WORLD_SIZE and
LOCAL_RANK set), gloo on CPU and NCCL on CUDA, each rank takes its slice of every global batch
and DistributedDataParallel averages the gradients.

Batch norm must see the global batch for the result to be the single process's: on CUDA
torch's SyncBatchNorm does it; torch has no CPU kernel for it, so on CPU each BatchNorm2d
becomes SyncedBatchNorm2d here, which all-reduces the per-channel sums (differentiably: the
backward all-reduces the gradients of the statistics). State_dict names are unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from resnet_inspect.errors import UsageError


@dataclass(frozen=True)
class World:
    """This process's place: rank and world size (1 without torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def slice(self, count: int) -> slice:
        """This rank's contiguous share of a global batch of `count`."""
        return slice(self.rank * count // self.size, (self.rank + 1) * count // self.size)


def world_from_environment() -> World:
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise UsageError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (torchrun sets them)"
        ) from None
    return World(rank, size, local)


def start(world: World, device: torch.device) -> None:
    """Join the process group (gloo on CPU, NCCL on CUDA); nothing without torchrun."""
    if not world.distributed or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)


def stop() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class _AllReduceSum(torch.autograd.Function):
    """Sum over the ranks; its gradient is the sum of the ranks' gradients."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        out = grad.clone()
        dist.all_reduce(out)
        return out


class SyncedBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch, on any device."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized()):
            return super().forward(x)
        reduced = [0, 2, 3]
        count = _AllReduceSum.apply(torch.tensor([x.numel() / x.shape[1]], device=x.device))
        mean = _AllReduceSum.apply(x.sum(dim=reduced)) / count
        centred = x - mean.view(1, -1, 1, 1)
        variance = _AllReduceSum.apply(centred.pow(2).sum(dim=reduced)) / count
        out = centred * torch.rsqrt(variance + self.eps).view(1, -1, 1, 1)
        if self.affine:
            out = out * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)
        if self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                n = float(count.item())
                momentum = 0.1 if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - momentum).add_(mean.detach(), alpha=momentum)
                unbiased = variance.detach() * (n / max(n - 1, 1))
                self.running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
                if self.num_batches_tracked is not None:
                    self.num_batches_tracked.add_(1)
        return out


def sync_batch_norm(model: nn.Module, device: torch.device) -> nn.Module:
    """The model with batch norms that see the global batch (torch's SyncBatchNorm on CUDA,
    SyncedBatchNorm2d elsewhere), parameters and buffers kept."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in list(model.named_children()):
        if type(child) is nn.BatchNorm2d:
            synced = SyncedBatchNorm2d(
                child.num_features,
                child.eps,
                child.momentum,
                child.affine,
                child.track_running_stats,
            )
            synced.load_state_dict(child.state_dict())
            setattr(model, name, synced.to(next(child.buffers(), torch.empty(0)).device))
        else:
            sync_batch_norm(child, device)
    return model


def all_sum(values: list[float], device: torch.device) -> list[float]:
    """The sums over the ranks (the values themselves in one process)."""
    if not dist.is_initialized():
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


__all__ = [
    "SyncedBatchNorm2d",
    "World",
    "all_sum",
    "barrier",
    "start",
    "stop",
    "sync_batch_norm",
    "world_from_environment",
]
