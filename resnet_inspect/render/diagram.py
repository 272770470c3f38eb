"""Report -> Graphviz diagram (DOT built with the `graphviz` package) -> SVG, PNG, PDF or DOT.

Nodes show the layer type and its hyper-parameters, parameters and MACs; edges carry tensor
shapes (C×H×W). At block depth each block is its body and its + node, and the shortcut is an
edge of its own from the block's input to the +: solid for identity, dashed and labelled for a
projection ("1×1 conv, 512, /2"), dotted for zero-padding; a folded run ("identity block ×5")
keeps one. At layer depth shortcut branches are dashed and coloured; at stage depth each stage
is one box. Stages are clusters (and, at layer depth, blocks inside them). SVGs embed the font
the labels were measured with. Rendering uses Graphviz's `dot` when it is on PATH, else the
`graphviz-pure` binary installed with resnet-inspect (svg, png, jpg, dot, json).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Any

import graphviz

from resnet_inspect.errors import RenderError, UsageError
from resnet_inspect.render import numbers
from resnet_inspect.render.escape import dot_lines
from resnet_inspect.render.typeface import STACK, font_face
from resnet_inspect.report import Comparison, GraphSection, LayerRow, Report

SHORTCUT_COLOUR = "#d9480f"
STAGE_COLOURS = ["#e7f5ff", "#ebfbee", "#fff9db", "#f3f0ff", "#fff0f6", "#e6fcf5"]
PURE_FORMATS = {"svg", "png", "jpg", "dot"}
RASTER_DPI = 192  # a PNG's or JPG's pixels per inch unless --dpi says otherwise
FORMATS = ("svg", "png", "jpg", "pdf", "dot")
SMALL_NETWORK_LAYERS = 60  # fewer modules than this: drawn layer by layer in pages and compare


def _label(text: str) -> str:
    """Every label goes through here: each line escaped for DOT (render/escape.py)."""
    return dot_lines(*text.split("\n"))


def _shape(dims: list[int]) -> str:
    return "×".join(str(d) for d in dims)


def _ops(value: int) -> str:
    return numbers.si(value, "MACs") if value else ""


def _call(number: list[int] | None) -> str:
    return f" (call {number[0]} of {number[1]})" if number else ""


def _layer_label(node: dict[str, Any], within: str = "") -> str:
    """A node of the drawing by layers: its module path (from the block or stage drawn around
    it, `within`), its type and figures; an operation no module owns by its torch name."""
    module = node["module"]
    name = module[len(within) + 1 :] if within and module.startswith(within + ".") else module
    if node["kind"] in ("input", "output"):
        return f"{node.get('name', node['kind'])}\n{_shape(node['output_shape'])}"
    head = (
        node["type"]
        if node["kind"] == "op"
        else f"{name or node['type']}{_call(node.get('call'))} · {node['type']}"
    )
    detail = numbers.kernel(node.get("kernel"), node.get("stride"), node.get("groups"))
    lines = [head + (f" {detail}" if detail else "")]
    if node["kind"] == "layer" and node["type"].startswith("Conv"):
        lines.append(f"{node['output_shape'][0]} filters")
    figures = []
    if node.get("params"):
        figures.append(f"{numbers.count(node['params'])} params")
    if node.get("macs"):
        figures.append(_ops(node["macs"]))
    if figures:
        lines.append(" · ".join(figures))
    return "\n".join(lines)


def _group_label(row: LayerRow, count: int, names: list[str], shortcut: str | None) -> str:
    if count > 1:
        kind = "identity block" if shortcut == "identity" else f"{row.type} block"
        title = f"{kind} ×{count}\n{names[0]} … {names[-1]}"
        params, macs = row.params * count, row.macs * count
    else:
        title = f"{row.name} · {row.type}"
        params, macs = row.params, row.macs
    lines = [title]
    if shortcut:
        lines.append(f"shortcut: {shortcut}")
    figures = [f"{numbers.count(params)} params"] if params else []
    if macs:
        figures.append(_ops(macs))
    if figures:
        lines.append(" · ".join(figures))
    lines.append(f"→ {_shape(row.output_shape[1:])}")
    return "\n".join(lines)


def _block_shortcuts(graph: GraphSection) -> dict[str, str]:
    """Block path -> the kind of shortcut its residual add takes."""
    nodes = graph.nodes
    result = {}
    for edge in graph.edges:
        target = nodes[edge["target"]]
        if edge["shortcut"] and target["type"] in ("add_", "add"):
            result[target["module"]] = edge["shortcut"]
    return result


# Group keys of the drawing beside module paths (pages read them back: render/html.py).
FOLD = "fold_"  # + the first block's path: a folded run of identical blocks
SKIP = "#skip"  # a shortcut branch's nodes: drawn as one edge, not as nodes
ADD = "#add"  # a block's residual add and what follows it in the block (the final ReLU)
CALL = "#call"  # + a call's number: a module called several times, drawn once per call


def shortcut_id(add_node: str) -> str:
    """The SVG ID of a block's shortcut edge, from its + node's ID."""
    return f"{add_node}-shortcut"


def _folds(report: Report, shortcuts: dict[str, str]) -> dict[str, tuple[str, int, list[str]]]:
    """Block path -> (fold key, run length, block names) for runs of identical blocks."""
    blocks = [row for row in report.layers if row.depth == 2 and not row.is_leaf]
    result: dict[str, tuple[str, int, list[str]]] = {}
    run: list[LayerRow] = []

    def signature(row: LayerRow) -> tuple[Any, ...]:
        return (
            row.stage,
            row.type,
            row.params,
            row.macs,
            tuple(row.output_shape),
            shortcuts.get(row.name),
        )

    def close() -> None:
        if len(run) > 1:
            names = [row.name for row in run]
            for row in run:
                result[row.name] = (f"{FOLD}{names[0]}", len(run), names)
        run.clear()

    for row in blocks:
        if run and signature(row) != signature(run[-1]):
            close()
        run.append(row)
    close()
    return result


def _branch_label(members: list[dict[str, Any]], kind: str) -> str:
    """The paper's wording for a shortcut branch: "1×1 conv, 512, /2"."""
    conv = next((n for n in members if n["type"].startswith("Conv")), None)
    pool = next((n for n in members if "Pool" in n["type"]), None)
    if kind == "zero-pad":
        out = members[-1]
        stride = (out.get("stride") or [1])[0]
        return f"zero-pad, {out['output_shape'][0]}" + (f", /{stride}" if stride > 1 else "")
    if conv is None:
        return kind
    stride = (conv.get("stride") or [1])[0] * ((pool.get("stride") or [1])[0] if pool else 1)
    text = f"{'avg pool + ' if pool else ''}1×1 conv, {conv['output_shape'][0]}"
    return text + (f", /{stride}" if stride > 1 else "")


