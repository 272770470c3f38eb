"""Spec -> nn.Module with torchvision's state_dict names, seeded and deterministic."""

from __future__ import annotations

import os

import torch
from torch import nn

from resnet_inspect.blocks.forward import forward_network
from resnet_inspect.build.blocks import BLOCK_MODULES
from resnet_inspect.build.layers import make_layer
from resnet_inspect.errors import BuildError
from resnet_inspect.spec import NetworkPlan, Spec, load_checked


class ResNet(nn.Module):
    """Stem layers, then stages `layer1`, `layer2`, ..., then the head: a final BN-ReLU for
    pre-activation blocks, and the optional pool + `fc`."""

    def __init__(self, plan: NetworkPlan) -> None:
        super().__init__()
        self.stem_names = [layer.name for layer in plan.stem]
        for layer in plan.stem:
            self.add_module(layer.name, make_layer(layer))
        self.stage_names = []
        for stage in sorted({block.stage for block in plan.blocks}):
            blocks = [BLOCK_MODULES[block.type](block) for block in plan.stage_blocks(stage)]
            name = f"layer{stage + 1}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        self.head_names = [layer.name for layer in plan.head]
        self.flatten_before = {layer.name for layer in plan.head if layer.type == "linear"}
        for layer in plan.head:
            self.add_module(layer.name, make_layer(layer))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = forward_network(self, x)  # blocks/forward.py, shared with the plan
        return out


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
        model = ResNet(plan)
    if on_meta:
        return model
    model = model.to_empty(device=device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        init_weights(model)
    return model
