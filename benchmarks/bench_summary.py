"""Summary speed and memory against the peers, measured in the same run.

1. ResNet-152, batch 32, 224x224: resnet-inspect's summary with every analyzer on (spec ->
   meta model -> shapes, params, MACs, fvcore-convention FLOPs, memory, receptive field, the
   spec-vs-model check -> the default block-level table rendered) against torchinfo
   `summary` followed by fvcore `FlopCountAnalysis` on the same model with real tensors.
   Target: >= 10x faster.
2. Peak RSS of a fresh process summarising ResNet-50 at batch 1 and at batch 256.
   Target: within 10%.
3. The 1202-layer CIFAR ResNet end to end through the CLI (a fresh process, imports included).
   Target: under 10 s.
4. Against the strongest peer set-up: torchinfo with device="meta" plus torch's FlopCounterMode
   on meta tensors, on an already-built model, against our summarize(check=True) and the
   default table (our figure includes loading and planning the spec). Target: >= 10x. Printed
   warm (best of runs in one process) and cold (the first call in a fresh process, imports paid
   before the clock starts); for reference also summarize(from_model=True), which builds the
   nn.Module on the meta device and traces it instead of running the plan's pass.
5. `resnet-inspect summary resnet152 --batch-size 32` (a fresh process) against
   `python -c "import torch"`. Target: within 1 s of it.
6. For reference: summary --fvcore (fvcore itself, on real weights).
7. The table layout: ResNet-152's summary by layers (468 rows) laid out by SafeTable (on rich's
   public API) against rich's own Table holding the same cells, at full width and at 132
   columns. Target: >= 5x.

Run: python benchmarks/bench_summary.py [--repeat N]
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time

# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork + exec from the parent (which has
# just run the peers at batch 32), while VmHWM belongs to the new process image.
RSS_CODE = """
from resnet_inspect import summarize
from resnet_inspect.render import render_table_text
report = summarize("resnet50", batch_size={batch})
render_table_text(report, "layer")
status = open("/proc/self/status").read().splitlines()
print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def time_ours(repeat: int, from_model: bool = False) -> float:
    from resnet_inspect import summarize
    from resnet_inspect.render import render_table_text

    best = float("inf")
    for _ in range(repeat):  # the first run is cold: it pays the lazy imports
        start = time.perf_counter()
        # every analyzer on
        report = summarize("resnet152", batch_size=32, check=True, from_model=from_model)
        render_table_text(report, "block")  # the default `summary` table
        best = min(best, time.perf_counter() - start) if repeat > 1 else time.perf_counter() - start
    return best


def time_peers() -> tuple[float, float]:
    import torch
    import torchinfo
    from fvcore.nn import FlopCountAnalysis

    from resnet_inspect import build_model

    model = build_model("resnet152").eval()
    x = torch.randn(32, 3, 224, 224)
    start = time.perf_counter()
    torchinfo.summary(model, input_data=x, verbose=0)
    middle = time.perf_counter()
    flops = FlopCountAnalysis(model, x)
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    flops.total()
    return middle - start, time.perf_counter() - middle


def time_strongest_peer(repeat: int) -> float:
    """torchinfo on meta + FlopCounterMode on meta tensors, on a model built beforehand."""
    import torch
    import torchinfo
    from torch.utils.flop_counter import FlopCounterMode

    from resnet_inspect import build_model

    model = build_model("resnet152", device="meta").eval()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        torchinfo.summary(model, input_size=(32, 3, 224, 224), device="meta", verbose=0)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(torch.empty(32, 3, 224, 224, device="meta"))
        counter.get_total_flops()
        best = min(best, time.perf_counter() - start)
    return best


# The first call in a fresh process, its imports paid before the clock starts: what a user of
# either set-up waits for the first summary (the peer's FlopCounterMode pays torch's lazy
# imports on first use, ours the first meta pass).
COLD_PEER = """
import time, torch, torchinfo
from torch.utils.flop_counter import FlopCounterMode
from resnet_inspect import build_model
model = build_model("resnet152", device="meta").eval()
start = time.perf_counter()
torchinfo.summary(model, input_size=(32, 3, 224, 224), device="meta", verbose=0)
with FlopCounterMode(display=False) as counter, torch.no_grad():
    model(torch.empty(32, 3, 224, 224, device="meta"))
counter.get_total_flops()
print(time.perf_counter() - start)
"""
COLD_OURS = """
import time, torch
from resnet_inspect import summarize
from resnet_inspect.render import render_table_text
start = time.perf_counter()
render_table_text(summarize("resnet152", batch_size=32, check=True), "block")
print(time.perf_counter() - start)
"""