def _block_roles(
    report: Report, data: GraphSection, folds: dict[str, tuple[str, int, list[str]]]
) -> tuple[dict[int, str], dict[str, tuple[str, str]]]:
    """At block depth: node id -> the group it is drawn in (the block's body, its `+` node, or
    its shortcut branch), and block group -> (shortcut kind, label) for the shortcut edge.

    A branch is read from the graph's edges (an edge into a node that is not an add, marked as
    a shortcut), never from module names."""
    rows = {row.name: row for row in report.layers}
    nodes = data.nodes
    branch_ids = {
        edge["target"]
        for edge in data.edges
        if edge["shortcut"] and nodes[edge["target"]]["type"] not in ("add", "add_")
    }
    roles: dict[int, str] = {}
    kinds: dict[str, tuple[str, str]] = {}
    members: dict[str, list[dict[str, Any]]] = {}
    added: set[str] = set()  # blocks whose residual add has run
    for node in nodes:
        parts = node["module"].split(".") if node["module"] else []
        block = ".".join(parts[:2]) if len(parts) >= 2 else ""
        if block not in rows or rows[block].is_leaf:
            continue
        fold = folds.get(block)
        key = fold[0] if fold else block
        last = not fold or block == fold[2][-1]
        if node["id"] in branch_ids:
            roles[node["id"]] = key + SKIP
            members.setdefault(key, []).append(node)
        elif node["type"] in ("add", "add_") and node["module"] == block:
            added.add(block)
            roles[node["id"]] = key + ADD if last else key
        elif block in added and last:
            roles[node["id"]] = key + ADD
        else:
            roles[node["id"]] = key
    for edge in data.edges:
        target = nodes[edge["target"]]
        role = roles.get(target["id"], "")
        if edge["shortcut"] and target["type"] in ("add", "add_") and role.endswith(ADD):
            key = role.removesuffix(ADD)
            kind = edge["shortcut"]
            label = "identity" if kind == "identity" else _branch_label(members.get(key, []), kind)
            fold = next((f for f in folds.values() if f[0] == key), None)
            kinds[key] = (kind, label + (f" ×{fold[1]}" if fold else ""))
    return roles, kinds


