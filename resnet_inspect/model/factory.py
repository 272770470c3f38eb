"""A model the user's own code makes: `package.module:factory` -> the nn.Module that
factory() returns, for `--model` (summary, signal, train and the rest)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from resnet_inspect.errors import UsageError

if TYPE_CHECKING:
    from torch import nn


def load_factory(path: str) -> nn.Module:
    """`package.module:factory` -> the nn.Module that factory() returns (`factory` may also be
    a module object). Modules in the current directory are found, as with `python -m`.

    Anything the import or the factory raises, SystemExit and KeyboardInterrupt included, is a
    UsageError naming the path: the factory is the user's code, not ours."""
    import importlib

    from torch import nn

    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise UsageError(
            f"--model {path!r}: expected package.module:factory, e.g. torchvision.models:resnet50"
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UsageError(f"--model {path!r}: cannot import {module_name}: {err}") from None
    except BaseException as err:  # noqa: BLE001 - the user's module ran and failed
        raise UsageError(f"--model {path!r}: importing {module_name} {_failure(err)}") from None
    factory = getattr(module, attribute, None)
    if factory is None:
        raise UsageError(f"--model {path!r}: {module_name} has no {attribute!r}")
    try:
        model = factory() if callable(factory) and not isinstance(factory, nn.Module) else factory
    except BaseException as err:  # noqa: BLE001 - the user's factory ran and failed
        raise UsageError(f"--model {path!r}: {attribute}() {_failure(err)}") from None
    if not isinstance(model, nn.Module):
        raise UsageError(
            f"--model {path!r}: {attribute} gave a {type(model).__name__}, not a torch.nn.Module"
        )
    return model


def _failure(err: BaseException) -> str:
    if isinstance(err, SystemExit):
        return f"called sys.exit({err.code!r}) instead of returning a model"
    if isinstance(err, KeyboardInterrupt):
        return "was interrupted (KeyboardInterrupt)"
    first = str(err).splitlines()[0][:200] if str(err) else ""
    return f"failed: {type(err).__name__}" + (f": {first}" if first else "")


__all__ = ["load_factory"]
