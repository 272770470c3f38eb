"""Report or Comparison -> one self-contained HTML page: the diagram (inline SVG, zoomable),
the tables, per-stage bar charts, memory, receptive field, latency when measured. No network
fetches: styles, script and pictures are all inline."""

from __future__ import annotations

from resnet_inspect.render import numbers
from resnet_inspect.render.escape import html_text
from resnet_inspect.report import Comparison, LatencySection, Report

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1200px;color:#212529;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.2em;margin-top:32px;border-bottom:1px solid
#dee2e6;padding-bottom:4px}.muted{color:#6c757d;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{padding:3px 10px;border-bottom:
1px solid #e9ecef;text-align:right;white-space:nowrap}th{background:#f8f9fa}
td:first-child,th:first-child{text-align:left}tr.stage td{font-weight:600;background:#f1f3f5}
.diagram{border:1px solid #dee2e6;border-radius:6px;height:80vh;min-height:480px;
overflow:hidden;position:relative;background:#fff;cursor:grab}
.diagram svg{transform-origin:0 0;position:absolute}
.controls button{margin-right:6px}.bars{display:flex;gap:32px;flex-wrap:wrap}
.up{color:#e8590c}.down{color:#2b8a3e}
"""

# The page's table and muted-text styles, scoped for a fragment inside a notebook.
_FRAGMENT_STYLE = (
    ".resnet-inspect table{border-collapse:collapse;font-size:.85em;margin:8px 0}"
    ".resnet-inspect th,.resnet-inspect td{padding:2px 8px;text-align:right;white-space:nowrap}"
    ".resnet-inspect td:first-child,.resnet-inspect th:first-child{text-align:left}"
    ".resnet-inspect .muted{color:#6c757d;font-size:.9em}.resnet-inspect .bars{display:flex;"
    "gap:24px;flex-wrap:wrap}"
)

_SCRIPT = """
(function(){
  var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message));});
  document.querySelectorAll('.diagram').forEach(function(box){
    var svg=box.querySelector('svg');if(!svg){return;}
    var size=svg.getBoundingClientRect();
    var scale,x,y,drag=null;
    // On open the drawing fills the panel's width (labels at reading size), from its top; the
    // rest is reached by scrolling. A narrow drawing is not blown up past 1.6x.
    function fit(){scale=Math.min(1.6,(box.clientWidth-24)/size.width);
      x=Math.max(12,(box.clientWidth-size.width*scale)/2);y=12;}
    function apply(){svg.style.transform='translate('+x+'px,'+y+'px) scale('+scale+')';}
    fit();
    box.addEventListener('wheel',function(e){e.preventDefault();
      if(!(e.ctrlKey||e.metaKey)){x-=e.deltaX;y-=e.deltaY;apply();return;}
      var k=e.deltaY<0?1.15:1/1.15,r=box.getBoundingClientRect();
      var px=e.clientX-r.left,py=e.clientY-r.top;
      x=px-(px-x)*k;y=py-(py-y)*k;scale*=k;apply();},{passive:false});
    box.addEventListener('mousedown',function(e){drag=[e.clientX-x,e.clientY-y];});
    window.addEventListener('mouseup',function(){drag=null;});
    window.addEventListener('mousemove',function(e){if(drag){x=e.clientX-drag[0];y=e.clientY-drag[1];apply();}});
    var controls=box.previousElementSibling;
    if(controls){controls.querySelectorAll('button').forEach(function(b){b.addEventListener('click',function(){
      var k=b.dataset.zoom==='in'?1.25:b.dataset.zoom==='out'?0.8:0;
      if(k){scale*=k;}else{fit();}apply();});});}
    apply();
  });
  document.body.dataset.ready=errors.length?'errors':'yes';
})();
"""


def _svg_inline(svg: str) -> str:
    """The <svg> element of a Graphviz SVG file (no XML prolog or DOCTYPE)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


class Markup(str):
    """HTML this module wrote itself; every other string is escaped where it is placed."""


