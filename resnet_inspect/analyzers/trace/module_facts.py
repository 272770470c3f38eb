"""What the analyzers need of every module of any nn.Module, in one walk of its tree: its
class, parameters below it (a weight shared by two children counts once), its own parameters,
the kernel, stride and groups of a leaf, its parent, and what resnet-inspect's own modules
declare (a shortcut branch's kind, a block option's child module)."""

from __future__ import annotations

import torch
from torch import nn

from resnet_inspect.analyzers.records import ModuleInfo, pair
from resnet_inspect.plan.blocks import BlockOption
from resnet_inspect.plan.tree import ShortcutModule

_CONVOLUTIONS = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)


def module_infos(model: nn.Module) -> dict[str, ModuleInfo]:
    """Every module of `model`, the model itself ("") first, in named_modules() order."""
    parents: dict[str, str | None] = {"": None}
    named: dict[str, nn.Module] = {}
    seen: set[int] = set()
    stack: list[tuple[str, nn.Module]] = [("", model)]
    while stack:  # pre-order, each module once (its first path), as named_modules() walks
        path, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        named[path] = module
        children = [
            (f"{path}.{name}" if path else name, child) for name, child in module.named_children()
        ]
        for child_path, _ in children:
            parents.setdefault(child_path, path)
        stack.extend(reversed(children))
    below: dict[str, dict[int, nn.Parameter]] = {path: {} for path in named}
    for path, module in named.items():
        own = list(module.parameters(recurse=False))
        current: str | None = path
        while current is not None and own:
            found = below.get(current)
            if found is not None:
                for parameter in own:
                    found[id(parameter)] = parameter
            current = parents.get(current)
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    infos = {}
    for path, module in named.items():
        is_leaf = next(module.children(), None) is None
        parameters = below[path].values()
        weight = getattr(module, "weight", None)
        infos[path] = ModuleInfo(
            name=path,
            type=type(module).__name__,
            is_leaf=is_leaf,
            params=sum(p.numel() for p in parameters),
            trainable_params=sum(p.numel() for p in parameters if p.requires_grad),
            own_params=sum(p.numel() for p in module.parameters(recurse=False)),
            buffers=buffers if not path else 0,
            kernel=pair(getattr(module, "kernel_size", None)) if is_leaf else None,
            stride=pair(getattr(module, "stride", None)) if is_leaf else None,
            groups=getattr(module, "groups", None) if is_leaf else None,
            conv_weights=weight.numel()
            if isinstance(module, _CONVOLUTIONS) and isinstance(weight, torch.Tensor)
            else 0,
            is_conv2d=isinstance(module, nn.Conv2d),
            shortcut=module.shortcut_kind if isinstance(module, ShortcutModule) else None,
            option=isinstance(module, BlockOption),
            parent=parents[path] if path else None,
        )
    return infos


__all__ = ["module_infos"]
