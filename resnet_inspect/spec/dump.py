"""Spec -> readable YAML, fully resolved (no `extends:`), that loads back to the same Spec."""

from __future__ import annotations

import json
from typing import Any

from resnet_inspect.spec.parser import BlockOverride, Spec, StemLayer, default_stem_name


def _flow(mapping: dict[str, Any]) -> str:
    parts = []
    for key, value in mapping.items():
        if isinstance(value, (list, tuple)):
            text = "[" + ", ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


def _stem_entry(layer: StemLayer, default_name: str, default_bias: bool) -> str:
    extra: dict[str, Any] = {}
    if layer.name != default_name:
        extra["name"] = layer.name
    if layer.type in ("bn", "relu"):
        return layer.type if not extra else _flow({layer.type: "null", **extra})
    if layer.type == "pad":
        return _flow({"pad": layer.padding, **extra})
    if layer.type == "conv":
        entry: dict[str, Any] = {
            "conv": layer.out_channels,
            "kernel": layer.kernel,
            "stride": layer.stride,
            "padding": layer.padding,
        }
        if layer.bias != default_bias:
            entry["bias"] = layer.bias
        return _flow({**entry, **extra})
    return _flow(
        {layer.type: layer.kernel, "stride": layer.stride, "padding": layer.padding, **extra}
    )


def _block_entry(override: BlockOverride) -> str:
    entry: dict[str, Any] = {}
    if override.filters is not None:
        entry["filters"] = list(override.filters)
    if override.shortcut is not None:
        entry["shortcut"] = override.shortcut
    return _flow(entry) if entry else "default"


def dump_spec(spec: Spec) -> str:
    lines = [f"# {spec.name}: {spec.description}" if spec.description else f"# {spec.name}"]
    lines.append(f"name: {json.dumps(spec.name)}")
    if spec.description:
        lines.append(f"description: {json.dumps(spec.description)}")
    lines.append(f"input: [{', '.join(str(v) for v in spec.input)}]")
    lines.append("stem:" if spec.stem else "stem: []")
    counts: dict[str, int] = {}
    for layer in spec.stem:
        counts[layer.type] = counts.get(layer.type, 0) + 1
        lines.append(f"  - {_stem_entry(layer, default_stem_name(layer.type, counts), spec.bias)}")
    lines.append(f"block: {spec.block}")
    lines.append(f"stride_on: {spec.stride_on}")
    lines.append(f"shortcut: {spec.shortcut}")
    lines.append(f"groups: {spec.groups}")
    lines.append(f"bias: {'true' if spec.bias else 'false'}")
    norm = {key: value for key, value in spec.norm.items() if key != "type"}
    lines.append(f"norm: {_flow(spec.norm) if norm else spec.norm['type']}")
    lines.append("stages:")
    for stage in spec.stages:
        entry: dict[str, Any] = {
            "filters": list(stage.filters),
            "blocks": stage.blocks,
            "stride": stage.stride,
        }
        if not stage.overrides:
            lines.append(f"  - {_flow(entry)}")
            continue
        lines.append(f"  - filters: [{', '.join(str(f) for f in stage.filters)}]")
        lines.append(f"    stride: {stage.stride}")
        lines.append("    blocks:")
        lines += [f"      - {_block_entry(override)}" for override in stage.overrides]
    if spec.head is None:
        lines.append("head: none")
    else:
        lines.append(f"head: {_flow({'pool': spec.head.pool, 'classes': spec.head.classes})}")
    for key, settings in spec.options.items():
        lines.append(f"{key}: {_flow(settings)}")
    return "\n".join(lines) + "\n"