def _cell(value: str) -> str:
    return value if isinstance(value, Markup) else html_text(value)


def _table(header: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """A table whose cells are escaped by construction (Markup passes as written)."""
    head = "".join(f"<th>{_cell(h)}</th>" for h in header)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{html_text(classes[index])}"' if classes and classes[index] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{_cell(cell)}</td>" for cell in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _bars(
    title: str, items: list[tuple[str, int]], colour: str, unit: str = "", largest: int = 0
) -> str:
    """A horizontal bar chart as inline SVG; bars are scaled to `largest` (default: the
    largest item), so charts that are compared can share one scale."""
    largest = largest or max((value for _, value in items), default=0) or 1
    height = 22 * len(items) + 30
    parts = [
        f'<svg class="bar-chart" width="520" height="{height}" role="img" '
        f'aria-label="{html_text(title)}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="14" font-size="13" font-weight="600">{html_text(title)}</text>',
    ]
    for index, (name, value) in enumerate(items):
        y = 24 + index * 22
        width = int(300 * value / largest)
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{html_text(name)}</text>')
        parts.append(
            f'<rect x="80" y="{y + 2}" width="{max(width, 1)}" height="16" fill="{colour}" rx="2"/>'
        )
        parts.append(
            f'<text x="{86 + width}" y="{y + 14}" font-size="11" fill="#495057">'
            f"{numbers.si(value, unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{html_text(title)}</title><meta name="viewport" '
        'content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>{body}"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )


def _diagram_section(svg: str | None, note: str) -> str:
    if not svg:
        return ""
    return (
        f'<section id="diagram"><h2>Architecture</h2><p class="muted">{html_text(note)} '
        "Scroll to move through it, Ctrl+scroll or the buttons to zoom, drag to pan.</p>"
        '<div class="controls"><button data-zoom="in">+'
        '</button><button data-zoom="out">−</button><button data-zoom="reset">reset'
        f'</button></div><div class="diagram">{_svg_inline(svg)}</div></section>'
    )


def _latency_rows(section: LatencySection) -> list[list[str]]:
    rows = []
    for row in section.rows:
        if row.get("error"):
            rows.append([str(row["batch_size"]), row["error"], "", "", "", ""])
            continue
        rows.append(
            [
                str(row["batch_size"]),
                f"{row['median_ms']:,.3f}",
                f"{row['p10_ms']:,.3f}–{row['p90_ms']:,.3f}",
                f"{row['cv']:.1%}",
                f"{row['images_per_s']:,.1f}",
                f"{row['tflops']:.3f}",
            ]
        )
    return rows


def _summary_sections(report: Report) -> str:
    """The totals and the per-stage bars and table: the page's core, and a notebook's view."""
    totals = report.totals
    stages = report.stages
    parts = [
        '<section id="totals"><h2>Totals</h2>',
        _table(
            ["", "value", ""],
            [
                ["Parameters", numbers.count(totals.params), numbers.si(totals.params)],
                ["Trainable", numbers.count(totals.trainable_params), ""],
                ["Buffers (BN statistics)", numbers.count(totals.buffers), ""],
                ["Conv weights", numbers.count(totals.conv_weights), ""],
                [
                    "MACs (conv + linear multiply-adds)",
                    numbers.count(totals.macs),
                    numbers.si(totals.macs),
                ],
                ["FLOPs (2 × MACs)", numbers.count(totals.flops), numbers.si(totals.flops)],
                [
                    report.flops.label if report.flops else "full (fvcore's convention)",
                    numbers.count(report.flops.full_total) if report.flops else "-",
                    "",
                ],
                ["Depth (paper)", str(totals.depth), f"{totals.weighted_layers} weighted layers"],
            ],
        ),
        f'<p class="muted">{html_text(report.conventions["macs"])}</p></section>',
        '<section id="stages"><h2>Per stage</h2><div class="bars">',
        _bars("Parameters", [(s.name, s.params) for s in stages], "#4c6ef5"),
        _bars("MACs", [(s.name, s.macs) for s in stages], "#f76707"),
        "</div>",
        _table(
            ["Stage", "Blocks", "Output", "Params", "MACs", "MACs / layer", "RF", "Stride"],
            [
                [
                    s.name,
                    str(s.blocks or ""),
                    numbers.shape(s.output_shape),
                    numbers.count(s.params),
                    numbers.count(s.macs),
                    numbers.count(s.macs_per_layer),
                    str(s.receptive_field or ""),
                    str(s.effective_stride or ""),
                ]
                for s in stages
            ],
        ),
        "</section>",
    ]
    return "".join(parts)


def render_fragment(report: Report, diagram: bool = False, depth: str = "block") -> str:
    """The totals and stage table as an HTML fragment with its style (a notebook's display);
    with `diagram`, the drawing first."""
    svg = ""
    if diagram:
        from resnet_inspect.render.diagram import diagram_depth, render_diagram

        drawn = diagram_depth(report, depth)
        svg = _svg_inline(render_diagram(report, "svg", drawn, fold=drawn != "layer").decode())
    return (
        f'<div class="resnet-inspect"><style>{_FRAGMENT_STYLE}</style>'
        f"<strong>{html_text(report.model)}</strong> "
        f'<span class="muted">input {numbers.shape([report.batch_size, *report.input_shape])}'
        f" · {html_text(report.dtype)}</span>{svg}{_summary_sections(report)}</div>"
    )


def render_comparison_fragment(comparison: Comparison) -> str:
    """The side-by-side table of a comparison as an HTML fragment (a notebook's display)."""
    header, rows = _comparison_rows(comparison)
    return (
        f'<div class="resnet-inspect"><style>{_FRAGMENT_STYLE}</style>{_table(header, rows)}</div>'
    )


def _report_page(report: Report, svg: str | None = None, depth: str = "block") -> str:
    """The page for one report; `svg` is the rendered diagram (render/diagram.py)."""
    totals = report.totals
    memory = report.memory
    parts = [
        f"<h1>{html_text(report.model)}</h1>",
        f'<p class="muted">{html_text(report.source)} · input '
        f"{numbers.shape([report.batch_size, *report.input_shape])} · {report.dtype} · "
        f"resnet-inspect {html_text(str(report.environment.get('resnet_inspect', '')))}, "
        f"torch {html_text(str(report.environment.get('torch', '')))}</p>",
        _diagram_section(
            svg,
            "Stages are boxes; orange edges are shortcuts: solid for identity, dashed for a "
            "projection, dotted for zero-padding.",
        ),
        _summary_sections(report),
    ]
    if memory:
        training = memory.training_bytes
        parts += [
            '<section id="memory"><h2>Memory</h2>',
            _table(
                ["", "bytes", ""],
                [
                    [
                        "Weights",
                        numbers.count(memory.param_bytes),
                        numbers.size_bytes(memory.param_bytes),
                    ],
                    [
                        "Inference (weights + peak activations)",
                        numbers.count(memory.inference_bytes),
                        numbers.size_bytes(memory.inference_bytes),
                    ],
                    [
                        "Saved for backward",
                        numbers.count(memory.saved_activation_bytes),
                        numbers.size_bytes(memory.saved_activation_bytes),
                    ],
                    *[
                        [
                            f"Training, {name.replace('_', ' ')}",
                            numbers.count(int(value)),
                            numbers.size_bytes(int(value)),
                        ]
                        for name, value in training.items()
                    ],
                ],
            ),
            "</section>",
        ]
    parts += [
        '<section id="receptive-field"><h2>Receptive field</h2>',
        f"<p>{numbers.field(totals.receptive_field, totals.local_receptive_field)} at the last "
        f"feature map, effective stride "
        f"{totals.effective_stride or '-'} (the largest over all paths, shortcuts included).</p>",
        "</section>",
    ]
    if report.latency:
        parts += [
            '<section id="latency"><h2>Latency</h2>',
            f'<p class="muted">{html_text(report.latency.device_name)} '
            f"({html_text(report.latency.device)}), {html_text(report.latency.timing)}"
            "</p>",
            _table(
                ["Batch", "Median ms", "p10–p90 ms", "CV", "Images/s", "TFLOP/s"],
                _latency_rows(report.latency),
            ),
            "</section>",
        ]
    rows = report.layers_at(depth)
    parts += [
        f'<section id="layers"><h2>Layers ({html_text(depth)})</h2>',
        _table(
            ["Module", "Type", "Kernel/stride", "Output", "Params", "MACs", "RF"],
            [
                [
                    r.name,
                    r.type,
                    numbers.kernel(r.kernel, r.stride, r.groups),
                    numbers.shape(r.output_shape),
                    numbers.count(r.params),
                    numbers.count(r.macs),
                    str(r.receptive_field or ""),
                ]
                for r in rows
            ],
            ["stage" if r.depth == 1 and not r.is_leaf else "" for r in rows],
        ),
        "</section>",
    ]
    return _page(f"resnet-inspect: {report.model}", "".join(parts))


def _comparison_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The side-by-side table: a header and a row per metric, with ratios to the baseline."""
    from resnet_inspect.render.compare import _labels, _ratio, metrics_for

    labels = _labels(comparison)
    base = comparison.baseline
    others = [i for i in range(len(labels)) if i != base]
    rows = []
    for name, get, show in metrics_for(comparison):
        values = [get(item) for item in comparison.items]
        ratios = []
        for i in others:
            ratio = _ratio(values[i], values[base]) if name != "Output shape" else None
            css = "" if ratio is None or abs(ratio - 1) < 0.005 else ("up" if ratio > 1 else "down")
            ratios.append(
                Markup(f'<span class="{css}">{ratio:.3g}×</span>') if ratio is not None else ""
            )
        rows.append([name, *[show(v) for v in values], *ratios])
    header = ["", *labels, *[f"{labels[i]} / {labels[base]}" for i in others]]
    return header, rows


def _comparison_page(comparison: Comparison, svg: str | None = None) -> str:
    """The page for a comparison: metrics with ratios, per-stage bars, the items' diagram."""
    from resnet_inspect.render.compare import _labels

    labels = _labels(comparison)
    base = comparison.baseline
    header, rows = _comparison_rows(comparison)
    largest = max((s.macs for item in comparison.items for s in item.stages), default=0)
    bars = "".join(
        _bars(
            f"{label}: MACs per stage",
            [(s.name, s.macs) for s in item.stages],
            "#f76707",
            largest=largest,  # one scale for every chart: 218 M is drawn shorter than 3.7 G
        )
        for label, item in zip(labels, comparison.items, strict=True)
    )
    body = (
        f"<h1>{html_text(' vs '.join(labels))}</h1>"
        f'<p class="muted">baseline {html_text(labels[base])}</p>'
        + _diagram_section(svg, "The items side by side, with their counts.")
        + '<section id="totals"><h2>Side by side</h2>'
        + _table(header, rows)
        + "</section>"
        + f'<section id="stages"><h2>Per stage</h2><div class="bars">{bars}</div></section>'
    )
    return _page(f"resnet-inspect: {' vs '.join(labels)}", body)


def render_html(item: Report | Comparison, depth: str = "block") -> str:
    """The self-contained HTML page of a report (what `report` writes: its diagram, small
    networks layer by layer and others at `depth`, folded) or of a comparison (what
    `compare --html` writes: the items drawn side by side)."""
    from resnet_inspect.render.diagram import diagram_depth, render_diagram

    if isinstance(item, Comparison):
        return _comparison_page(item, render_diagram(item, "svg").decode("utf-8"))
    drawn = diagram_depth(item, depth)
    svg = render_diagram(item, "svg", drawn, fold=drawn != "layer")
    return _report_page(item, svg.decode("utf-8"), depth)
