"""Absurd but valid sizes: analysed without allocating, refused where weights would be built."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import ROOT
from resnet_inspect.cli import cli

HUGE = "extends: cifar_resnet20\nstages:\n  - {filters: [1000000, 1000000], blocks: 1}\n"

PROBE = """
import sys
from resnet_inspect import summarize
report = summarize(sys.argv[1], check=True)
status = open("/proc/self/status").read().splitlines()
peak_kib = int(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
print(report.totals.params, report.totals.macs, report.check.ok, peak_kib)
"""


@pytest.mark.subprocess
def test_a_model_of_terabytes_is_summarised_in_bounded_memory(write_spec):
    path = write_spec(HUGE)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, path], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    params, macs, ok, peak_kib = int(out[0]), int(out[1]), out[2], int(out[3])
    # Stem 3*3*3*16 + BN 32; conv1 3*3*16*1e6 + BN 2e6; conv2 3*3*1e6*1e6 + BN 2e6;
    # fc 1e6*10 + 10. Option A: the zero-pad shortcut has no weights.
    expected = 432 + 32 + 9 * 16 * 10**6 + 2 * 10**6 + 9 * 10**12 + 2 * 10**6 + 10**7 + 10
    assert params == expected
    # Every weight of the two convs is used at each of the 32 x 32 positions.
    assert macs == 432 * 1024 + (9 * 16 * 10**6 + 9 * 10**12) * 1024 + 10**7
    assert ok == "True"
    assert peak_kib < 1024 * 1024  # under 1 GiB, for a model whose weights need 33,528 GiB


def test_building_or_timing_it_is_refused_with_the_estimate(write_spec):
    path = write_spec(HUGE)
    result = CliRunner().invoke(cli, ["latency", path])
    assert result.exit_code == 3
    assert result.stderr.startswith("spec: weights would need 33,528.2 GiB (limit ")
    assert result.stderr.count("\n") == 1
