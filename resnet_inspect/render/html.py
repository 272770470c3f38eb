"""Report or Comparison -> one self-contained HTML page: the diagram (inline SVG, zoomable),
the tables, per-stage bar charts, memory, receptive field, latency when measured. No network
fetches: styles, script and pictures are all inline."""

from __future__ import annotations

import json
import math
from typing import Any

from resnet_inspect.render import numbers
from resnet_inspect.render.escape import html_text
from resnet_inspect.report import Comparison, LatencySection, Report, SignalReport

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;
max-width:1200px;color:#212529;padding:0 16px}
h1{font-size:1.6em;margin-bottom:4px}h2{font-size:1.2em;margin-top:32px;border-bottom:1px solid
#dee2e6;padding-bottom:4px}.muted{color:#6c757d;font-size:.9em}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{padding:3px 10px;border-bottom:
1px solid #e9ecef;text-align:right;white-space:nowrap}th{background:#f8f9fa}
td.text,th.text{text-align:left}tr.stage td{font-weight:600;background:#f1f3f5}
.diagram{border:1px solid #dee2e6;border-radius:6px;height:80vh;min-height:480px;
overflow:hidden;position:relative;background:#fff;cursor:grab}
.diagram svg{transform-origin:0 0;position:absolute}
.controls button{margin-right:6px}.bars{display:flex;gap:32px;flex-wrap:wrap}
.diagram g.node[id]{cursor:pointer}.diagram g.hl path{stroke-width:4px}
.diagram g.picked polygon,.diagram g.picked path,.diagram g.picked ellipse{stroke-width:3px}
#details{position:absolute;right:10px;top:10px;background:#fff;border:1px solid #ced4da;
border-radius:6px;padding:6px 10px;font-size:.85em;max-width:340px;box-shadow:0 2px 6px #0002}
#details:empty{display:none}#details table{margin:0}
nav.stages button,nav.heaviest button{margin:0 6px 6px 0}
th.sortable{cursor:pointer}th.sortable:after{content:" ⇅";color:#adb5bd}
.up{color:#e8590c}.down{color:#2b8a3e}.plot svg{width:100%;height:auto;display:block}
"""

# The page's table and muted-text styles, scoped for a fragment inside a notebook.
_FRAGMENT_STYLE = (
    ".resnet-inspect table{border-collapse:collapse;font-size:.85em;margin:8px 0}"
    ".resnet-inspect th,.resnet-inspect td{padding:2px 8px;text-align:right;white-space:nowrap}"
    ".resnet-inspect td.text,.resnet-inspect th.text{text-align:left}"
    ".resnet-inspect .muted{color:#6c757d;font-size:.9em}.resnet-inspect .bars{display:flex;"
    "gap:24px;flex-wrap:wrap}"
)

_SCRIPT = r"""
(function(){
  var errors=[];window.addEventListener('error',function(e){errors.push(String(e.message));});
  document.querySelectorAll('.diagram').forEach(function(box){
    var svg=box.querySelector('svg');if(!svg){return;}
    var size=svg.getBoundingClientRect();
    var scale,x,y,drag=null;
    // On open the whole drawing shows, centred (the network's outline); "reading size" fits
    // its width instead, labels at a readable size, from the top. A small drawing is not blown
    // up past 2x.
    function whole(){scale=Math.min(2,(box.clientWidth-24)/size.width,
        (box.clientHeight-24)/size.height);
      x=(box.clientWidth-size.width*scale)/2;y=(box.clientHeight-size.height*scale)/2;}
    function reading(){scale=Math.min(2,(box.clientWidth-24)/size.width);
      x=Math.max(12,(box.clientWidth-size.width*scale)/2);y=12;}
    function apply(){svg.style.transform='translate('+x+'px,'+y+'px) scale('+scale+')';}
    // zoom by k about a point of the panel (the pointer, or the panel's centre)
    function zoom(k,px,py){x=px-(px-x)*k;y=py-(py-y)*k;scale*=k;apply();}
    whole();
    box.addEventListener('wheel',function(e){e.preventDefault();
      if(!(e.ctrlKey||e.metaKey)){x-=e.deltaX;y-=e.deltaY;apply();return;}
      var r=box.getBoundingClientRect();
      zoom(e.deltaY<0?1.15:1/1.15,e.clientX-r.left,e.clientY-r.top);},{passive:false});
    box.addEventListener('mousedown',function(e){drag=[e.clientX-x,e.clientY-y];});
    window.addEventListener('mouseup',function(){drag=null;});
    window.addEventListener('mousemove',function(e){if(drag){x=e.clientX-drag[0];y=e.clientY-drag[1];apply();}});
    var controls=box.previousElementSibling;
    if(controls){controls.querySelectorAll('button').forEach(function(b){b.addEventListener('click',function(){
      var z=b.dataset.zoom;
      if(z==='in'||z==='out'){zoom(z==='in'?1.25:0.8,box.clientWidth/2,box.clientHeight/2);return;}
      if(z==='fit'){whole();}else{reading();}apply();});});}
    apply();
    var data=document.getElementById('node-details');
    var details=data?JSON.parse(data.textContent):{};
    var panel=box.querySelector('#details');
    function show(id){var d=details[id];if(!d||!panel){return;}
      box.querySelectorAll('g.picked').forEach(function(g){g.classList.remove('picked');});
      document.getElementById(id).classList.add('picked');
      var rows=Object.keys(d.fields).map(function(k){return '<tr><td>'+esc(k)+'</td><td>'+
        esc(d.fields[k])+'</td></tr>';}).join('');
      panel.innerHTML='<strong>'+esc(d.title)+'</strong><table>'+rows+'</table>';}
    function esc(t){return String(t).replace(/[&<>"]/g,function(c){
      return {'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c];});}
    // bring an element of the drawing into view at reading size, centred
    function goTo(element){var old=scale,r=element.getBoundingClientRect(),
        s=svg.getBoundingClientRect(),top=(r.top-s.top)/old,left=(r.left-s.left)/old;
      reading();scale=Math.max(scale,1);x=box.clientWidth/2-(left+r.width/old/2)*scale;
      y=Math.min(12,box.clientHeight/3-top*scale);apply();}
    box.querySelectorAll('g.node[id]').forEach(function(g){
      g.addEventListener('click',function(e){e.stopPropagation();show(g.id);});
      var d=details[g.id],edge=d&&d.shortcut?document.getElementById(d.shortcut):null;
      if(edge){g.addEventListener('mouseenter',function(){edge.classList.add('hl');});
        g.addEventListener('mouseleave',function(){edge.classList.remove('hl');});}});
    document.querySelectorAll('nav.stages button, nav.heaviest button').forEach(function(b){
      b.addEventListener('click',function(){var c=document.getElementById(b.dataset.target);
        if(!c){return;}goTo(c);if(details[b.dataset.target]){show(b.dataset.target);}});});
    // what a test reads: the smallest label's drawn size at reading size, in CSS px, and
    // whether the drawing as it stands is in the panel (whole, or at least in part)
    function smallest(){var sizes=Array.prototype.map.call(svg.querySelectorAll('text'),
        function(t){return parseFloat(t.getAttribute('font-size')||'0')*scale*4/3;});
      return sizes.length?Math.min.apply(null,sizes).toFixed(1):'';}
    function inPanel(){var r=svg.getBoundingClientRect(),p=box.getBoundingClientRect();
      if(r.left>=p.left-1&&r.top>=p.top-1&&r.right<=p.right+1&&r.bottom<=p.bottom+1){
        return 'whole';}
      return r.right>p.left&&r.left<p.right&&r.bottom>p.top&&r.top<p.bottom?'part':'none';}
    box.dataset.onOpen=inPanel();
    var keep={scale:scale,x:x,y:y};reading();box.dataset.smallestLabel=smallest();
    scale=keep.scale;x=keep.x;y=keep.y;apply();
    if(location.hash==='#try-it'){  // for tests: what a reader does, as real events
      var nodes=Array.prototype.slice.call(box.querySelectorAll('g.node[id]'));
      var first=nodes.find(function(g){return details[g.id];});
      if(first){first.dispatchEvent(new MouseEvent('click',{bubbles:true}));}
      var block=nodes.find(function(g){return details[g.id]&&details[g.id].shortcut;});
      if(block){block.dispatchEvent(new MouseEvent('mouseenter'));}
      var jumps=document.querySelectorAll('nav.stages button');
      if(jumps.length>2){jumps[2].dispatchEvent(new MouseEvent('click',{bubbles:true}));
        var out=controls.querySelector('[data-zoom="out"]');
        for(var i=0;i<3;i++){out.dispatchEvent(new MouseEvent('click',{bubbles:true}));}
        box.dataset.afterJumpAndZoomOut=inPanel();}}
  });
  document.querySelectorAll('table.sortable').forEach(function(table){
    table.querySelectorAll('th').forEach(function(th,col){th.classList.add('sortable');
      th.addEventListener('click',function(){var body=table.tBodies[0];
        var rows=Array.prototype.slice.call(body.rows),down=th.dataset.dir!=='down';
        th.dataset.dir=down?'down':'up';
        // a cell's data-sort is its number (a shape's elements, a kernel's size); else its
        // text, read as a number where it is one
        function key(r){var c=r.cells[col];
          if(c.dataset.sort!==undefined){return parseFloat(c.dataset.sort);}
          var t=c.textContent.replace(/[,\s]/g,'');
          var n=parseFloat(t);return isNaN(n)||!/^[-\d.]/.test(t)?t:n;}
        rows.sort(function(a,b){var x=key(a),y=key(b);
          var c=typeof x==='number'&&typeof y==='number'?x-y:
            typeof x==='number'?-1:typeof y==='number'?1:String(x).localeCompare(String(y));
          return down?-c:c;});rows.forEach(function(r){body.appendChild(r);});});});});
  if(location.hash==='#try-it'){var th=document.querySelector('table.sortable th:nth-child(5)');
    if(th){th.dispatchEvent(new MouseEvent('click',{bubbles:true}));}}
  if(location.hash==='#sort-output'){
    var out=document.querySelector('table.sortable th:nth-child(4)');
    if(out){out.dispatchEvent(new MouseEvent('click',{bubbles:true}));}}
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


class Sorted(str):
    """A cell's text with the number it sorts by (a shape by its elements, a kernel by its
    size), where the text is no number."""

    key: float

    def __new__(cls, text: str, key: float) -> Sorted:
        made = super().__new__(cls, text)
        made.key = key
        return made


def _td(value: str, text: bool) -> str:
    attributes = ' class="text"' if text else ""
    if isinstance(value, Sorted):
        attributes += f' data-sort="{value.key:g}"'
    return f"<td{attributes}>{_cell(value)}</td>"


def _table(
    header: list[str],
    rows: list[list[str]],
    classes: list[str] | None = None,
    sortable: bool = False,
    text_columns: tuple[int, ...] = (0,),
) -> str:
    """A table whose cells are escaped by construction (Markup passes as written); text
    columns left-aligned, numbers right; a `sortable` one sorts by any column when its header
    is clicked (a Sorted cell by its number)."""
    head = "".join(
        ('<th class="text">' if i in text_columns else "<th>") + f"{_cell(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for index, row in enumerate(rows):
        css = f' class="{html_text(classes[index])}"' if classes and classes[index] else ""
        cells = "".join(_td(cell, i in text_columns) for i, cell in enumerate(row))
        body.append(f"<tr{css}>{cells}</tr>")
    kind = ' class="sortable"' if sortable else ""
    return f"<table{kind}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


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


def _diagram_section(
    svg: str | None,
    note: str,
    details: dict[str, Any] | None = None,
    stages: dict[str, str] | None = None,
    heaviest: list[tuple[str, str]] | None = None,
) -> str:
    """The drawing in its pan-and-zoom panel; with `details` (node ID -> what a click shows)
    a details box, with `stages` (stage -> cluster ID) a list that jumps to each, and with
    `heaviest` ((label, node ID) of the layers that cost most) a list that jumps to those."""
    if not svg:
        return ""
    jump = "".join(
        f'<button data-target="{html_text(target)}">{html_text(name)}</button>'
        for name, target in (stages or {}).items()
    )
    heavy = "".join(
        f'<button data-target="{html_text(target)}">{html_text(label)}</button>'
        for label, target in heaviest or []
    )
    data = json.dumps(details or {}, ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<section id="diagram"><h2>Architecture</h2><p class="muted">{html_text(note)} '
        "It opens whole; scroll to move through it, Ctrl+scroll or the buttons to zoom (about "
        "the middle of the panel), drag to pan; click a box for its details.</p>"
        + (f'<nav class="stages">Jump to: {jump}</nav>' if jump else "")
        + (f'<nav class="heaviest">Heaviest layers (MACs): {heavy}</nav>' if heavy else "")
        + '<div class="controls"><button data-zoom="in" title="zoom in">+'
        '</button><button data-zoom="out" title="zoom out">−</button><button data-zoom="fit" '
        'title="the whole drawing">fit</button><button data-zoom="reading" title="the width '
        'of the panel, labels at reading size">reading size</button></div>'
        f'<div class="diagram">{_svg_inline(svg)}<div id="details"></div></div>'
        f'<script type="application/json" id="node-details">{data}</script></section>'
    )


HEAVIEST = 8  # the report page's list of the layers that cost most


def heaviest_nodes(
    report: Report, node_keys: dict[str, str], stage_ids: dict[str, str]
) -> list[tuple[str, str]]:
    """(label, node ID) for the layers with the most multiply-adds: the layer's own node where
    the drawing has one, else the block drawn that holds it, else its stage's box."""
    from resnet_inspect.render.diagram import ADD, CALL, FOLD

    nodes = {
        key.partition(CALL)[0]: node
        for node, key in reversed(node_keys.items())
        if not key.endswith(ADD)
    }
    found = []
    for item in report.top(HEAVIEST, "macs"):
        name = item["name"]
        holders = [
            key
            for key in nodes
            if not key.startswith(FOLD) and (key == name or name.startswith(key + "."))
        ]
        stage = next((row.stage for row in report.layers if row.name == name), None)
        target = nodes[max(holders, key=len)] if holders else stage_ids.get(stage or "")
        if target:
            label = f"{name} {numbers.si(item['value'])} ({100 * item['share']:.1f}%)"
            found.append((label, target))
    return found


def node_details(report: Report, node_keys: dict[str, str]) -> dict[str, Any]:
    """What a click on each node of a report's drawing shows: node ID -> {title, fields,
    shortcut (the ID of the block's shortcut edge, highlighted on hover)}."""
    from resnet_inspect.render.diagram import ADD, CALL, FOLD, shortcut_id

    rows = {row.name: row for row in report.layers}
    ids = {key: node for node, key in node_keys.items()}
    result: dict[str, Any] = {}
    for node, key in node_keys.items():
        base = key.removesuffix(ADD)
        name = base.removeprefix(FOLD).partition(CALL)[0]
        row = rows.get(name)
        shortcut = shortcut_id(ids[base + ADD]) if base + ADD in ids else None
        if key.endswith(ADD):
            result[node] = {
                "title": f"{name}: residual add",
                "fields": {"Output": numbers.shape(row.output_shape) if row else ""},
                "shortcut": shortcut,
            }
            continue
        if row is None:
            continue
        fields = {
            "Type": row.type,
            "Kernel/stride": numbers.kernel(row.kernel, row.stride, row.groups),
            "Output": numbers.shape(row.output_shape),
            "Params": numbers.count(row.params),
            "MACs": numbers.count(row.macs),
            "Full (fvcore's convention)": numbers.count(row.full_flops),
            "Receptive field": (
                f"{row.receptive_field} px, stride {row.effective_stride}"
                + (" (global upstream)" if row.global_field else "")
                if row.receptive_field
                else ""
            ),
            "Activations made": numbers.size_bytes(row.activation_bytes),
            "Calls": str(row.calls),
        }
        title = f"{name} (first of a folded run)" if key.startswith(FOLD) else name
        result[node] = {
            "title": title,
            "fields": {k: v for k, v in fields.items() if v},
            "shortcut": shortcut,
        }
    return result


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


def _report_page(
    report: Report,
    svg: str | None = None,
    depth: str = "block",
    details: dict[str, Any] | None = None,
    stages: dict[str, str] | None = None,
    heaviest: list[tuple[str, str]] | None = None,
) -> str:
    """The page for one report; `svg` is the rendered diagram (render/diagram.py), `details`,
    `stages` and `heaviest` what makes it clickable (node_details, the drawing's stage IDs,
    heaviest_nodes)."""
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
            "projection, dotted for zero-padding (hover a block to highlight its own).",
            details,
            stages,
            heaviest,
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
                    Sorted(
                        numbers.kernel(r.kernel, r.stride, r.groups),
                        math.prod(r.kernel) if r.kernel else 0,
                    ),
                    Sorted(numbers.shape(r.output_shape), math.prod(r.output_shape or [0])),
                    numbers.count(r.params),
                    numbers.count(r.macs),
                    str(r.receptive_field or ""),
                ]
                for r in rows
            ],
            ["stage" if r.depth == 1 and not r.is_leaf else "" for r in rows],
            sortable=True,
            text_columns=(0, 1),
        ),
        "</section>",
    ]
    return _page(f"resnet-inspect: {report.model}", "".join(parts))


def _comparison_rows(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """The side-by-side table: a header and a row per metric, with ratios to the baseline."""
    from resnet_inspect.render.comparison_table import item_labels, metrics_for, ratio_of

    labels = item_labels(comparison)
    base = comparison.baseline
    others = [i for i in range(len(labels)) if i != base]
    rows = []
    for name, get, show in metrics_for(comparison):
        values = [get(item) for item in comparison.items]
        ratios = []
        for i in others:
            ratio = ratio_of(values[i], values[base]) if name != "Output shape" else None
            css = "" if ratio is None or abs(ratio - 1) < 0.005 else ("up" if ratio > 1 else "down")
            ratios.append(
                Markup(f'<span class="{css}">{ratio:.3g}×</span>') if ratio is not None else ""
            )
        rows.append([name, *[show(v) for v in values], *ratios])
    header = ["", *labels, *[f"{labels[i]} / {labels[base]}" for i in others]]
    return header, rows


def _comparison_page(comparison: Comparison, svg: str | None = None) -> str:
    """The page for a comparison: metrics with ratios, per-stage bars, the items' diagram."""
    from resnet_inspect.render.comparison_table import item_labels

    labels = item_labels(comparison)
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


def signal_section(reports: list[SignalReport]) -> str:
    """The Signal Propagation Plot of `signal` (render/plots.py) and its overview table."""
    from resnet_inspect.render.plots import render_signal_plot
    from resnet_inspect.render.signal_table import figure

    svg = render_signal_plot(reports, "svg").decode("utf-8")
    svg = svg[svg.index("<svg") :]
    rows = [
        [
            report.model,
            str(len(report.blocks)),
            figure(report.blocks[-1].avg_channel_variance) if report.blocks else "-",
            figure(report.grad_norm_ratio),
            " / ".join(report.ratio_layers),
        ]
        for report in reports
    ]
    return (
        '<section id="signal"><h2>Signal propagation</h2><p class="muted">At initialisation, '
        "in training mode: per block the Signal Propagation Plot's figures (Brock, De &amp; "
        "Smith 2021), per layer the response after BN (the ResNet paper's Figure 7) and the "
        "gradient norm of a cross-entropy loss on random labels. Dashed: no residual add.</p>"
        f'<div class="plot">{svg}</div>'
        + _table(
            ["Network", "Blocks", "Last block's variance", "Gradient first / last", "Layers"],
            rows,
            text_columns=(0, 4),
        )
        + "</section>"
    )


def render_signal_page(reports: list[SignalReport]) -> str:
    """`signal --format html`: the plot and the overview table of every network."""
    names = " vs ".join(report.model for report in reports)
    return _page(
        f"resnet-inspect signal: {names}", f"<h1>{html_text(names)}</h1>" + signal_section(reports)
    )


def render_html(
    item: Report | Comparison, depth: str = "block", signal: list[SignalReport] | None = None
) -> str:
    """The self-contained HTML page of a report (what `report` writes: its diagram, small
    networks layer by layer and others at `depth`, folded; with `signal`, the Signal
    Propagation Plot of those measurements) or of a comparison (what `compare --html`
    writes: the items drawn side by side)."""
    from resnet_inspect.render.diagram import diagram_depth, render_diagram, render_dot, to_dot

    if isinstance(item, Comparison):
        return _comparison_page(item, render_diagram(item, "svg").decode("utf-8"))
    drawn = diagram_depth(item, depth)
    dot = to_dot(item, drawn, fold=drawn != "layer")
    svg, _ = render_dot(dot, "svg")
    details = node_details(item, dot.node_keys)
    heaviest = heaviest_nodes(item, dot.node_keys, dot.stage_ids)
    page = _report_page(item, svg.decode("utf-8"), depth, details, dot.stage_ids, heaviest)
    if signal:
        at = page.index('<section id="layers">')
        page = page[:at] + signal_section(signal) + page[at:]
    return page
