"""The data-flow graph of one forward pass, for diagrams: a node per operation (each call of a
leaf module, each functional op such as the residual add), an edge per activation that flows
from one to another, with its shape. Edges that belong to a shortcut are marked: the second
operand of a residual add, and everything inside a shortcut branch.

Shortcut branches are found from the model, never from module names: a module that is a
shortcut module (plan/shortcuts.py) says its kind (projection, zero-pad; ModuleInfo.shortcut);
in any other model, the module (a child of the block) that computes the second operand of a
residual add, when both operands are computed inside the block, is a branch. No torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resnet_inspect.analyzers.flops import op_macs
from resnet_inspect.analyzers.records import Trace
from resnet_inspect.plan.shortcuts import SHORTCUTS
from resnet_inspect.report import GraphSection

_ADDS = {"aten::add", "aten::add_"}


def _inside(path: str, parent: str) -> bool:
    return bool(path) and (not parent or path.startswith(parent + "."))


def shortcut_branches(trace: Trace) -> dict[str, str]:
    """Module path of every shortcut branch -> its label ("projection 1×1", "zero-pad")."""
    branches = {
        name: SHORTCUTS[kind].label if kind in SHORTCUTS else kind
        for name in trace.modules
        if (kind := trace.infos[name].shortcut) is not None
    }
    writer: dict[int, str] = {}  # storage -> module of the op that last wrote it
    for op in trace.ops:
        operands = [ref for ref in op.inputs if not ref.is_state]
        if (
            op.name in _ADDS
            and len(operands) > 1
            and operands[0].key in writer
            and operands[1].key in writer
            and _inside(writer[operands[0].key], op.module)  # out = F(x), computed in the block
        ):
            # out + branch(x), both computed inside the block (torchvision's `out += identity`
            # after `identity = self.downsample(x)`): the second operand's child is the branch.
            # Where the second operand comes from outside (x itself), the shortcut is identity.
            source = writer[operands[1].key]
            if _inside(source, op.module) and not any(
                _inside(source, branch) or source == branch for branch in branches
            ):
                # the block's child that holds the source
                branch = trace.enclosing(source)[len(trace.enclosing(op.module))]
                branches[branch] = "projection"
        for ref in op.outputs:
            writer[ref.key] = op.module
    return branches


@dataclass(frozen=True)
class ResidualAdd:
    """One residual add of the forward: the op's index in the trace, the module that runs it
    (the block), which operand is the residual branch F(x) and which the shortcut."""

    op: int
    block: str
    branch: int  # operand index of F(x): 0 for torchvision's `out += identity`
    shortcut: int


def residual_adds(trace: Trace) -> list[ResidualAdd]:
    """Every add of two activations, as the diagrams draw them: a block's `+`. The branch is
    the operand computed inside the block when only one is (`x + f(x)`, `f(x) + x`); when both
    are, the one outside a shortcut branch (`out += self.downsample(x)`: the first)."""
    branches = shortcut_branches(trace)
    writer: dict[int, str] = {}  # storage -> module of the op that last wrote it
    found: list[ResidualAdd] = []
    for index, op in enumerate(trace.ops):
        operands = [ref for ref in op.inputs if not ref.is_state]
        if op.name in _ADDS and len(operands) > 1:
            inside = [
                ref.key in writer and _inside(writer[ref.key], op.module) for ref in operands[:2]
            ]
            if inside[0] != inside[1]:
                branch = 0 if inside[0] else 1
            elif all(inside) and _branch_of(writer[operands[0].key], branches) is not None:
                branch = 1
            else:
                branch = 0
            found.append(ResidualAdd(index, op.module, branch, 1 - branch))
        for ref in op.outputs:
            writer[ref.key] = op.module
    return found


def off_main_path(trace: Trace) -> set[str]:
    """Modules on shortcut branches and in block options (an SE gate's 1x1 convs): off the
    main path, which the paper's depth counts (SE-ResNet-50 is "50")."""
    off = set(shortcut_branches(trace))
    off.update(info.name for info in trace.infos.values() if info.option)
    return off


def _branch_of(path: str, branches: dict[str, str]) -> str | None:
    for branch, label in branches.items():
        if path == branch or _inside(path, branch):
            return label
    return None


def build_graph(trace: Trace) -> GraphSection:
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
    branches = shortcut_branches(trace)
    shortcut_operand = {add.op: add.shortcut for add in residual_adds(trace)}
    writer: dict[int, int] = {trace.input.key: 0}  # storage -> node that last wrote it
    seen_params: set[str] = set()
    for op_index, op in enumerate(trace.ops):
        info = trace.infos.get(op.module) if op.module in trace.modules else None
        layer = info if info is not None and op.synthetic else None
        node_id = len(nodes)
        params = 0
        if layer is not None and op.module not in seen_params:
            seen_params.add(op.module)
            params = layer.own_params
        node = {
            "id": node_id,
            "kind": "layer" if layer is not None else "op",
            "module": op.module,
            "type": layer.type if layer is not None else op.name.removeprefix("aten::"),
            "kernel": list(op.kernel) if op.kernel and op.name != "aten::constant_pad_nd" else None,
            "stride": list(op.stride) if op.stride else None,
            "groups": layer.groups if layer is not None and layer.is_conv2d else None,
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
            if shortcut_operand.get(op_index) == index:
                shortcut = _branch_of(source["module"], branches) or "identity"
            else:
                shortcut = _branch_of(op.module, branches)
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
    return GraphSection(nodes=nodes, edges=edges)
