"""The spec's own arithmetic against the built model, for every preset."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from resnet_inspect import summarize
from resnet_inspect.analyzers import analytic
from resnet_inspect.cli import cli
from resnet_inspect.spec import preset_names


@pytest.mark.parametrize("name", preset_names())
def test_analytic_equals_measured_for_every_preset(name):
    check = summarize(name, check=True, batch_size=2).check
    assert check is not None and check.ok, check
    assert "layer1" in {row.name for row in check.stages}


def test_check_flags_a_mismatch_with_exit_3(monkeypatch):
    real = analytic.analytic_stages

    def off_by_one(plan):
        stages = real(plan)
        params, macs = stages["layer2"]
        return {**stages, "layer2": (params + 1, macs)}

    monkeypatch.setattr(analytic, "analytic_stages", off_by_one)
    result = CliRunner().invoke(cli, ["summary", "resnet18", "--check"])
    assert result.exit_code == 3
    assert "MISMATCH" in result.stdout
    assert "disagree" in result.stderr


def test_check_table_shows_equal_rows():
    result = CliRunner().invoke(cli, ["summary", "cifar_resnet56", "--check"])
    assert result.exit_code == 0
    assert result.stdout.count("✓ equal") == 5  # stem, 3 stages, head
