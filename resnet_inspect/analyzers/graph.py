"""The data-flow graph of one forward pass, for diagrams: a node per operation (each call of a
leaf module, each functional op such as the residual add), an edge per activation that flows
from one to another, with its shape. Edges that belong to a shortcut are marked: the second
operand of a residual add, and everything inside a shortcut branch.

Shortcut branches are found from the model, never from module names: a module that is a
shortcut module (plan/shortcuts.py) says its kind (projection, zero-pad; ModuleInfo.shortcut);
in any other model, the module (a child of the block) that computes the second operand of a
residual add, when both operands are computed inside the block, is a branch. No torch."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from resnet_inspect.analyzers.flops import op_macs
from resnet_inspect.analyzers.records import TensorRef, Trace
from resnet_inspect.plan.shortcuts import SHORTCUTS
from resnet_inspect.report import GraphSection

_ADDS = {"aten::add", "aten::add_"}


def _inside(path: str, parent: str) -> bool:
    return bool(path) and (not parent or path.startswith(parent + "."))


Writes = dict[int, list[int]]  # storage -> the indices of the operations that wrote it


def _writes(trace: Trace) -> Writes:
    """Every storage's writers, in order (an in-place operation writes what it reads)."""
    writes: Writes = {}
    for index, op in enumerate(trace.ops):
        for ref in op.outputs:
            writes.setdefault(ref.key, []).append(index)
    return writes


def shortcut_branches(trace: Trace, writes: Writes | None = None) -> dict[str, str]:
    """Module path of every shortcut branch -> its label ("projection 1×1", "zero-pad")."""
    writes = _writes(trace) if writes is None else writes
    branches = {
        name: SHORTCUTS[kind].label if kind in SHORTCUTS else kind
        for name in trace.modules
        if (kind := trace.infos[name].shortcut) is not None
    }
    writer: dict[int, str] = {}  # storage -> module of the op that last wrote it
    for index, op in enumerate(trace.ops):
        operands = [ref for ref in op.inputs if not ref.is_state]
        if (
            op.name in _ADDS
            and op.module  # a block's add: not two paths of the model merged at its top
            and len(operands) > 1
            and operands[0].key in writer
            and operands[1].key in writer
            and _inside(writer[operands[0].key], op.module)  # out = F(x), computed in the block
            # x + f(x) with x computed in the block (a transformer's second add): identity
            and bypassing_operand(trace, writes, operands[:2], index) is None
        ):
            # out + branch(x), both computed inside the block (torchvision's `out += identity`
            # after `identity = self.downsample(x)`): the second operand's child is the branch.
            # Where the second operand comes from outside (x itself), the shortcut is identity.
            source = writer[operands[1].key]
            if _inside(source, op.module) and not any(
                _inside(source, branch) or source == branch for branch in branches
            ):
                # the block's child that holds the source, unless it also made the other
                # operand (one module on both paths)
                depth = len(trace.enclosing(op.module))
                branch = trace.enclosing(source)[depth]
                main = writer[operands[0].key]
                if not (main == branch or _inside(main, branch)):
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


def _made_before(writes: Writes, key: int, before: int) -> int | None:
    """The index of the last operation before `before` that wrote the storage `key` (an
    in-place operation writes what it reads: its input came from the writer before it)."""
    indices = writes.get(key)
    if not indices:
        return None
    at = bisect.bisect_left(indices, before)
    return indices[at - 1] if at else None


def _derives(trace: Trace, writes: Writes, later: int, earlier: int, at: int) -> bool:
    """Whether the tensor `later`, as operation `at` reads it, was computed from the tensor
    `earlier` (walking the data flow back from `later`'s operation, no further than where
    `earlier` was made)."""
    start = _made_before(writes, later, at)
    if start is None:
        return False
    floor = _made_before(writes, earlier, at)
    floor = -1 if floor is None else floor
    pending, seen = [start], {start}
    while pending:
        index = pending.pop()
        for ref in trace.ops[index].inputs:
            if ref.is_state:
                continue
            if ref.key == earlier:
                return True
            made = _made_before(writes, ref.key, index)
            if made is not None and made > floor and made not in seen:
                seen.add(made)
                pending.append(made)
    return False


