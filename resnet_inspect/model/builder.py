"""Spec -> nn.Module with torchvision's state_dict names, seeded and deterministic.

A walker over the plan tree: a Layer becomes its layer kind's module (plan/layer_kinds/), a
container its recipe's nn.Module class (ResNet, Bottleneck, SqueezeExcitation, Projection:
plan/) made of its children, a stage an nn.Sequential. ReLUs are separate modules (relu1,
relu2, ...) instead of torchvision's one shared `relu`, so every per-layer row has its own
shape; ReLU has no state, so state_dicts are unaffected.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from resnet_inspect.errors import BuildError
from resnet_inspect.plan.layer_kinds import LAYER_KINDS
from resnet_inspect.plan.network import NetworkPlan
from resnet_inspect.plan.tree import Layer, Node
from resnet_inspect.spec import Spec, load_checked


def build_module(node: Node) -> nn.Module:
    """The nn.Module of a plan node and everything below it."""
    if isinstance(node, Layer):
        return LAYER_KINDS[node.kind].make_module(node)
    children = {child.name: build_module(child) for child in node.children}
    if node.recipe is None:  # a stage
        return nn.Sequential(*children.values())
    module: nn.Module = node.recipe.Module(node, children)
    return module


def init_weights(model: nn.Module) -> None:
    """torchvision's initialisation: He (fan_out) for convs, BN weight 1 and bias 0 with fresh
    running statistics, PyTorch's default for the fully connected layer."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif callable(reset := getattr(module, "reset_parameters", None)):
            reset()  # BN: weight 1, bias 0, running mean 0 / var 1; Linear


def param_count(plan: NetworkPlan) -> int:
    """Parameters and buffers of the planned layers (what the weights' memory is made of)."""
    return sum(layer.params + layer.buffers for layer in plan.layers)


def _memory_limit_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def build_model(
    target: str | os.PathLike[str] | Spec,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    force: bool = False,
) -> nn.Module:
    """Build the network a spec, spec file or preset name describes.

    Weights are initialised as torchvision does, from `seed`, without touching the global RNG.
    On the "meta" device no memory is allocated (used by the analyzers). On a real device a model
    whose float32 weights would take more than half of this machine's memory is refused unless
    `force=True`.
    """
    spec, plan = load_checked(target if isinstance(target, Spec) else os.fspath(target))
    on_meta = torch.device(device).type == "meta"
    weight_bytes = 4 * param_count(plan)
    limit = _memory_limit_bytes()
    if not on_meta and not force and weight_bytes > limit:
        raise BuildError(
            f"{spec.name}: weights would need {weight_bytes / 2**30:,.1f} GiB "
            f"(limit {limit / 2**30:,.1f} GiB, half of this machine's memory); "
            "analyse it without building (summary works on any size) or force it "
            "(--force, force=True)"
        )
    # Built on the meta device (no memory, no default init), then given storage and initialised
    # once, from `seed`, in a forked random state.
    with torch.device("meta"):
        model = build_module(plan.root)
    if on_meta:
        return model
    model = model.to_empty(device=device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        init_weights(model)
    return model