# Edges reaching back over more than LONG_EDGE_SPAN operations (a DenseNet's concatenations)
# make Graphviz's layout slow beyond use: DenseNet-121 by layers (423 such edges) did not finish
# in 300 s, while every preset has none (ResNet-152 by layers: 0.3 s).
LONG_EDGE_SPAN = 16
MAX_LONG_EDGES = 64


def _check_layout(report: Report) -> None:
    """Refuse at once a layer-level drawing Graphviz could not lay out in reasonable time."""
    graph = report.graph
    long_edges = (
        sum(1 for e in graph.edges if e["target"] - e["source"] > LONG_EDGE_SPAN) if graph else 0
    )
    if long_edges > MAX_LONG_EDGES:
        raise UsageError(
            f"{report.model} at --depth layer has {long_edges} edges reaching back over "
            f"{LONG_EDGE_SPAN} operations (concatenations): Graphviz would take minutes to lay "
            "it out; draw it with --depth block or --depth stage"
        )


def _new_digraph(name: str, rankdir: str) -> graphviz.Digraph:
    """A digraph in the house style: rounded boxes, small labels, grey edges."""
    dot = graphviz.Digraph(name)  # our own fixed name: it appears in the SVG's comments
    dot.attr(rankdir=rankdir, fontname="Helvetica", fontsize="11", nodesep="0.25", ranksep="0.3")
    dot.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fillcolor="white",
        fontname="Helvetica",
        fontsize="10",
        margin="0.08,0.04",
    )
    dot.attr("edge", fontname="Helvetica", fontsize="8", color="#495057", arrowsize="0.6")
    return dot


