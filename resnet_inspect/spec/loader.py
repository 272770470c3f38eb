"""Find a spec by path or preset name, resolve `extends:`, validate and check it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path as FilePath
from typing import Any

from resnet_inspect.errors import Problem, SpecError
from resnet_inspect.plan.network import NetworkPlan
from resnet_inspect.spec.checks import check_spec
from resnet_inspect.spec.parser import Spec, did_you_mean, parse_spec
from resnet_inspect.spec.rules import check_rules
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
        if os.path.lexists(candidate):  # a dangling or looping link is read_text's to refuse
            return candidate, FilePath(candidate).stem
    preset = preset_path(target)
    if preset is not None:
        return str(preset), target
    if _looks_like_path(target):
        raise SpecError.for_file(target, "no such file")
    raise _unknown_target(target)


class _TooDeep(SpecError):
    """An extends: chain longer than MAX_EXTENDS_DEPTH: reported at the first file's line."""


@dataclass
class _Loaded:
    """A spec file and, when it has `extends:`, what it inherits: enough to tell which of the
    file's own keys makes an inherited part invalid."""

    raw: Any  # the merged values
    source: SourceMap
    default_name: str
    file: str
    own: dict[str, Any] = field(default_factory=dict)  # the file's own keys, extends: removed
    own_source: SourceMap | None = None
    parent: dict[str, Any] | None = None  # the merged parent, name and description removed
    parent_name: str = ""


def load_raw(
    target: str, base_dir: str | None = None, chain: tuple[str, ...] = ()
) -> tuple[Any, SourceMap, str]:
    """Plain values of a spec with its `extends:` chain merged in (the file's own keys win)."""
    loaded = _load(target, base_dir, chain)
    return loaded.raw, loaded.source, loaded.default_name


def _load(target: str, base_dir: str | None = None, chain: tuple[str, ...] = ()) -> _Loaded:
    file, default_name = _resolve_target(target, base_dir)
    raw, source = load_yaml(read_text(file), file)
    if not isinstance(raw, dict) or "extends" not in raw:
        return _Loaded(raw, source, default_name, file)
    parent = raw["extends"]
    here = source.problem(("extends",), "")
    if not isinstance(parent, str) or not parent:
        raise SpecError([source.problem(("extends",), "extends must name a preset or a file")])
    real = os.path.realpath(file)
    if real in chain:
        cycle = " -> ".join([*(FilePath(c).name for c in chain), FilePath(real).name])
        raise SpecError([source.problem(("extends",), f"extends cycle: {cycle}")])
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise _TooDeep(
            [
                source.problem(
                    ("extends",), f"extends chain is more than {MAX_EXTENDS_DEPTH} files deep"
                )
            ]
        )
    try:
        parent_file, _ = _resolve_target(parent, os.path.dirname(file))
    except SpecError:
        if _looks_like_path(parent):
            folder = os.path.dirname(os.path.abspath(file))
            raise SpecError(
                [source.problem(("extends",), f"no such file: {parent!r}", f"relative to {folder}")]
            ) from None
        raise _unknown_target(parent, where=here) from None
    try:
        parent_raw, parent_source, _ = load_raw(parent_file, None, (*chain, real))
    except _TooDeep as err:
        if chain:
            raise
        problem = err.problems[0]
        raise SpecError(
            [
                source.problem(
                    ("extends",),
                    problem.message,
                    f"the limit is reached at {problem.file}:{problem.line}:{problem.column}",
                )
            ]
        ) from None
    except SpecError as err:
        # A problem with the extended file as a whole (a directory, a FIFO, too large, not
        # UTF-8…) is reported at this file's extends: line.
        if all(problem.line is None for problem in err.problems):
            raise SpecError(
                [
                    replace(
                        problem,
                        file=here.file,
                        line=here.line,
                        column=here.column,
                        path="extends",
                        message=f"{parent!r}: {problem.message}",
                    )
                    for problem in err.problems
                ]
            ) from None
        raise
    if not isinstance(parent_raw, dict):
        raise SpecError([source.problem(("extends",), f"{parent!r} is not a spec mapping")])
    parent_raw = {k: v for k, v in parent_raw.items() if k not in ("name", "description")}
    own = {k: v for k, v in raw.items() if k != "extends"}
    own_source = SourceMap(file, dict(source.locations), dict(source.key_locations))
    merged = _merge(parent_raw, own, (), parent_source, source)
    merged_source = SourceMap(
        file, dict(parent_source.locations), dict(parent_source.key_locations)
    )
    merged_source.locations[()] = source.locations[()]
    return _Loaded(merged, merged_source, default_name, file, own, own_source, parent_raw, parent)


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


