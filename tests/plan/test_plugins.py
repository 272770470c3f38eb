"""Blocks and layer kinds of the user's own, from a file in a temporary directory: named by a
spec, refused until the user imports them (a spec never imports code), then summarised,
checked, drawn, compared and reported; a forward the stand-ins cannot run is traced instead,
in one line. The numbers are held to a real forward (parameters, FlopCounterMode) and to
hand arithmetic."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest
import torch
from click.testing import CliRunner
from torch.utils.flop_counter import FlopCounterMode

import resnet_inspect as ri
from resnet_inspect.cli import cli
from resnet_inspect.errors import SpecError, TracedInstead

BLOCKS_FILE = '''
"""A gated basic block and a Hardswish layer kind, written outside resnet-inspect."""
from typing import Any

import torch

from resnet_inspect import Block, LayerKind
from resnet_inspect.plan import conv_layer, make, post_activation
from resnet_inspect.plan.tree import Layer


class HardSwish(LayerKind):
    """nn.Hardswish: x * relu6(x + 3) / 6; no parameters."""

    name = "my_hardswish"
    module_type = "Hardswish"
    operations = ("aten::hardswish",)
    fast_path = False  # the meta pass runs nn.Hardswish's forward

    def make_module(self, layer: Layer) -> Any:
        return torch.nn.Hardswish()


class GatedBlock(Block):
    """3×3 conv, BN, hardswish, 3×3 conv, BN; times a sigmoid gate (a 1×1 conv of it); add
    shortcut; ReLU."""

    name = "my_gated"
    filters = 2
    example = "[64, 64]"
    final_relu = "relu2"

    @classmethod
    def plan(cls, block):
        first, second = block.filters
        conv1 = conv_layer("conv1", block.in_channels, first, 3, block.stride, block.in_size)
        conv2 = conv_layer("conv2", first, second, 3, 1, conv1.out_size)
        main = post_activation([conv1, conv2], block.norm)
        main[2] = make("my_hardswish", "relu1", first, conv1.out_size)  # in place of the ReLU
        gate_conv = conv_layer("gate_conv", second, second, 1, 1, conv2.out_size, 1, True)
        return [*main, gate_conv, make("sigmoid", "gate", second, conv2.out_size)]

    @classmethod
    def complexity(cls, block):
        """Two 3×3 convs, their BNs, the gate's 1×1 conv with its bias."""
        f1, f2 = block.filters
        height = -(-block.in_size[0] // block.stride)
        width = -(-block.in_size[1] // block.stride)
        weights = 9 * block.in_channels * f1 + 9 * f1 * f2 + f2 * f2
        return weights + 2 * (f1 + f2) + f2, weights * height * width

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = out * self.gate(self.gate_conv(out))
        return self.relu2(self.add_shortcut(out, x))


class CatBlock(GatedBlock):
    """As GatedBlock, its gate made of a concatenation: an operation the stand-ins lack."""

    name = "my_cat"

    @classmethod
    def complexity(cls, block):
        return None  # states none: --check says so

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        both = torch.cat([out, out], 1)[:, : out.shape[1]]
        out = out * self.gate(self.gate_conv(both))
        return self.relu2(self.add_shortcut(out, x))
'''

SPEC = """\
name: gated_net
input: [3, 32, 32]
stem:
  - {{conv: 16, kernel: 3, padding: 1}}
  - bn
  - relu
block: {block}
shortcut: B
stages:
  - {{filters: [16, 16], blocks: 2, stride: 1}}
  - {{filters: [32, 32], blocks: 2, stride: 2}}
head: {{pool: avg, classes: 10}}
"""


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """A directory with the user's module and specs, as the working directory; the module is
    forgotten afterwards (its classes stay registered under names no other test uses)."""
    (tmp_path / "my_blocks.py").write_text(textwrap.dedent(BLOCKS_FILE), encoding="utf-8")
    specs = {"gated": "my_blocks:GatedBlock", "cat": "my_cat", "named": "my_gated"}
    for name, block in specs.items():
        (tmp_path / f"{name}.yaml").write_text(SPEC.format(block=block), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("my_blocks", None)


def test_a_spec_never_imports_the_code_it_names(user_dir):
    assert "my_blocks" not in sys.modules
    result = CliRunner().invoke(cli, ["summary", "gated.yaml"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "gated.yaml:7:8: block: my_blocks:GatedBlock names Python code, and resnet-inspect "
        "never imports code because a file says so: import my_blocks first (--import "
        "my_blocks on the command line; `import my_blocks` in Python)"
    )
    assert "my_blocks" not in sys.modules and "Traceback" not in result.output


def _built_counts(spec: str) -> tuple[int, int]:
    """Parameters and FlopCounterMode's multiply-adds of the built model's real forward."""
    model = ri.build_model(spec).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def test_a_block_from_the_users_file(user_dir):
    importlib.import_module("my_blocks")
    report = ri.summarize("gated.yaml", check=True)
    params, macs = _built_counts("gated.yaml")
    assert (report.totals.params, report.totals.macs) == (params, macs)
    # by hand: stem 3·3·3·16 + BN 32; layer1: 2 blocks of 2·9·16·16 + 16·16 (+ 4·16 BN, 16 bias)
    stage1 = 2 * (2 * 9 * 16 * 16 + 16 * 16 + 4 * 16 + 16)
    assert next(s for s in report.stages if s.name == "layer1").params == stage1
    assert report.check is not None and report.check.ok
    # the plan's pass gives what the traced built model gives
    traced = ri.summarize("gated.yaml", check=True, from_model=True)
    assert report.to_dict() | {"environment": {}} == traced.to_dict() | {"environment": {}}
    assert {row.type for row in report.layers} >= {"GatedBlock", "Hardswish", "Sigmoid"}


def test_the_command_line_with_the_users_block(user_dir):
    runner = CliRunner()
    for args in (
        ["summary", "gated.yaml", "--check"],
        ["summary", "named.yaml"],  # by its registered name, once imported
        ["diagram", "gated.yaml", "-o", "gated.svg"],
        ["compare", "gated.yaml", "cifar_resnet20"],
        ["report", "gated.yaml", "-o", "gated.html"],
        ["validate", "gated.yaml"],
    ):
        result = runner.invoke(cli, [*args, "--import", "my_blocks"])
        assert result.exit_code == 0, (args, result.output)
    svg = (user_dir / "gated.svg").read_text()
    assert "GatedBlock" in svg and "gate_conv" in (user_dir / "gated.html").read_text()


def test_a_forward_the_stand_ins_cannot_run_is_traced_and_said_in_one_line(user_dir):
    result = CliRunner().invoke(cli, ["summary", "cat.yaml", "--check", "--import", "my_blocks"])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "layer1.0" in notes[0] and "traced the built model" in notes[0]
    assert "no closed form" in result.stdout
    with pytest.warns(TracedInstead):
        report = ri.summarize("cat.yaml")
    assert (report.totals.params, report.totals.macs) == _built_counts("cat.yaml")


def test_an_import_path_that_is_not_a_block(user_dir):
    importlib.import_module("my_blocks")
    (user_dir / "bad.yaml").write_text(SPEC.format(block="my_blocks:HardSwish"))
    with pytest.raises(SpecError, match="my_blocks:HardSwish is not a block type"):
        ri.summarize("bad.yaml")


def test_an_entry_point_of_an_installed_package(user_dir, monkeypatch):
    from resnet_inspect.plan import plugins

    site = user_dir / "site"
    info = site / "gated_blocks-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gated-blocks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[resnet_inspect.blocks]\nfrom_entry_point = my_blocks:GatedBlock\n"
    )
    monkeypatch.syspath_prepend(str(site))
    plugins._entry_points.cache_clear()
    (user_dir / "entry.yaml").write_text(SPEC.format(block="from_entry_point"))
    try:
        report = ri.summarize("entry.yaml")  # installed packages are trusted: loaded on demand
    finally:
        plugins._entry_points.cache_clear()
    assert report.spec["block"] == "from_entry_point" and "my_blocks" in sys.modules