def to_dot(
    report: Report,
    depth: str = "layer",
    fold: bool = False,
    rankdir: str = "TB",
    prefix: str = "",
    graph: graphviz.Digraph | None = None,
) -> graphviz.Digraph:
    """The diagram of a report as a graphviz Digraph (added to `graph` when given)."""
    data = report.graph
    if not data:
        raise RenderError(
            "this report was made without its data-flow graph: summarize(..., graph=True) "
            "keeps it for diagrams (the diagram and report commands do)"
        )
    if depth == "layer":
        _check_layout(report)
    dot = _new_digraph("resnet_inspect", rankdir) if graph is None else graph
    kind = numbers.kind_of(report.spec)
    if graph is None and kind:  # where the name could mislead, the drawing says what it is
        dot.attr(label=_label(f"{report.model}: {kind}"), labelloc="t", fontsize="13")
    rows = {row.name: row for row in report.layers}
    stage_names = [s.name for s in report.stages if s.kind == "stage"]
    shortcuts = _block_shortcuts(data)
    folds = _folds(report, shortcuts) if fold else {}
    fold_names = {key: names for key, _, names in folds.values()}
    limit = {"stage": 1, "block": 2, "layer": None}[depth]

    roles, block_kinds = _block_roles(report, data, folds) if depth == "block" else ({}, {})
    off_main = {  # the nodes of shortcut branches (an edge marked as a shortcut runs into them)
        edge["target"]
        for edge in data.edges
        if edge["shortcut"]
        and edge["shortcut"] != "concat"
        and data.nodes[edge["target"]]["type"] not in ("add", "add_")
    }

    def group_of(node: dict[str, Any]) -> str:
        if node["id"] in roles:
            return roles[node["id"]]
        parts = node["module"].split(".") if node["module"] else []
        block = ".".join(parts[:2]) if len(parts) >= 2 else None
        if block in folds:
            return folds[block][0]
        if limit is None or not parts or node["kind"] in ("input", "output"):
            return f"{prefix}n{node['id']}"
        key = ".".join(parts[:limit])
        number = node.get("calls", {}).get(key)
        return f"{key}{CALL}{number[0]}" if number else key  # each call its own node

    groups: dict[str, list[dict[str, Any]]] = {}
    for node in data.nodes:
        groups.setdefault(group_of(node), []).append(node)

    ids: dict[str, str] = {}

    def node_name(key: str) -> str:
        """Our own DOT ID for a node: user text never becomes an ID (or an SVG comment)."""
        return ids.setdefault(key, f"{prefix}g{len(ids)}")

    def container(key: str, members: list[dict[str, Any]]) -> tuple[str | None, str | None]:
        parts = members[0]["module"].split(".") if members[0]["module"] else []
        # at stage depth a stage is one node: no cluster around it
        stage = parts[0] if parts and parts[0] in stage_names and depth != "stage" else None
        block = ".".join(parts[:2]) if depth == "layer" and len(parts) >= 2 else None
        if key in fold_names or block not in rows or rows[block].is_leaf:
            block = None
        return stage, block

    clusters: dict[str | None, dict[str | None, list[tuple[str, str, dict[str, str]]]]] = {}
    keys: dict[str, str] = {}  # node ID -> what it draws (a module path, a fold, a block's +)
    stages: dict[str, str] = {}  # stage name -> its cluster's ID
    for key, members in groups.items():
        first = members[0]
        attributes: dict[str, str] = {}
        if key.endswith(SKIP):
            continue  # drawn as the shortcut edge
        if key.endswith(ADD):
            relu = any(m["type"] == "ReLU" for m in members)
            label = "+\nReLU" if relu else "+"
            attributes = {"shape": "circle", "fillcolor": "#fff4e6", "fontsize": "9", "margin": "0"}
        elif depth == "stage" and key in rows and not rows[key].is_leaf:
            label = _stage_label(report, key)
            index = stage_names.index(key) if key in stage_names else 0
            attributes = {"fillcolor": STAGE_COLOURS[index % len(STAGE_COLOURS)]}
        elif key in fold_names:
            names = fold_names[key]
            label = _group_label(rows[names[0]], len(names), names, shortcuts.get(names[0]))
            attributes = {"style": "rounded,filled,dashed", "fillcolor": "#f8f9fa"}
        elif len(members) == 1 and (
            limit is None or first["kind"] != "op" or "." not in first["module"]
        ):
            around = container(key, members)
            label = _layer_label(first, around[1] or around[0] or "")
            if first["kind"] in ("input", "output"):
                attributes = {"shape": "oval", "fillcolor": "#f1f3f5"}
            elif first["kind"] == "op":
                attributes = {
                    "shape": "circle" if first["type"] in ("add_", "add") else "box",
                    "fillcolor": "#fff4e6",
                    "fontsize": "9",
                }
                if first["type"] in ("add_", "add"):
                    label = "+"
        else:
            base, _, number = key.partition(CALL)
            row = rows.get(base)
            label = _group_label(row, 1, [base], shortcuts.get(base)) if row else base
            if number:  # one call of several: its own output, not the first call's
                total = first.get("calls", {}).get(base, [0, 0])[1]
                title, _, rest = label.partition("\n")
                lines = [title + _call([int(number), total]), *rest.split("\n")]
                lines[-1] = f"→ {_shape(members[-1]['output_shape'])}"
                label = "\n".join(lines)
        stage, block = container(key, members)
        attributes["id"] = node_name(key)  # our own ID on the SVG element: pages find it
        if not any(m["id"] in off_main for m in members):
            attributes["group"] = f"{prefix}main"  # the main path: one straight column
        drawn_module = first["module"] if limit is None and first["kind"] == "layer" else None
        if drawn_module and len(members) == 1:  # by layers: the module the node draws
            call = first.get("call")
            keys[node_name(key)] = drawn_module + (f"{CALL}{call[0]}" if call else "")
        else:
            keys[node_name(key)] = key
        clusters.setdefault(stage, {}).setdefault(block, []).append(
            (node_name(key), _label(label), attributes)
        )

    for stage_index, (stage, blocks) in enumerate(clusters.items()):
        if stage is None:
            for items in blocks.values():
                for name, label, attributes in items:
                    dot.node(name, label, **attributes)
            continue
        row = rows[stage]
        stages[stage] = f"{prefix}stage{stage_index}"
        with dot.subgraph(name=f"cluster_{prefix}s{stage_index}") as cluster:
            # the stage's own colour, as at every depth and in the paper style and Table 1
            colour = STAGE_COLOURS[stage_names.index(stage) % len(STAGE_COLOURS)]
            summary = next(s for s in report.stages if s.name == stage)
            plural = summary.unit + ("" if summary.blocks == 1 else "s")
            cluster.attr(
                id=stages[stage],
                label=_label(
                    f"{stage} · {summary.blocks} {plural} · "
                    f"{numbers.count(row.params)} params · {_ops(row.macs)}"
                ),
                style="rounded,filled",
                fillcolor=colour,
                color="#adb5bd",
                fontname="Helvetica",
                fontsize="11",
                labeljust="l",
            )
            for block_index, (block, items) in enumerate(blocks.items()):
                if block is None:
                    for name, label, attributes in items:
                        cluster.node(name, label, **attributes)
                    continue
                with cluster.subgraph(
                    name=f"cluster_{prefix}s{stage_index}b{block_index}"
                ) as inner:
                    block_row = rows.get(block)
                    inner.attr(
                        label=_label(f"{block} · {block_row.type if block_row else ''}"),
                        style="rounded,filled",
                        fillcolor="white",
                        color="#ced4da",
                        fontsize="10",
                    )
                    for name, label, attributes in items:
                        inner.node(name, label, **attributes)

    node_group = {node["id"]: group_of(node) for node in data.nodes}
    drawn: set[tuple[str, str]] = set()
    entries: dict[str, str] = {}  # block -> the group its shortcut starts from
    for edge in data.edges:
        source, target = node_group[edge["source"]], node_group[edge["target"]]
        if target.endswith(SKIP) and not source.endswith(SKIP):
            entries.setdefault(target.removesuffix(SKIP), source)
        key = target.removesuffix(ADD)
        if (
            edge["shortcut"]
            and (target.endswith(ADD) or target in fold_names)
            and not source.endswith(SKIP)
            and source not in (key, key + ADD)
        ):
            entries.setdefault(key, source)  # a folded run's: where the run starts
        if edge["shortcut"] and target.endswith(ADD) or SKIP in source + target:
            continue  # the block's shortcut: one edge, drawn below
        if source == target or (source, target) in drawn:
            continue
        drawn.add((source, target))
        label = _shape(edge["shape"])
        if edge["shortcut"]:
            dot.edge(
                node_name(source),
                node_name(target),
                **{"class": "shortcut"},
                label=_label(f"{edge['shortcut']}\n{label}"),
                style="dashed",
                color=SHORTCUT_COLOUR,
                fontcolor=SHORTCUT_COLOUR,
                penwidth="1.3",
                # a concatenation's skip runs beside the column, pulling nothing
                **({"weight": "0"} if edge["shortcut"] == "concat" else {}),
            )
        else:
            dot.edge(node_name(source), node_name(target), label=_label(label))
    for key, (kind, label) in block_kinds.items():
        if key in entries:  # solid identity, dashed projection, dotted zero-padding
            style = {"identity": "solid", "zero-pad": "dotted"}.get(kind, "dashed")
            dot.edge(
                node_name(entries[key]),
                node_name(key + ADD),
                id=shortcut_id(node_name(key + ADD)),
                label=_label(label),
                style=style,
                color=SHORTCUT_COLOUR,
                fontcolor=SHORTCUT_COLOUR,
                penwidth="1.3",
                # beside the column, pulling nothing: the main path stays straight
                weight="0",
            )
    # What pages need to make the drawing interactive (render/html.py): node ID -> what it
    # draws, stage -> cluster ID.
    dot.node_keys = {**getattr(dot, "node_keys", {}), **keys}
    dot.stage_ids = {**getattr(dot, "stage_ids", {}), **stages}
    return dot


