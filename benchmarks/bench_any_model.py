"""`analyze()` on an nn.Module the first time in a fresh process (the CLI's `--model` case),
against the strongest peer set-up in the same run: torchinfo with `device="meta"` plus torch's
FlopCounterMode on meta tensors, each in its own fresh process, imports and the model's
construction before the clock starts. Median of --repeat runs.

The models, restated here (torchvision and timm are not needed): ResNet-50 (the preset, which
is torchvision's to the last state_dict key), MobileNet-V3-small and ShuffleNet-V2 x1.0
(benchmarks/restated.py, torchvision's to the parameter), a ViT-S/16-like transformer
(tests/factories.py's ViT at 384 wide, 12 blocks, 196 patches), a three-level UNet
(tests/factories.py) and a Sequencer2D-style stack of bidirectional LSTMs over rows and
columns (the public model whose BiLSTMs once took 7.4 s: a recurrent layer must not be stepped
one time step at a time on meta).

Run: python benchmarks/bench_any_model.py [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODELS = {
    "ResNet-50": (
        "from resnet_inspect import build_model\nmodel = build_model('resnet50')",
        (3, 224, 224),
    ),
    "ViT-S/16-like": (
        "from factories import ViTBlock\n"
        "import torch\n"
        "from torch import nn\n"
        "class ViT(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.patch = nn.Conv2d(3, 384, 16, 16)\n"
        "        self.cls = nn.Parameter(torch.zeros(1, 1, 384))\n"
        "        self.pos = nn.Parameter(torch.zeros(1, 197, 384))\n"
        "        self.blocks = nn.Sequential(*(ViTBlock(384, 6) for _ in range(12)))\n"
        "        self.head = nn.Linear(384, 1000)\n"
        "    def forward(self, x):\n"
        "        t = self.patch(x).flatten(2).transpose(1, 2)\n"
        "        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], 1) + self.pos\n"
        "        return self.head(self.blocks(t)[:, 0])\n"
        "model = ViT()",
        (3, 224, 224),
    ),
    "MobileNet-V3-small": (
        "from restated import MobileNetV3Small\nmodel = MobileNetV3Small()",
        (3, 224, 224),
    ),
    "ShuffleNet-V2 x1.0": (
        "from restated import ShuffleNetV2\nmodel = ShuffleNetV2()",
        (3, 224, 224),
    ),
    "UNet": ("from factories import UNet\nmodel = UNet()", (3, 256, 256)),
    "Sequencer-style BiLSTMs": (
        "import torch\n"
        "from torch import nn\n"
        "class Mix(nn.Module):\n"
        "    def __init__(self, dim=192, hidden=48):\n"
        "        super().__init__()\n"
        "        self.rnn_v = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)\n"
        "        self.rnn_h = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)\n"
        "        self.fc = nn.Linear(4 * hidden, dim)\n"
        "    def forward(self, x):\n"
        "        b, h, w, c = x.shape\n"
        "        v, _ = self.rnn_v(x.permute(0, 2, 1, 3).reshape(-1, h, c))\n"
        "        r, _ = self.rnn_h(x.reshape(-1, w, c))\n"
        "        v = v.reshape(b, w, h, -1).permute(0, 2, 1, 3)\n"
        "        return x + self.fc(torch.cat([v, r.reshape(b, h, w, -1)], -1))\n"
        "class Sequencer(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.stem = nn.Conv2d(3, 192, 7, 7)\n"
        "        self.blocks = nn.Sequential(*(Mix() for _ in range(4)))\n"
        "    def forward(self, x):\n"
        "        return self.blocks(self.stem(x).permute(0, 2, 3, 1)).mean((1, 2))\n"
        "model = Sequencer()",
        (3, 224, 224),
    ),
}

OURS = """
import sys, time
sys.path[:0] = [{tests!r}, {benchmarks!r}]
{build}
import resnet_inspect as ri
start = time.perf_counter()
report = ri.analyze(model, {shape!r})
print(time.perf_counter() - start, report.totals.params, report.totals.macs)
"""
PEER = """
import sys, time
sys.path[:0] = [{tests!r}, {benchmarks!r}]
import torch, torchinfo
from torch.utils.flop_counter import FlopCounterMode
{build}
model = model.to("meta").eval()
start = time.perf_counter()
stats = torchinfo.summary(model, input_size=(1, *{shape!r}), device="meta", verbose=0)
with FlopCounterMode(display=False) as counter, torch.no_grad():
    model(torch.empty(1, *{shape!r}, device="meta"))
print(time.perf_counter() - start, stats.total_params, counter.get_total_flops() // 2)
"""


def run(code: str) -> tuple[float, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    seconds, params, macs = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(params), int(macs)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tests = str(ROOT / "tests")
    print(
        f"{'model':26} {'ours (s)':>9} {'peer (s)':>9} {'peer/ours':>9}   params, MACs: ours / peer"
    )
    for name, (build, shape) in MODELS.items():
        where = {"tests": tests, "benchmarks": str(ROOT / "benchmarks")}
        ours = [run(OURS.format(**where, build=build, shape=shape)) for _ in range(args.repeat)]
        peer = [run(PEER.format(**where, build=build, shape=shape)) for _ in range(args.repeat)]
        ours_s, peer_s = median([o[0] for o in ours]), median([p[0] for p in peer])
        print(
            f"{name:26} {ours_s:9.3f} {peer_s:9.3f} {peer_s / ours_s:8.2f}x   "
            f"{ours[0][1]:,}, {ours[0][2]:,} / {peer[0][1]:,}, {peer[0][2]:,}"
        )


if __name__ == "__main__":
    main()