def bypassing_operand(
    trace: Trace, writes: Writes, operands: list[TensorRef], at: int
) -> int | None:
    """Of the two operands operation `at` reads, the one the other was computed from (the
    skip: `x + f(x)`, `cat([up(c), b])` where up(c) came from b); None when neither was."""
    first, second = operands[0].key, operands[1].key
    if first == second:
        return None
    if _derives(trace, writes, second, first, at):
        return 0
    if _derives(trace, writes, first, second, at):
        return 1
    return None


def residual_adds(
    trace: Trace, writes: Writes | None = None, branches: dict[str, str] | None = None
) -> list[ResidualAdd]:
    """Every residual add of two activations, as the diagrams draw them: a block's `+`. The
    shortcut is the operand the other was computed from (`x + f(x)`, a transformer's second
    `x + mlp(norm(x))` inside its block); where neither was, the branch is the operand
    computed inside the block when only one is, and when both are, the one outside a shortcut
    branch (`out += self.downsample(x)`: the first)."""
    writes = _writes(trace) if writes is None else writes
    branches = shortcut_branches(trace, writes) if branches is None else branches
    writer: dict[int, str] = {}  # storage -> module of the op that last wrote it
    found: list[ResidualAdd] = []
    for index, op in enumerate(trace.ops):
        operands = [ref for ref in op.inputs if not ref.is_state]
        if op.name in _ADDS and len(operands) > 1:
            inside = [
                ref.key in writer and _inside(writer[ref.key], op.module) for ref in operands[:2]
            ]
            skip = bypassing_operand(trace, writes, operands[:2], index)
            branch: int | None = None
            if skip is not None:
                branch = 1 - skip
            elif inside[0] != inside[1]:
                branch = 0 if inside[0] else 1
            elif all(inside) and _branch_of(writer[operands[0].key], branches) is not None:
                branch = 1
            elif all(inside) and _branch_of(writer[operands[1].key], branches) is not None:
                branch = 0
            # else two paths merged (parallel branches, one module on both): not residual
            if branch is not None:
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


_CATS = {"aten::cat", "aten::concat", "aten::concatenate"}


def _concat_skips(trace: Trace, writes: Writes, operands: list[TensorRef], at: int) -> set[int]:
    """The operands operation `at` concatenates that bypass: the newest operand was computed
    from them (a UNet's encoder map beside the upsampled decoder map, DenseNet's earlier
    features); parallel branches (Inception) computed from none of each other are not skips."""
    if len(operands) < 2:
        return set()

    def made(index: int) -> int:
        found = _made_before(writes, operands[index].key, at)
        return -1 if found is None else found

    newest = max(range(len(operands)), key=made)
    return {
        index
        for index, ref in enumerate(operands)
        if index != newest
        and ref.key != operands[newest].key
        and _derives(trace, writes, operands[newest].key, ref.key, at)
    }


def _call_numbers(trace: Trace) -> dict[str, list[tuple[int, int]]]:
    """Module -> the (start, end) op ranges of its calls, in order, for modules called more
    than once (a pool used at three levels of a UNet)."""
    return {
        name: sorted(call.spans)
        for name, call in trace.modules.items()
        if call.calls > 1 and len(call.spans) > 1
    }


def _call_of(spans: list[tuple[int, int]], index: int) -> int:
    for number, (start, end) in enumerate(spans, 1):
        if start <= index < end:
            return number
    return 0