def _stage_label(report: Report, stage: str) -> str:
    """One stage as one box: its blocks (how many, what kind), parameters, MACs, output."""
    row = next(r for r in report.layers if r.name == stage)
    blocks = [r for r in report.layers if r.depth == 2 and r.stage == stage and not r.is_leaf]
    kinds = list(dict.fromkeys(r.type for r in blocks))
    title = f"{stage} · {len(blocks)} × {' / '.join(kinds)}" if blocks else f"{stage} · {row.type}"
    figures = [f"{numbers.count(row.params)} params"] + ([_ops(row.macs)] if row.macs else [])
    return "\n".join([title, " · ".join(figures), f"→ {_shape(row.output_shape[1:])}"])


STYLES = ("default", "paper")
_PAPER_TYPES = ("Conv", "Linear", "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool")


def _paper_box(row: LayerRow) -> str | None:
    """A main-path layer in Figure 3's words ("3×3 conv, 128, /2", "pool, /2", "avg pool",
    "fc 1000"); None for what the figure leaves out (BN, ReLU, padding)."""
    stride = max(row.stride or [1])
    step = f", /{stride}" if stride > 1 else ""
    if row.type.startswith("Conv"):
        kernel = "×".join(str(k) for k in (row.kernel or [1, 1]))
        groups = f", groups {row.groups}" if row.groups and row.groups > 1 else ""
        return f"{kernel} conv, {row.output_shape[1]}{groups}{step}"
    if row.type == "Linear":
        return f"fc {row.output_shape[-1]}"
    if row.type.startswith("Adaptive"):
        return "avg pool" if "Avg" in row.type else "max pool"
    if row.type == "MaxPool2d":
        return f"pool{step}"
    if row.type == "AvgPool2d":
        return f"avg pool{step}"
    return None


