"""The networks an experiment runs: a spec, spec file or preset built with the builder's own
initialisation from a seed, or any nn.Module (a copy, so the caller's model is not changed, or
a `module:factory` path called under the seed)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from resnet_inspect.spec import Spec, load_checked

if TYPE_CHECKING:
    from torch import nn


@dataclass
class Network:
    """A real network and what an experiment says of it."""

    module: nn.Module
    name: str
    source: str  # the spec file, preset or Python path it came from
    input_shape: tuple[int, ...]  # [C, H, W] the spec takes (3x224x224 for a model)
    blocks: tuple[str, ...] = ()  # the planned blocks' module paths (a spec's), in order
    spec: Spec | None = None


def planned_blocks(spec: Spec) -> tuple[str, ...]:
    """The module paths of a spec's blocks, residual or plain, in order."""
    from resnet_inspect.plan.tree import Container, walk

    _, plan = load_checked(spec)
    return tuple(
        path
        for path, node, _ in walk(plan.root)
        if isinstance(node, Container) and node.kind == "block"
    )


def network(
    target: str | os.PathLike[str] | Spec | nn.Module,
    *,
    seed: int = 0,
    model_path: str | None = None,
    device: str | torch.device = "cpu",
) -> Network:
    """The Network of a spec, spec file, preset name or nn.Module (copied), or of
    `model_path` ("torchvision.models:resnet18", called with torch seeded by `seed`)."""
    from torch import nn

    if model_path is not None:
        from resnet_inspect.model.factory import load_factory

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = load_factory(model_path)
        return Network(module.to(device), model_path.rpartition(":")[2], model_path, (3, 224, 224))
    if isinstance(target, nn.Module):
        module = copy.deepcopy(target).to(device)
        return Network(module, type(target).__name__, type(target).__module__, (3, 224, 224))
    from resnet_inspect.model import build_model

    spec, _ = load_checked(target if isinstance(target, Spec) else os.fspath(target))
    module = build_model(spec, seed=seed, device=device)
    return Network(
        module,
        spec.name,
        spec.source or spec.name,
        tuple(spec.input),
        planned_blocks(spec),
        spec,
    )


__all__ = ["Network", "network", "planned_blocks"]
