"""The JSON schema of a report, generated from the Report's dataclasses (no torch).

docs/report.schema.json is this function's output (`python -m resnet_inspect.report_schema` writes
it; a test keeps the file current and checks real reports against it). Sections that are still
plain mappings (flops, memory, check, latency, graph) are described as objects.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from typing import Any

from resnet_inspect.report import REPORT_VERSION, Comparison, Report

_SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _schema_of(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if hint is Any:
        return {}
    if hint is type(None):
        return {"type": "null"}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema_of(arg) for arg in typing.get_args(hint)]}
    if origin in (list, tuple):
        args = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return {"type": "array", "items": _schema_of(args[0]) if args else {}}
    if origin is dict:
        _, value = typing.get_args(hint)
        return {"type": "object", "additionalProperties": _schema_of(value)}
    if dataclasses.is_dataclass(hint):
        return _object(hint)  # type: ignore[arg-type]
    raise TypeError(f"no JSON schema for {hint!r}")


def _object(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = [field for field in dataclasses.fields(cls) if field.init]
    return {
        "type": "object",
        "title": cls.__name__,
        "description": " ".join((cls.__doc__ or "").split()),
        "properties": {field.name: _schema_of(hints[field.name]) for field in fields},
        "required": [field.name for field in fields],
        "additionalProperties": False,
    }


def report_schema() -> dict[str, Any]:
    """The JSON schema of `summary --format json` (and of `compare --format json`'s items)."""
    schema = _object(Report)
    schema["properties"]["report_version"] = {"const": REPORT_VERSION}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"resnet-inspect/report/v{REPORT_VERSION}",
        **schema,
        "$defs": {"Comparison": _object(Comparison)},
    }


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "docs/report.schema.json"
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(report_schema(), indent=2) + "\n")


if __name__ == "__main__":
    main()
