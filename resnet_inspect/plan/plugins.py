"""Blocks and layer kinds from other packages: what a spec may name besides ours.

A Block, BlockOption or LayerKind subclass registers itself when its module is imported. A
spec names a block type by its registered name (`block: gated`) or by its import path
(`block: mypkg.blocks:GatedBlock`); an installed package may also offer one through an entry
point of the group `resnet_inspect.blocks` (or `resnet_inspect.layer_kinds` for layer kinds),
loaded when a spec names it.

A spec is data, sometimes downloaded: loading one never imports a module because the file
names it. An import path is used only once its module has been imported by the user (the
command line's `--import MODULE`, or `import mypkg.blocks` in Python); installed entry points
are trusted as installed packages are.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from resnet_inspect.plan.blocks import BLOCKS, Block
from resnet_inspect.plan.layer_kinds import LAYER_KINDS

ENTRY_POINTS = {"block": "resnet_inspect.blocks", "layer kind": "resnet_inspect.layer_kinds"}


def find_block(word: str) -> tuple[type[Block] | None, str]:
    """(block type, "") for a spec's `block:` word, or (None, why not) for one it cannot use.
    An import path is read from the imported module each time (never cached: a module can be
    imported again)."""
    if ":" in word:
        found, problem = _from_path(word)
        if found is None:
            return None, problem
        if not (isinstance(found, type) and issubclass(found, Block)):
            return None, f"{word} is not a block type (a subclass of resnet_inspect.Block)"
        return found, ""
    if word in BLOCKS:
        return BLOCKS[word], ""
    loaded = _load_entry_point("block", word)
    if isinstance(loaded, type) and issubclass(loaded, Block):
        BLOCKS.setdefault(word, loaded)  # the entry point's name, beside the class's own
    return (BLOCKS[word], "") if word in BLOCKS else (None, "")


def block_type(word: str) -> type[Block]:
    """The block type of a validated spec's `block:` word."""
    found, problem = find_block(word)
    if found is None:
        raise KeyError(problem or f"no block type {word!r}")
    return found


def find_layer_kind(word: str) -> bool:
    """Whether a layer kind of this name is registered, after the entry points of that name."""
    if word not in LAYER_KINDS:
        _load_entry_point("layer kind", word)
    return word in LAYER_KINDS


def _from_path(word: str) -> tuple[Any, str]:
    module_name, _, attribute = word.partition(":")
    module = sys.modules.get(module_name)
    if module is None:
        return None, (
            f"{word} names Python code, and resnet-inspect never imports code because a file "
            f"says so: import {module_name} first (--import {module_name} on the command line; "
            f"`import {module_name}` in Python)"
        )
    found: Any = module
    for part in attribute.split("."):
        found = getattr(found, part, None)
    if found is None:
        return None, f"{module_name} has no {attribute!r}"
    return found, ""


def _load_entry_point(what: str, name: str) -> Any:
    """What the installed entry point `name` of the group for `what` names (its module is
    imported), or None where there is none."""
    entry = _entry_points(ENTRY_POINTS[what]).get(name)
    return None if entry is None else entry.load()


@functools.cache
def _entry_points(group: str) -> dict[str, Any]:
    """The installed entry points of a group by name, read once (a scan of every package)."""
    from importlib import metadata

    return {entry.name: entry for entry in metadata.entry_points(group=group)}


def import_modules(names: list[str] | tuple[str, ...]) -> None:
    """Import the modules the user named (`--import`), the current directory on the path as
    `python -m` has it, so that their blocks and layer kinds register. ImportError and
    anything the module raises propagate to the caller."""
    import importlib
    import os

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in names:
        importlib.import_module(name)


__all__ = ["ENTRY_POINTS", "block_type", "find_block", "find_layer_kind", "import_modules"]