def paper_dot(
    report: Report, prefix: str = "", graph: graphviz.Digraph | None = None
) -> graphviz.Digraph:
    """The network as Figure 3 of the ResNet paper draws it: one narrow column of boxes, each
    a weighted layer or pool of the main path, coloured by stage; each block's shortcut a
    curved arc on the side, solid where the shapes match and dotted where the dimensions
    increase (projection or zero-padding)."""
    if not report.graph:
        raise RenderError("the paper style needs the report's data-flow graph (graph=True)")
    dot = _new_digraph("resnet_inspect", "TB") if graph is None else graph
    stage_names = [s.name for s in report.stages if s.kind == "stage"]
    shortcuts = _block_shortcuts(report.graph)
    boxes: list[tuple[str, str]] = []  # (node name, module path) down the column
    name = f"{prefix}p_input"
    dot.node(name, _label(f"image\n{_shape(report.input_shape)}"), shape="plaintext")
    boxes.append((name, ""))
    # where each block's shortcut rejoins the column: a small ⊕ after its last box
    rows = [row for row in report.layers if row.is_leaf and row.main_path and _paper_box(row)]
    ends: dict[str, str] = {}  # block -> the name of its ⊕
    blocks = [
        row.name
        for row in report.layers
        if row.depth == 2 and not row.is_leaf and row.stage in stage_names
    ]
    previous = name
    for index, row in enumerate(rows):
        name = f"{prefix}p{len(boxes)}"
        stage = row.name.split(".")[0]
        colour = (
            STAGE_COLOURS[stage_names.index(stage) % len(STAGE_COLOURS)]
            if stage in stage_names
            else "#f1f3f5"
        )
        dot.node(name, _label(str(_paper_box(row))), width="1.9", fillcolor=colour, fontsize="11")
        dot.edge(previous, name, arrowsize="0.5")
        boxes.append((name, row.name))
        previous = name
        following = rows[index + 1].name if index + 1 < len(rows) else ""
        for block in blocks:
            inside = row.name.startswith(block + ".")
            if inside and not following.startswith(block + ".") and block not in ends:
                add = f"{prefix}p_add{len(ends)}"
                # a plain block's end takes the same room, unseen, so that a plain net and a
                # residual one line up side by side as in the paper's figure
                if block in shortcuts:
                    dot.node(
                        add,
                        "",
                        shape="circle",
                        width="0.12",
                        fixedsize="true",
                        fillcolor="white",
                        color="#495057",
                    )
                else:  # the line goes straight on through
                    dot.node(add, "", shape="point", width="0.02", color="#495057")
                dot.edge(previous, add, arrowhead="none")
                ends[block] = previous = add
                boxes.append((add, f"{block}+"))  # the column goes on from here
    # a block's arc: from the box before its first layer to the ⊕ after its last
    for block, kind in shortcuts.items():
        # (the element before the block's first box: the previous block's ⊕, or a box)
        members = [i for i, (_, path) in enumerate(boxes) if path.startswith(block + ".")]
        if not members or members[0] == 0 or block not in ends:
            continue
        start = boxes[members[0] - 1][0]
        dot.edge(
            start,
            ends[block],
            tailport="e",
            headport="e",
            constraint="false",
            style="solid" if kind == "identity" else "dotted",
            color=SHORTCUT_COLOUR,
            penwidth="1.4",
            arrowsize="0.6",
        )
    return dot