def build_graph(trace: Trace) -> GraphSection:
    """{"nodes": [...], "edges": [...]} of JSON-native values (see the README's report schema).

    A node per call of a leaf module (its operations merged: a module called three times is
    three nodes, each with `call` [k, n]), named by its module path and type; a node per
    operation no leaf module owns (the residual add, a functional interpolate). `calls` maps
    every enclosing module called more than once to [k, n]. An edge per activation between
    them; `shortcut` marks a residual add's skip operand and everything on a shortcut branch
    ("identity", "projection", ...), and a concatenation's operand that the others were
    computed from ("concat": a UNet's or DenseNet's skip)."""
    nodes: list[dict[str, Any]] = [
        {
            "id": 0,
            "kind": "input",
            "module": "",
            "type": "input",
            "output_shape": list(trace.input.shape[1:]),
        }
    ]
    for ref in trace.extra_inputs:  # a model's further inputs (a mask, token ids)
        nodes.append(
            {
                "id": len(nodes),
                "kind": "input",
                "module": "",
                "type": "input",
                "output_shape": list(ref.shape[1:]),
            }
        )
    for node, name in zip(nodes, trace.input_names, strict=False):
        node["name"] = f"input {name}"
    edges: list[dict[str, Any]] = []
    writes = _writes(trace)
    branches = shortcut_branches(trace, writes)
    shortcut_operand = {add.op: add.shortcut for add in residual_adds(trace, writes, branches)}
    repeated = _call_numbers(trace)
    # modules none of whose children ran: one node per call (a MultiheadAttention whose
    # forward reads its out_proj's weight itself is one node, as a Conv2d is)
    parents = {trace.infos[name].parent for name in trace.modules if name in trace.infos}
    leaves = {name for name in trace.modules if name not in parents}
    # storage -> node that last wrote it
    writer: dict[int, int] = {ref.key: index for index, ref in enumerate(trace.inputs)}
    seen_params: set[str] = set()
    current: tuple[str, int] | None = None  # the leaf call the last node drew
    linked: set[tuple[int, int]] = set()
    for op_index, op in enumerate(trace.ops):
        info = trace.infos.get(op.module) if op.module in trace.modules else None
        layer = info if info is not None and (op.synthetic or op.module in leaves) else None
        calls = {
            module: [_call_of(repeated[module], op_index), len(repeated[module])]
            for module in trace.enclosing(op.module)
            if module in repeated
        }
        call_number = calls.get(op.module, [1, 1])[0] if layer is not None else 0
        operands = [ref for ref in op.inputs if not ref.is_state]
        if (
            layer is not None
            and current == (op.module, call_number)
            and nodes[-1]["kind"] == "layer"
        ):
            # the same call of a leaf module: one node
            node = nodes[-1]
            node["macs"] += op_macs(op)
            if op.outputs:
                node["output_shape"] = list(op.outputs[0].shape[1:])
            node_id = node["id"]
        else:
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
                "kernel": (
                    list(op.kernel) if op.kernel and op.name != "aten::constant_pad_nd" else None
                ),
                "stride": list(op.stride) if op.stride else None,
                "groups": layer.groups if layer is not None and layer.is_conv2d else None,
                "params": params,
                "macs": op_macs(op),
                "output_shape": list(op.outputs[0].shape[1:]) if op.outputs else [],
            }
            if calls:
                node["calls"] = calls
            if layer is not None and op.module in calls:
                node["call"] = calls[op.module]
            nodes.append(node)
        current = (op.module, call_number) if layer is not None else None
        skips = _concat_skips(trace, writes, operands, op_index) if op.name in _CATS else set()
        for index, ref in enumerate(operands):
            if ref.key not in writer or writer[ref.key] == node_id:
                continue
            if (writer[ref.key], node_id) in linked:
                continue  # a leaf call whose operations read the same tensor
            linked.add((writer[ref.key], node_id))
            source = nodes[writer[ref.key]]
            shortcut = None
            if shortcut_operand.get(op_index) == index:
                shortcut = _branch_of(source["module"], branches) or "identity"
            elif index in skips:
                shortcut = "concat"
            else:
                shortcut = _branch_of(op.module, branches)
            edges.append(
                {
                    "source": source["id"],
                    "target": node_id,
                    # what a module call takes is what its source made (its operations may
                    # read a view of it)
                    "shape": (
                        source["output_shape"]
                        if layer is not None and not op.synthetic and source["output_shape"]
                        else list(ref.shape[1:])
                    ),
                    "shortcut": shortcut,
                }
            )
        for ref in op.outputs:
            writer[ref.key] = node_id
    names = trace.output_names or [""] * len(trace.outputs)
    several = len(trace.outputs) > 1
    for name, ref in zip(names, trace.outputs, strict=True):
        output_id = len(nodes)
        node = {
            "id": output_id,
            "kind": "output",
            "module": "",
            "type": "output",
            "output_shape": list(ref.shape[1:]),
        }
        if several:  # the place of each in what the forward returned: ['out'], [1]
            node["name"] = f"output{name}"
        nodes.append(node)
        if ref.key in writer:
            edges.append(
                {
                    "source": writer[ref.key],
                    "target": output_id,
                    "shape": list(ref.shape[1:]),
                    "shortcut": None,
                }
            )
    if not trace.outputs:
        nodes.append(
            {"id": len(nodes), "kind": "output", "module": "", "type": "output", "output_shape": []}
        )
    return GraphSection(nodes=nodes, edges=edges)
