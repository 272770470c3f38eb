"""Report -> Graphviz diagram (DOT built with the `graphviz` package) -> SVG, PNG, PDF or DOT.

Nodes show the layer type and its hyper-parameters, parameters and MACs; edges carry tensor
shapes (C×H×W); shortcut edges are dashed, coloured and labelled identity / projection 1×1 /
zero-pad; stages are clusters (and, at layer depth, blocks inside them); runs of identical
blocks can be folded into one node. Rendering uses Graphviz's `dot` when it is on PATH, else the
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
from resnet_inspect.report import Comparison, GraphSection, LayerRow, Report

SHORTCUT_COLOUR = "#d9480f"
STAGE_COLOURS = ["#e7f5ff", "#ebfbee", "#fff9db", "#f3f0ff", "#fff0f6", "#e6fcf5"]
PURE_FORMATS = {"svg", "png", "jpg", "dot"}
FORMATS = ("svg", "png", "jpg", "pdf", "dot")
SMALL_NETWORK_LAYERS = 60  # fewer modules than this: drawn layer by layer in pages and compare


def _label(text: str) -> str:
    """Every label goes through here: each line escaped for DOT (render/escape.py)."""
    return dot_lines(*text.split("\n"))


def _shape(dims: list[int]) -> str:
    return "×".join(str(d) for d in dims)


def _ops(value: int) -> str:
    return numbers.si(value, "MACs") if value else ""


def _layer_label(node: dict[str, Any]) -> str:
    name = node["module"].rsplit(".", 1)[-1] if node["module"] else node["type"]
    if node["kind"] in ("input", "output"):
        return f"{node['kind']}\n{_shape(node['output_shape'])}"
    head = node["type"] if node["kind"] == "op" else f"{name} · {node['type']}"
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
                result[row.name] = (f"fold_{names[0]}", len(run), names)
        run.clear()

    for row in blocks:
        if run and signature(row) != signature(run[-1]):
            close()
        run.append(row)
    close()
    return result


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
    dot = _new_digraph("resnet_inspect", rankdir) if graph is None else graph
    rows = {row.name: row for row in report.layers}
    stage_names = [s.name for s in report.stages if s.kind == "stage"]
    shortcuts = _block_shortcuts(data)
    folds = _folds(report, shortcuts) if fold else {}
    fold_names = {key: names for key, _, names in folds.values()}
    limit = {"stage": 1, "block": 2, "layer": None}[depth]

    def group_of(node: dict[str, Any]) -> str:
        parts = node["module"].split(".") if node["module"] else []
        block = ".".join(parts[:2]) if len(parts) >= 2 else None
        if block in folds:
            return folds[block][0]
        if limit is None or not parts or node["kind"] in ("input", "output"):
            return f"{prefix}n{node['id']}"
        return ".".join(parts[:limit])

    groups: dict[str, list[dict[str, Any]]] = {}
    for node in data.nodes:
        groups.setdefault(group_of(node), []).append(node)

    ids: dict[str, str] = {}

    def node_name(key: str) -> str:
        """Our own DOT ID for a node: user text never becomes an ID (or an SVG comment)."""
        return ids.setdefault(key, f"{prefix}g{len(ids)}")

    def container(key: str, members: list[dict[str, Any]]) -> tuple[str | None, str | None]:
        parts = members[0]["module"].split(".") if members[0]["module"] else []
        stage = parts[0] if parts and parts[0] in stage_names else None
        block = ".".join(parts[:2]) if depth == "layer" and len(parts) >= 2 else None
        if key in fold_names or block not in rows or rows[block].is_leaf:
            block = None
        return stage, block

    clusters: dict[str | None, dict[str | None, list[tuple[str, str, dict[str, str]]]]] = {}
    for key, members in groups.items():
        first = members[0]
        attributes: dict[str, str] = {}
        if key in fold_names:
            names = fold_names[key]
            label = _group_label(rows[names[0]], len(names), names, shortcuts.get(names[0]))
            attributes = {"style": "rounded,filled,dashed", "fillcolor": "#f8f9fa"}
        elif len(members) == 1 and (
            limit is None or first["kind"] != "op" or "." not in first["module"]
        ):
            label = _layer_label(first)
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
            row = rows.get(key)
            label = _group_label(row, 1, [key], shortcuts.get(key)) if row else key
        stage, block = container(key, members)
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
        with dot.subgraph(name=f"cluster_{prefix}s{stage_index}") as cluster:
            colour = STAGE_COLOURS[stage_index % len(STAGE_COLOURS)]
            summary = next(s for s in report.stages if s.name == stage)
            plural = "block" if summary.blocks == 1 else "blocks"
            cluster.attr(
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
    for edge in data.edges:
        source, target = node_group[edge["source"]], node_group[edge["target"]]
        if source == target or (source, target) in drawn:
            continue
        drawn.add((source, target))
        label = _shape(edge["shape"])
        if edge["shortcut"]:
            dot.edge(
                node_name(source),
                node_name(target),
                label=_label(f"{edge['shortcut']}\n{label}"),
                style="dashed",
                color=SHORTCUT_COLOUR,
                fontcolor=SHORTCUT_COLOUR,
                penwidth="1.3",
            )
        else:
            dot.edge(node_name(source), node_name(target), label=_label(label))
    return dot


def comparison_dot(comparison: Comparison, depth: str = "layer") -> graphviz.Digraph:
    """Items side by side (the ResNet notes' figure for two blocks), with their counts."""
    dot = _new_digraph("comparison", "TB")
    dot.attr(newrank="true")
    for index, item in enumerate(comparison.items):
        with dot.subgraph(name=f"cluster_item{index}") as cluster:
            cluster.attr(
                label=_label(
                    f"{item.model}\n{numbers.count(item.totals.conv_weights)} conv "
                    f"weights · {numbers.count(item.totals.params)} params · "
                    f"{_ops(item.totals.macs)}"
                ),
                fontsize="12",
                style="rounded",
                color="#868e96",
                fontname="Helvetica",
            )
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


def render_dot(dot: graphviz.Digraph, fmt: str, prefer: str = "auto") -> tuple[bytes, str]:
    """(file contents, renderer used). DOT source needs no renderer."""
    source = dot.source
    if fmt == "dot":
        return source.encode("utf-8"), "none (DOT source)"
    name, command = renderer_for(fmt, prefer)
    try:
        result = subprocess.run(
            [*command, f"-T{fmt}"],
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
    return result.stdout, name


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
) -> bytes:
    """The drawing of a report (or of a comparison's items side by side) as file contents in
    `fmt` (svg, png, jpg, pdf, dot). `depth` defaults to "block" for a report and to the small
    network policy (diagram_depth) for a comparison."""
    if isinstance(item, Comparison):
        dot = comparison_dot(item, depth or diagram_depth(item))
    else:
        dot = to_dot(item, depth or "block", fold, rankdir)
    return render_dot(dot, fmt)[0]
