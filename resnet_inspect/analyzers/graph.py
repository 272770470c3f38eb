"""The data-flow graph of one forward pass, for diagrams: a node per operation (each call of a
leaf module, each functional op such as the residual add), an edge per activation that flows
from one to another, with its shape. Edges that belong to a shortcut are marked: the second
operand of a residual add, and everything inside a `downsample` branch."""

from __future__ import annotations

from typing import Any

from torch import nn

from resnet_inspect.analyzers.flops import op_macs
from resnet_inspect.analyzers.trace import Trace

_ADDS = {"aten::add", "aten::add_"}


def _shortcut_kind(node: dict[str, Any]) -> str:
    if node["type"] == "ZeroPadShortcut":
        return "zero-pad"
    if ".downsample" in f".{node['module']}" or node["module"].startswith("downsample"):
        return "projection 1×1"
    return "identity"


def build_graph(trace: Trace) -> dict[str, Any]:
    """{"nodes": [...], "edges": [...]} of JSON-native values (see the README's report schema)."""
    nodes: list[dict[str, Any]] = [
        {
            "id": 0,
            "kind": "input",
            "module": "",
            "type": "input",
            "output_shape": list(trace.input.shape[1:]),
        }
    ]
    edges: list[dict[str, Any]] = []
    writer: dict[int, int] = {trace.input.key: 0}  # storage -> node that last wrote it
    seen_params: set[str] = set()
    for op in trace.ops:
        call = trace.modules.get(op.module)
        module = call.module if call is not None and op.synthetic else None
        node_id = len(nodes)
        params = 0
        if module is not None and op.module not in seen_params:
            seen_params.add(op.module)
            params = sum(p.numel() for p in module.parameters(recurse=False))
        node = {
            "id": node_id,
            "kind": "layer" if module is not None else "op",
            "module": op.module,
            "type": type(module).__name__ if module is not None else op.name.removeprefix("aten::"),
            "kernel": list(op.kernel) if op.kernel and op.name != "aten::constant_pad_nd" else None,
            "stride": list(op.stride) if op.stride else None,
            "groups": getattr(module, "groups", None) if isinstance(module, nn.Conv2d) else None,
            "params": params,
            "macs": op_macs(op),
            "output_shape": list(op.outputs[0].shape[1:]) if op.outputs else [],
        }
        nodes.append(node)
        operands = [ref for ref in op.inputs if not ref.is_state]
        for index, ref in enumerate(operands):
            if ref.key not in writer:
                continue
            source = nodes[writer[ref.key]]
            shortcut = None
            if op.name in _ADDS and index >= 1:
                shortcut = _shortcut_kind(source)
            elif ".downsample" in f".{op.module}":
                shortcut = "projection 1×1" if node["type"] != "ZeroPadShortcut" else "zero-pad"
            edges.append(
                {
                    "source": source["id"],
                    "target": node_id,
                    "shape": list(ref.shape[1:]),
                    "shortcut": shortcut,
                }
            )
        for ref in op.outputs:
            writer[ref.key] = node_id
    output_id = len(nodes)
    nodes.append(
        {
            "id": output_id,
            "kind": "output",
            "module": "",
            "type": "output",
            "output_shape": list(trace.outputs[0].shape[1:]) if trace.outputs else [],
        }
    )
    for ref in trace.outputs[:1]:
        if ref.key in writer:
            edges.append(
                {
                    "source": writer[ref.key],
                    "target": output_id,
                    "shape": list(ref.shape[1:]),
                    "shortcut": None,
                }
            )
    return {"nodes": nodes, "edges": edges}
