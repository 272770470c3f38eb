"""How long drawings take, with Graphviz's dot (when installed) and with the bundled
graphviz-pure, measured in the same run: ResNet-152 by layers, by blocks and in the paper's
style; cifar_resnet1202 by layers (the largest preset); DenseNet-121 (tests/factories.py) by
blocks, and the refusal of its layer drawing.

Run: python benchmarks/bench_diagram.py        Target: every drawing under 30 s on this 2-core
machine, or refused at once.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from resnet_inspect import analyze, summarize
from resnet_inspect.errors import UsageError
from resnet_inspect.render.diagram import paper_dot, render_dot, to_dot

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def timed(label: str, report_seconds: float, make) -> None:  # noqa: ANN001
    start = time.perf_counter()
    try:
        dot = make()
    except UsageError as err:
        print(f"  {label}: refused in {time.perf_counter() - start:.2f} s: {err}")
        return
    built = report_seconds + time.perf_counter() - start
    for prefer in (["auto"] if shutil.which("dot") else []) + ["graphviz-pure"]:
        start = time.perf_counter()
        svg, name = render_dot(dot, "svg", prefer=prefer)
        seconds = time.perf_counter() - start
        print(
            f"  {label:<28} {name:<14} report + DOT {built:5.2f} s, SVG {seconds:6.2f} s "
            f"({len(svg) / 1e6:5.2f} MB); total {built + seconds:6.2f} s"
        )


def main() -> None:
    from factories import densenet121

    start = time.perf_counter()
    resnet152 = summarize("resnet152", graph=True)
    seconds = time.perf_counter() - start
    print(f"ResNet-152: {len(resnet152.graph.nodes)} nodes, {len(resnet152.graph.edges)} edges")
    timed("ResNet-152 by layers", seconds, lambda: to_dot(resnet152, "layer"))
    timed("ResNet-152 by blocks", seconds, lambda: to_dot(resnet152, "block"))
    timed("ResNet-152, paper style", seconds, lambda: paper_dot(resnet152))
    start = time.perf_counter()
    huge = summarize("cifar_resnet1202", graph=True)
    seconds = time.perf_counter() - start
    timed("cifar_resnet1202 by layers", seconds, lambda: to_dot(huge, "layer"))
    start = time.perf_counter()
    dense = analyze(densenet121(), (3, 224, 224), name="DenseNet-121", graph=True)
    seconds = time.perf_counter() - start
    print(f"DenseNet-121: {len(dense.graph.nodes)} nodes, {len(dense.graph.edges)} edges")
    timed("DenseNet-121 by blocks", seconds, lambda: to_dot(dense, "block"))
    timed("DenseNet-121 by layers", seconds, lambda: to_dot(dense, "layer"))


if __name__ == "__main__":
    main()