def cold_seconds(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def python_seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def peak_rss_kib(batch: int) -> int:
    out = subprocess.run(
        [sys.executable, "-c", RSS_CODE.format(batch=batch)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])


def cli_seconds(*args: str) -> float:
    import os

    command = os.path.join(os.path.dirname(sys.executable), "resnet-inspect")
    start = time.perf_counter()
    subprocess.run([command, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def table_seconds(repeat: int) -> tuple[float, float, float, float]:
    """(SafeTable full width, rich full width, SafeTable at 132, rich at 132): best of
    `repeat`, ResNet-152 by layers at batch 32."""
    import io

    from rich.console import Console
    from rich.table import Table

    from resnet_inspect import summarize
    from resnet_inspect.render.table import render_table

    report = summarize("resnet152", batch_size=32)
    ours = render_table(report, "layer").renderables[0]
    theirs = Table(title=ours.title, title_justify="left", header_style="bold", show_edge=False)
    theirs.pad_edge = False
    for column in ours.columns:
        theirs.add_column(column.header, justify=column.justify, no_wrap=column.no_wrap)
    for index, row in enumerate(ours.rows):
        theirs.add_row(*(column.cells[index] for column in ours.columns), style=row.style or None)
        if row.end_section:
            theirs.add_section()

    def best(table: object, width: int) -> float:
        fastest = float("inf")
        for _ in range(repeat):
            console = Console(file=io.StringIO(), width=width, color_system=None)
            start = time.perf_counter()
            console.print(table, crop=False)
            fastest = min(fastest, time.perf_counter() - start)
        return fastest

    return best(ours, 1000), best(theirs, 1000), best(ours, 132), best(theirs, 132)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="best of N for ours (1 = cold)")
    args = parser.parse_args()
    import torch

    print(
        f"machine: {platform.machine()}, {platform.processor() or '?'}, "
        f"{torch.get_num_threads()} threads; python {platform.python_version()}; "
        f"torch {torch.__version__}"
    )

    ours = time_ours(args.repeat)
    torchinfo_s, fvcore_s = time_peers()
    peers = torchinfo_s + fvcore_s
    print("\n1. ResNet-152, batch 32, 224x224")
    print(f"   resnet-inspect summary:           {ours:8.2f} s")
    print(f"   torchinfo summary (real tensors): {torchinfo_s:8.2f} s")
    print(f"   fvcore FlopCountAnalysis:         {fvcore_s:8.2f} s")
    print(f"   ratio peers / ours:               {peers / ours:8.1f}x  (target >= 10x)")

    one, many = peak_rss_kib(1), peak_rss_kib(256)
    print("\n2. Peak RSS of a fresh process, ResNet-50 summary")
    print(f"   batch 1:   {one / 1024:8.1f} MiB")
    print(f"   batch 256: {many / 1024:8.1f} MiB")
    print(f"   ratio:     {many / one:8.3f}  (target within 1.10)")

    seconds = cli_seconds("summary", "cifar_resnet1202", "--depth", "layer", "--format", "json")
    print("\n3. cifar_resnet1202 through the CLI (fresh process, imports included)")
    print(f"   wall time: {seconds:8.2f} s  (target < 10 s)")

    repeat = max(args.repeat, 3)
    strongest = time_strongest_peer(repeat)
    warm = time_ours(repeat)  # warm, like the peer's (its imports are paid)
    traced = time_ours(repeat, from_model=True)
    print(f"\n4. ResNet-152, batch 32: the strongest peer set-up, warm, best of {repeat}")
    print(f"   resnet-inspect summarize + table:        {warm:8.3f} s (from the spec)")
    print(f"   torchinfo meta + FlopCounterMode meta:   {strongest:8.3f} s (model built before)")
    print(f"   ratio peer / ours:                       {strongest / warm:8.1f}x  (target >= 10x)")
    print(f"   for reference, from_model=True:          {traced:8.3f} s (builds and traces it)")
    print(f"   ratio peer / from_model:                 {strongest / traced:8.1f}x")
    runs = max(args.repeat, 3)
    cold_peer, cold_ours = [], []
    for _ in range(runs):  # alternating, so both see the same load
        cold_peer.append(cold_seconds(COLD_PEER))
        cold_ours.append(cold_seconds(COLD_OURS))
    print(f"   first call in a fresh process (imports before the clock), median of {runs}:")
    print(f"   resnet-inspect summarize + table:        {median(cold_ours):8.3f} s")
    print(f"   torchinfo meta + FlopCounterMode meta:   {median(cold_peer):8.3f} s")
    ratio = median(cold_peer) / median(cold_ours)
    print(f"   ratio peer / ours:                       {ratio:8.1f}x  (target >= 10x)")

    differences, commands, torches = [], [], []
    for _ in range(runs):
        commands.append(cli_seconds("summary", "resnet152", "--batch-size", "32"))
        torches.append(python_seconds("import torch"))
        differences.append(commands[-1] - torches[-1])
    print("\n5. `resnet-inspect summary resnet152 --batch-size 32` against `import torch`")
    print(f"   (median of {runs}, alternating)")
    print(f"   the command:   {median(commands):8.2f} s")
    print(f"   import torch:  {median(torches):8.2f} s")
    print(f"   difference:    {median(differences):8.2f} s  (target <= 1 s; negative: faster than")
    print("                  importing torch, which a spec's summary does not do)")

    seconds = cli_seconds("summary", "resnet152", "--batch-size", "32", "--fvcore")
    print("\n6. For reference: summary --fvcore (fvcore itself counts, on real weights at batch 1)")
    print(f"   ResNet-152 through the CLI: {seconds:8.2f} s")

    ours_full, rich_full, ours_132, rich_132 = table_seconds(max(args.repeat, 3))
    print("\n7. The table layout: ResNet-152 by layers (468 rows), the same cells, best of runs")
    print(f"   full width:  SafeTable {ours_full:7.3f} s   rich's Table {rich_full:7.3f} s", end="")
    print(f"   ratio {rich_full / ours_full:6.1f}x  (target >= 5x)")
    print(f"   132 columns: SafeTable {ours_132:7.3f} s   rich's Table {rich_132:7.3f} s", end="")
    print(f"   ratio {rich_132 / ours_132:6.1f}x  (target >= 5x)")


if __name__ == "__main__":
    main()
