"""Regenerate the README's figures: `python docs/make_figures.py` (or `--check` to fail if the
committed files are stale). Rendered with graphviz-pure, which gives the same SVG on every
machine, so the check does not depend on the local Graphviz version."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resnet_inspect import compare, summarize
from resnet_inspect.render.diagram import comparison_dot, render_dot, to_dot

FIGURES = Path(__file__).resolve().parent / "figures"


# The ResNet paper's Table 1: the v1 presets have its stride placement (3.8/7.6/11.3 x 10^9).
TABLE_1 = ["resnet18", "resnet34", "resnet50_v1", "resnet101_v1", "resnet152_v1"]


def figures() -> dict[str, bytes]:
    from resnet_inspect.render.architecture import architecture_svg

    resnet50 = to_dot(summarize("resnet50", graph=True), depth="block", fold=True)
    blocks = comparison_dot(compare(["bottleneck", "plain"], graph=True), depth="layer")
    figure3 = comparison_dot(compare(["plain34", "resnet34"], graph=True), style="paper")
    table = architecture_svg([summarize(name) for name in TABLE_1])
    return {
        "resnet50_stages.svg": render_dot(resnet50, "svg", prefer="graphviz-pure")[0],
        "bottleneck_vs_plain.svg": render_dot(blocks, "svg", prefer="graphviz-pure")[0],
        "figure3_plain34_resnet34.svg": render_dot(figure3, "svg", prefer="graphviz-pure")[0],
        "table1.svg": table.encode("utf-8") if isinstance(table, str) else table,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    stale = []
    for name, data in figures().items():
        path = FIGURES / name
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; run python docs/make_figures.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