def comparison_dot(
    comparison: Comparison, depth: str = "layer", style: str = "default"
) -> graphviz.Digraph:
    """Items side by side (the ResNet notes' figure for two blocks; with `style` "paper" the
    paper's Figure 3: plain and residual nets in columns), with their counts."""
    dot = _new_digraph("comparison", "TB")
    dot.attr(newrank="true")
    for index, item in enumerate(comparison.items):
        with dot.subgraph(name=f"cluster_item{index}") as cluster:
            kind = numbers.kind_of(item.spec)
            cluster.attr(
                label=_label(
                    f"{item.model}{f' ({kind})' if kind else ''}\n"
                    f"{numbers.count(item.totals.conv_weights)} conv weights\n"
                    f"{numbers.count(item.totals.params)} params · {_ops(item.totals.macs)}"
                ),
                fontsize="12",
                style="rounded",
                color="#868e96",
                fontname="Helvetica",
            )
            if style == "paper":
                paper_dot(item, prefix=f"i{index}_", graph=cluster)
            else:
                to_dot(item, depth, prefix=f"i{index}_", graph=cluster)
    return dot


def renderer_for(fmt: str, prefer: str = "auto") -> tuple[str, list[str]]:
    """(name, command) of the renderer for a format; RenderError naming what to install.

    `prefer`: "auto" (Graphviz's dot when on PATH, else graphviz-pure) or "graphviz-pure"
    (the same output on every machine: used for the README's figures)."""
    dot = shutil.which("dot")
    if dot and prefer == "auto":
        return "Graphviz dot", [dot]
    pure = shutil.which("graphviz-pure") or _beside_python("graphviz-pure")
    if pure and fmt in PURE_FORMATS:
        return "graphviz-pure", [pure]
    if pure:
        raise UsageError(
            f"{fmt.upper()} needs Graphviz's dot (apt-get install graphviz, brew install "
            f"graphviz); the bundled graphviz-pure renders "
            f"{', '.join(f for f in FORMATS if f in PURE_FORMATS)}"
        )
    raise UsageError(
        "no Graphviz renderer found: pip install graphviz-pure, or install "
        "Graphviz's dot (apt-get install graphviz, brew install graphviz)"
    )


