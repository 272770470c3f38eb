"""Every private name of torch resnet-inspect uses, in one module. Each is checked by
tests/analyzers/trace/test_torch_internals.py, which fails loudly, naming the change, when a
torch release renames or removes it; pyproject.toml bounds torch to the releases the tests ran.

Why each is needed:
* TorchDispatchMode lives in torch.utils._python_dispatch; `_should_skip_dynamo` keeps torch
  from wrapping our mode's __torch_dispatch__ in dynamo's "disable" (importing torch._dynamo
  costs about 2 s and nothing here is compiled).
* A storage's `_cdata` is the only stable identity of a meta tensor's storage (their
  data_ptr() is 0 and untyped_storage() makes a new wrapper each call).
* DisableTorchFunction keeps the function mode out of the shape reads of a fast-path forward.
* A module's hook dicts and torch's global module hooks are set aside during the pass, so that
  the model's own hooks never run on meta tensors (they are put back in `finally`).
* F.multi_head_attention_forward calls scaled_dot_product_attention by its module-global
  name; a copy of it whose globals name our recorder sees that call, which a function mode
  cannot (it is popped while its handler runs) — without patching torch.nn.functional.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

# The hooks a module keeps, and torch's global module hooks: set aside during the pass.
MODULE_HOOKS = (
    "_forward_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_hooks_always_called",
    "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs",
    "_backward_hooks",
    "_backward_pre_hooks",
)
GLOBAL_HOOKS = (
    "_global_forward_hooks",
    "_global_forward_hooks_with_kwargs",
    "_global_forward_hooks_always_called",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)
ATTENTION_GLOBAL = "scaled_dot_product_attention"  # as F.multi_head_attention_forward calls it


class DispatchMode(TorchDispatchMode):
    """torch's TorchDispatchMode, never wrapped for dynamo."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


def storage_key(tensor: torch.Tensor) -> int:
    """The identity of a tensor's storage (views share it), meta tensors included."""
    return int(tensor.untyped_storage()._cdata)


def no_torch_function() -> contextlib.AbstractContextManager[Any]:
    """Torch functions called inside run without any function mode."""
    return torch._C.DisableTorchFunction()


@contextlib.contextmanager
def hooks_set_aside(modules: list[nn.Module]) -> Iterator[None]:
    """The modules' hooks and torch's global module hooks emptied in place for the block,
    and put back as they were."""
    from torch.nn.modules import module as module_globals

    saved = [
        (hooks, dict(hooks))
        for module in modules
        for hooks in (getattr(module, name, None) for name in MODULE_HOOKS)
        if hooks
    ]
    saved += [
        (hooks, dict(hooks))
        for hooks in (getattr(module_globals, name, None) for name in GLOBAL_HOOKS)
        if hooks
    ]
    try:
        for hooks, _ in saved:
            hooks.clear()
        yield
    finally:
        for hooks, kept in saved:
            hooks.clear()
            hooks.update(kept)


def calls_attention(func: Any) -> bool:
    """Whether `func` is a composite torch function that calls scaled_dot_product_attention
    by its global name (F.multi_head_attention_forward)."""
    return func is torch.nn.functional.multi_head_attention_forward


def with_attention(func: Callable[..., Any], attention: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of the Python function `func` in which the global scaled_dot_product_attention
    is `attention`; torch.nn.functional itself is untouched (the copy has its own globals)."""
    namespace = dict(func.__globals__)
    namespace[ATTENTION_GLOBAL] = attention
    copy = types.FunctionType(
        func.__code__, namespace, func.__name__, func.__defaults__, func.__closure__
    )
    copy.__kwdefaults__ = func.__kwdefaults__
    return copy


__all__ = [
    "ATTENTION_GLOBAL",
    "GLOBAL_HOOKS",
    "MODULE_HOOKS",
    "DispatchMode",
    "calls_attention",
    "hooks_set_aside",
    "no_torch_function",
    "storage_key",
    "with_attention",
]
