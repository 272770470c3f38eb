"""The pass over a spec's plan (no torch) against the built model's meta pass: the same report,
field by field, for every preset and for specs that use every layer kind; and a spec's summary
never loads torch.

The numbers themselves are checked elsewhere against independent sources (torchvision's
manifests, the papers, FlopCounterMode and fvcore on real tensors, hand arithmetic); this file
holds the two passes to each other, so those checks cover both."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from resnet_inspect import build_model, summarize
from resnet_inspect.errors import AnalysisError
from resnet_inspect.spec import load_checked, preset_names


def both(target, **options):
    """The JSON of the plan's pass and of the built model's, graph included."""
    plan = summarize(target, graph=True, **options).to_dict()
    model = summarize(target, graph=True, from_model=True, **options).to_dict()
    return plan, model


def assert_same(plan: dict, model: dict) -> None:
    # the first row or node that differs, rather than two walls of JSON
    for key in ("layers", "stages"):
        for mine, theirs in zip(plan[key], model[key], strict=True):
            assert mine == theirs
    for key in ("nodes", "edges"):
        for mine, theirs in zip(plan["graph"][key], model["graph"][key], strict=True):
            assert mine == theirs
    assert json.dumps(plan, sort_keys=True) == json.dumps(model, sort_keys=True)


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_gives_the_built_models_report(name):
    assert_same(*both(name, batch_size=2))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("resnet50d", {"input_shape": "3x67x45"}),  # odd sizes: the ceil-mode shortcut pool
        ("seresnet50", {"dtype": "bfloat16", "batch_size": 3}),
        ("cifar_resnet20", {"input_shape": "3x33x31", "dtype": "float16"}),
        ("preact_resnet18", {"input_shape": "1x64x64"}),
    ],
)
def test_other_inputs_and_dtypes(name, options):
    assert_same(*both(name, **options))


# Every layer kind and shortcut the plan knows, in specs of their own: a padded stem with an
# average pool, biased convolutions, a max-pooled head, per-block shortcuts (identity, zero-pad,
# projection, none), ResNet-D's pool at stride 1 and 2, SE on a pre-activation block.
KINDS = {
    "stem_pad_avgpool.yaml": """
name: stem_pad_avgpool
input: [3, 37, 41]
stem:
  - {pad: 2}
  - {conv: 8, kernel: 5, stride: 2}
  - bn
  - relu
  - {avgpool: 3, stride: 2, padding: 1}
block: basic
bias: true
stages:
  - filters: [8, 8]
    blocks: [identity_block, {shortcut: zeropad, filters: [16, 16]}, {shortcut: none}]
    stride: 1
  - {filters: [24, 24], blocks: 2, stride: 2}
head: {pool: max, classes: 7}
""",
    "shortcut_d.yaml": """
name: shortcut_d
input: [3, 40, 40]
stem: [{conv: 16, kernel: 3, stride: 1}, bn, relu]
block: bottleneck
shortcut: D
stride_on: 1x1
groups: 2
stages:
  - {filters: [8, 8, 32], blocks: 2, stride: 1}
  - {filters: [16, 16, 64], blocks: 2, stride: 2}
head: none
""",
    "preact_se.yaml": """
name: preact_se
input: [3, 32, 32]
stem: [{conv: 16, kernel: 3, stride: 1}]
block: preact_basic
shortcut: C
se: {reduction: 4, divisor: 1}
stages:
  - {filters: [16, 16], blocks: 2, stride: 1}
  - {filters: [32, 32], blocks: 1, stride: 2}
head: {classes: 10}
""",
}


@pytest.mark.parametrize("file", sorted(KINDS))
def test_every_layer_kind(write_spec, file):
    path = write_spec(KINDS[file], file)
    assert_same(*both(path, batch_size=2))
    # and the numbers are the real model's: its forward's output, its parameters, its MACs
    spec, _ = load_checked(path)
    report = summarize(path, batch_size=2)
    model = build_model(spec).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(2, *spec.input))
    assert list(out.shape) == report.totals.output_shape
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert counter.get_total_flops() == 2 * report.totals.macs


@pytest.mark.subprocess
def test_a_spec_summary_never_loads_torch():
    code = (
        "import sys; from resnet_inspect import summarize, render_table\n"
        "from resnet_inspect.render import render_text\n"
        "report = summarize('seresnet50', batch_size=8, check=True, graph=True)\n"
        "render_text(render_table(report))\n"
        "print(report.totals.params, 'torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["28088024", "False"], result.stderr


def test_a_forward_the_stand_ins_cannot_run_falls_back_to_the_traced_model(monkeypatch):
    from resnet_inspect.errors import TracedInstead
    from resnet_inspect.plan.blocks import BLOCKS

    block = BLOCKS["basic"]

    def forward(self, x):  # a new tensor method: the plan's pass has no stand-in for it
        return self.add_shortcut(
            self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))), x
        ).clamp(0)

    monkeypatch.setitem(BLOCKS, "basic", type("BasicBlock", (block,), {"forward": forward}))
    missing = "no stand-in for the tensor operation 'clamp'"
    with pytest.warns(TracedInstead, match=missing) as caught:
        report = summarize("resnet18")
    assert len(caught) == 1 and "\n" not in str(caught[0].message)  # one line
    assert report.flops.uncounted_ops["aten::clamp"] == 8  # every block's, in the traced model


def test_a_forward_that_calls_layers_out_of_order_is_caught(monkeypatch):
    from resnet_inspect.plan.blocks import BLOCKS

    block = BLOCKS["bottleneck"]

    def forward(self, x):  # conv3 before conv2: the shapes no longer fit the plan
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.conv3(out)
        return self.relu3(self.add_shortcut(out, x))

    monkeypatch.setitem(BLOCKS, "bottleneck", type("Bottleneck", (block,), {"forward": forward}))
    # layer1 runs at stride 1, where a 1×1 after the first 1×1 still fits; layer2.0's does not
    message = r"layer2\.0\.conv3: conv planned for an input of 1×128×28×28, got 1×128×56×56"
    with pytest.raises(AnalysisError, match=message):
        summarize("resnet50")
