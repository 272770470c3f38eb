"""Every private name of torch that analyzers/trace/torch_internals.py uses, checked on the
installed torch: when a release renames or removes one, the test says which, before a trace
goes wrong silently."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from resnet_inspect.analyzers.trace import torch_internals


@pytest.mark.subprocess
def test_the_dispatch_mode_declines_dynamo():
    from torch.utils._python_dispatch import TorchDispatchMode

    assert issubclass(torch_internals.DispatchMode, TorchDispatchMode)
    assert hasattr(TorchDispatchMode, "_should_skip_dynamo"), "torch dropped _should_skip_dynamo"
    # a whole trace does not import torch._dynamo (2 s) behind our back
    code = (
        "import sys, resnet_inspect as ri\n"
        "ri.summarize('resnet18', from_model=True)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_storage_keys_tell_storages_apart_on_meta():
    a = torch.empty(4, 4, device="meta")
    b = torch.empty(4, 4, device="meta")
    assert hasattr(a.untyped_storage(), "_cdata"), "torch dropped UntypedStorage._cdata"
    assert a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr() == 0  # why _cdata
    keep = [a, b, a.view(16), a.t()]
    keys = [torch_internals.storage_key(t) for t in keep]
    assert keys[0] != keys[1] and keys[0] == keys[2] == keys[3]


def test_no_torch_function_keeps_function_modes_out():
    seen = []

    class Spy(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append(func)
            return func(*args, **(kwargs or {}))

    x = torch.ones(2)
    with Spy():
        with torch_internals.no_torch_function():
            torch.add(x, x)
        assert not seen
        torch.add(x, x)
    assert seen


def test_the_hook_dicts_are_where_hooks_go():
    from torch.nn.modules import module as module_globals

    layer = nn.Linear(2, 2)
    for name in torch_internals.MODULE_HOOKS:
        assert isinstance(getattr(layer, name), dict), f"nn.Module has no dict {name}"
    for name in torch_internals.GLOBAL_HOOKS:
        assert isinstance(getattr(module_globals, name), dict), f"no global {name}"
    handle = layer.register_forward_hook(lambda *args: None)
    pre = nn.modules.module.register_module_forward_pre_hook(lambda *args: None)
    try:
        assert layer._forward_hooks and module_globals._global_forward_pre_hooks
        with torch_internals.hooks_set_aside([layer]):
            assert not layer._forward_hooks and not module_globals._global_forward_pre_hooks
        assert layer._forward_hooks and module_globals._global_forward_pre_hooks
    finally:
        handle.remove()
        pre.remove()


def test_multi_head_attention_calls_attention_by_its_global_name():
    function = F.multi_head_attention_forward
    assert torch_internals.calls_attention(function)
    assert torch_internals.ATTENTION_GLOBAL in function.__code__.co_names, (
        "F.multi_head_attention_forward no longer calls scaled_dot_product_attention by name"
    )
    assert function.__globals__[torch_internals.ATTENTION_GLOBAL] is F.scaled_dot_product_attention
    calls = []
    copy = torch_internals.with_attention(
        function, lambda *a, **k: calls.append(1) or F.scaled_dot_product_attention(*a, **k)
    )
    attention = nn.MultiheadAttention(8, 2, batch_first=True)
    x = torch.randn(1, 3, 8)
    out = copy(
        x.transpose(0, 1),
        x.transpose(0, 1),
        x.transpose(0, 1),
        8,
        2,
        attention.in_proj_weight,
        attention.in_proj_bias,
        None,
        None,
        False,
        0.0,
        attention.out_proj.weight,
        attention.out_proj.bias,
        need_weights=False,
    )
    assert calls == [1] and out[0].shape == (3, 1, 8)
    assert F.multi_head_attention_forward is function  # torch.nn.functional untouched
