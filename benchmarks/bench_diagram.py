"""How long the ResNet-152 layer-level diagram takes: summary + DOT + SVG, with Graphviz's dot
(when installed) and with the bundled graphviz-pure, measured in the same run.

Run: python benchmarks/bench_diagram.py        Target: under 10 s on this 2-core machine.
"""

from __future__ import annotations

import shutil
import time

from resnet_inspect.pipeline import summarize
from resnet_inspect.render.diagram import render_dot, to_dot


def main() -> None:
    start = time.perf_counter()
    report = summarize("resnet152", graph=True)
    dot = to_dot(report, "layer")
    built = time.perf_counter() - start
    nodes = len(report.graph.nodes)
    print(
        f"ResNet-152, layer level: {nodes} nodes, {len(report.graph.edges)} edges; "
        f"summary + DOT {built:.2f} s"
    )
    for prefer in (["auto"] if shutil.which("dot") else []) + ["graphviz-pure"]:
        start = time.perf_counter()
        svg, name = render_dot(dot, "svg", prefer=prefer)
        seconds = time.perf_counter() - start
        total = built + seconds
        print(
            f"  {name:<14} SVG {len(svg) / 1e6:5.2f} MB in {seconds:6.2f} s; total "
            f"{total:6.2f} s ({total / 10:.2f} of the 10 s target)"
        )


if __name__ == "__main__":
    main()