def _beside_python(name: str) -> str | None:
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.access(candidate, os.X_OK) else None


# Labels are measured by the renderers with Helvetica's metrics; SVGs embed a font with exactly
# those metrics (render/typeface.py), so that the text a browser draws on any system is the text
# the renderer measured: nothing spills out of its box.
def embed_font(svg: bytes) -> bytes:
    """An SVG from the renderer with the diagram font embedded and named on every text, and no
    reference to a remote document (Graphviz's DOCTYPE names a DTD on the web)."""
    import re

    text = re.sub(r'font-family="[^"]*"', f'font-family="{STACK}"', svg.decode("utf-8"))
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    start = text.find("<svg")
    if start < 0:
        return svg
    end = text.index(">", start) + 1
    return (text[:end] + font_face() + _HALO + text[end:]).encode("utf-8")


# A stage's title and an edge's label stay legible where a line runs under them: a halo of the
# background's white around their letters.
_HALO = (
    "<style>.cluster>text,.edge>text{paint-order:stroke;stroke:#fff;stroke-width:2.5px;"
    "stroke-linejoin:round;stroke-opacity:.85}</style>"
)


def render_dot(
    dot: graphviz.Digraph, fmt: str, prefer: str = "auto", dpi: int | None = None
) -> tuple[bytes, str]:
    """(file contents, renderer used). DOT source needs no renderer. `dpi` sets the pixels per
    inch of PNG and JPG (default RASTER_DPI, 192)."""
    source = dot.source
    if fmt == "dot":
        return source.encode("utf-8"), "none (DOT source)"
    name, command = renderer_for(fmt, prefer)
    # A picture for a slide: twice Graphviz's 96 pixels per inch unless said (10-point labels
    # 27 px tall); drawings too large for that are scaled down by dot to its 32,767 px limit.
    density = [f"-Gdpi={dpi or RASTER_DPI}"] if fmt in ("png", "jpg") else []
    try:
        result = subprocess.run(
            [*command, f"-T{fmt}", *density],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RenderError(f"{name} failed: {err}") from err
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(
            f"{name} could not render {fmt}: {message[-1] if message else 'no output'}"
        )
    return (embed_font(result.stdout) if fmt == "svg" else result.stdout), name


def diagram_depth(item: Report | Comparison, depth: str = "block") -> str:
    """The depth pages and comparisons draw: every layer of a small network, else `depth`."""
    reports = item.items if isinstance(item, Comparison) else [item]
    return "layer" if all(len(r.layers) < SMALL_NETWORK_LAYERS for r in reports) else depth


def render_diagram(
    item: Report | Comparison,
    fmt: str = "svg",
    depth: str | None = None,
    fold: bool = False,
    rankdir: str = "TB",
    dpi: int | None = None,
    style: str = "default",
) -> bytes:
    """The drawing of a report (or of a comparison's items side by side) as file contents in
    `fmt` (svg, png, jpg, pdf, dot). `depth` defaults to "block" for a report and to the small
    network policy (diagram_depth) for a comparison; `dpi` sets a PNG's or JPG's pixels per
    inch; `style` "paper" draws Figure 3 of the ResNet paper's way (paper_dot)."""
    if isinstance(item, Comparison):
        dot = comparison_dot(item, depth or diagram_depth(item), style)
    elif style == "paper":
        dot = paper_dot(item)
    else:
        dot = to_dot(item, depth or "block", fold, rankdir)
    return render_dot(dot, fmt, dpi=dpi)[0]
