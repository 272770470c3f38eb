"""Find a spec by path or preset name, resolve `extends:`, validate and check it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path as FilePath
from typing import Any

from resnet_inspect.errors import Problem, SpecError
from resnet_inspect.spec.checks import check_spec
from resnet_inspect.spec.plan import NetworkPlan
from resnet_inspect.spec.rules import check_rules
from resnet_inspect.spec.schema import Spec, did_you_mean, parse_spec
from resnet_inspect.spec.source import Path, SourceMap, load_yaml, read_text

PRESET_DIR = FilePath(__file__).parent / "presets"
MAX_EXTENDS_DEPTH = 16


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> FilePath | None:
    path = PRESET_DIR / f"{name}.yaml"
    return path if name in preset_names() else None


def _unknown_target(target: str, file: str = "", where: Problem | None = None) -> SpecError:
    names = preset_names()
    hint = did_you_mean(target, names) or "run `resnet-inspect presets` to list them"
    message = f"no such file or preset: {target!r}"
    if where is not None:
        return SpecError([Problem(where.file, where.line, where.column, where.path, message, hint)])
    return SpecError([Problem(file or target, None, None, "", message, hint)])


def _looks_like_path(target: str) -> bool:
    return target.endswith((".yaml", ".yml")) or os.sep in target or "/" in target


def _resolve_target(target: str, base_dir: str | None) -> tuple[str, str]:
    """(file path, default name) for a path or preset name; raise if neither exists."""
    candidates = []
    if base_dir is not None and not os.path.isabs(target):
        candidates.append(os.path.join(base_dir, target))
    candidates.append(target)
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate, FilePath(candidate).stem
    preset = preset_path(target)
    if preset is not None:
        return str(preset), target
    if _looks_like_path(target):
        raise SpecError.for_file(target, "no such file")
    raise _unknown_target(target)


def load_raw(
    target: str, base_dir: str | None = None, chain: tuple[str, ...] = ()
) -> tuple[Any, SourceMap, str]:
    """Plain values of a spec with its `extends:` chain merged in (the file's own keys win)."""
    file, default_name = _resolve_target(target, base_dir)
    raw, source = load_yaml(read_text(file), file)
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw, source, default_name
    parent = raw["extends"]
    here = source.problem(("extends",), "")
    if not isinstance(parent, str) or not parent:
        raise SpecError([source.problem(("extends",), "extends must name a preset or a file")])
    real = os.path.realpath(file)
    if real in chain or len(chain) >= MAX_EXTENDS_DEPTH:
        cycle = " -> ".join([*(FilePath(c).name for c in chain), FilePath(real).name])
        raise SpecError([source.problem(("extends",), f"extends cycle: {cycle}")])
    try:
        parent_file, _ = _resolve_target(parent, os.path.dirname(file))
    except SpecError:
        if _looks_like_path(parent):
            folder = os.path.dirname(os.path.abspath(file))
            raise SpecError(
                [source.problem(("extends",), f"no such file: {parent!r}", f"relative to {folder}")]
            ) from None
        raise _unknown_target(parent, where=here) from None
    parent_raw, parent_source, _ = load_raw(parent_file, None, (*chain, real))
    if not isinstance(parent_raw, dict):
        raise SpecError([source.problem(("extends",), f"{parent!r} is not a spec mapping")])
    parent_raw = {k: v for k, v in parent_raw.items() if k not in ("name", "description")}
    merged = _merge(
        parent_raw, {k: v for k, v in raw.items() if k != "extends"}, (), parent_source, source
    )
    merged_source = SourceMap(
        file, dict(parent_source.locations), dict(parent_source.key_locations)
    )
    merged_source.locations[()] = source.locations[()]
    return merged, merged_source, default_name


def _merge(
    parent: dict[str, Any],
    child: dict[str, Any],
    path: Path,
    parent_source: SourceMap,
    child_source: SourceMap,
) -> dict[str, Any]:
    """Child keys override parent keys; mappings merge key by key; lists are replaced whole.

    `parent_source` is updated in place so every path points at the file that wrote it.
    """
    result = dict(parent)
    for key, value in child.items():
        key_path = (*path, key)
        if isinstance(value, dict) and isinstance(parent.get(key), dict):
            result[key] = _merge(parent[key], value, key_path, parent_source, child_source)
        else:
            for table in (parent_source.locations, parent_source.key_locations):
                for old in [p for p in table if p[: len(key_path)] == key_path]:
                    del table[old]
            result[key] = value
        for table, child_table in (
            (parent_source.locations, child_source.locations),
            (parent_source.key_locations, child_source.key_locations),
        ):
            for new, location in child_table.items():
                if new[: len(key_path)] == key_path:
                    table[new] = location
    return result


def load_checked(target: str | Spec) -> tuple[Spec, NetworkPlan]:
    """A validated spec and its shape plan; SpecError lists every problem found."""
    spec, plan, _ = load_with_warnings(target, rules=False)
    return spec, plan


def load_with_warnings(
    target: str | Spec, rules: bool = True
) -> tuple[Spec, NetworkPlan, list[Problem]]:
    """As load_checked, plus the design-rule warnings (spec/rules.py) when `rules` is set."""
    if isinstance(target, Spec):
        spec, source = target, SourceMap(target.source or target.name)
    else:
        raw, source, default_name = load_raw(str(target))
        spec = parse_spec(raw, source, default_name)
        spec = _with_source(spec, str(target))
    plan, problems = check_spec(spec, source)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SpecError(errors)
    return spec, plan, check_rules(spec, plan, source) if rules else []


def _with_source(spec: Spec, target: str) -> Spec:
    return replace(spec, source=target)


def load_spec(target: str | os.PathLike[str] | Spec) -> Spec:
    """Load a spec file or preset name, resolve `extends:`, and validate it completely."""
    return load_checked(target if isinstance(target, Spec) else os.fspath(target))[0]