def load_checked(
    target: str | Spec, input_shape: tuple[int, int, int] | None = None
) -> tuple[Spec, NetworkPlan]:
    """A validated spec and its shape plan; SpecError lists every problem found. With
    `input_shape` the spec is planned for that input instead of its own (a map that vanishes
    is still reported at the stem layer's line)."""
    spec, plan, _ = load_with_warnings(target, rules=False, input_shape=input_shape)
    return spec, plan


def load_with_warnings(
    target: str | Spec, rules: bool = True, input_shape: tuple[int, int, int] | None = None
) -> tuple[Spec, NetworkPlan, list[Problem]]:
    """As load_checked, plus the design-rule warnings (spec/rules.py) when `rules` is set."""
    if isinstance(target, Spec):
        spec = target if input_shape is None else replace(target, input=input_shape)
        spec, plan, problems = _check(spec, SourceMap(target.source or target.name))
        return spec, plan, problems if rules else []
    loaded = _load(str(target))
    try:
        spec = parse_spec(loaded.raw, loaded.source, loaded.default_name)
        if input_shape is not None:
            spec = replace(spec, input=input_shape)
        spec, plan, problems = _check(_with_source(spec, str(target)), loaded.source, rules)
    except SpecError as err:
        raise SpecError(_blame_own_keys(err.problems, loaded)) from None
    return spec, plan, problems


def _check(
    spec: Spec, source: SourceMap, rules: bool = True
) -> tuple[Spec, NetworkPlan, list[Problem]]:
    plan, problems = check_spec(spec, source)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SpecError(errors)
    return spec, plan, check_rules(spec, plan, source) if rules else []


def _problem_count(raw: Any, name: str) -> int:
    """How many errors a document has (0: valid), wherever they are."""
    try:
        spec = parse_spec(raw, SourceMap(name), name)
        _check(spec, SourceMap(name), rules=False)
    except SpecError as err:
        return len(err.problems)
    return 0


def _blame_own_keys(problems: tuple[Problem, ...], loaded: _Loaded) -> list[Problem]:
    """Problems found in an extended file, reported at the line of this file that causes them.

    The extended spec is valid on its own (a preset, or a file that validates), so an error
    located there is caused by keys this file overrides. Each key is tried alone with the
    extended value restored; one whose removal clears the inherited errors is reported once, at
    its own line, with the inherited location as a note. Errors in this file stay as they are."""
    inherited = [p for p in problems if p.file != loaded.file]
    if not inherited or loaded.parent is None or loaded.own_source is None:
        return list(problems)
    if _problem_count(loaded.parent, loaded.parent_name) != 0:
        return list(problems)  # the extended file has errors of its own: show them as they are
    own = [p for p in problems if p.file == loaded.file]
    keys = [k for k in loaded.own if k not in ("name", "description")]
    blamed: list[Problem] = []
    total = len(problems)
    for key in keys:
        without = {k: v for k, v in loaded.own.items() if k != key}
        candidate = _merge_values(loaded.parent, without)
        if _problem_count(candidate, loaded.parent_name) < total:
            blamed.append(
                loaded.own_source.problem(
                    (key,),
                    f"this value makes the extended spec {loaded.parent_name!r} invalid",
                    _note(inherited),
                    at_key=True,
                )
            )
    if not blamed:
        blamed.append(
            loaded.own_source.problem(
                ("extends",),
                f"with this file's keys, the extended spec {loaded.parent_name!r} is invalid",
                _note(inherited),
            )
        )
    return sorted([*own, *blamed], key=lambda p: (p.line or 0, p.column or 0))


def _note(inherited: list[Problem]) -> str:
    """The first inherited problem, where it is, and how many more there are."""
    first = inherited[0]
    note = f"{_where(first)}: {first.path}: {first.message}"
    if first.hint:
        note += f"; {first.hint}"
    if len(inherited) > 1:
        note += f"; {len(inherited) - 1} more like it"
    return note


def _where(problem: Problem) -> str:
    """A location for a note: a preset by name, a file by its path."""
    path = FilePath(problem.file)
    shown = f"preset {path.stem}" if path.parent == PRESET_DIR else problem.file
    return f"{shown} line {problem.line}" if problem.line is not None else shown


def _merge_values(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """The values `_merge` makes, without source maps."""
    result = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(parent.get(key), dict):
            result[key] = _merge_values(parent[key], value)
        else:
            result[key] = value
    return result


def _with_source(spec: Spec, target: str) -> Spec:
    return replace(spec, source=target)


def load_spec(target: str | os.PathLike[str] | Spec) -> Spec:
    """Load a spec file or preset name, resolve `extends:`, and validate it completely."""
    return load_checked(target if isinstance(target, Spec) else os.fspath(target))[0]
