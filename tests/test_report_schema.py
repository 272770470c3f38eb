"""docs/report.schema.json: generated from the Report's types, current, and true of real reports."""

from __future__ import annotations

import json

import jsonschema
import pytest
import torch
from click.testing import CliRunner

from conftest import ROOT
from resnet_inspect import analyze, compare, summarize
from resnet_inspect.cli import cli
from resnet_inspect.report_schema import report_schema

SCHEMA_FILE = ROOT / "docs" / "report.schema.json"


def test_the_published_schema_is_current():
    # Regenerate with: python -m resnet_inspect.report_schema
    assert json.loads(SCHEMA_FILE.read_text()) == report_schema()


@pytest.mark.parametrize(
    "make",
    [
        lambda: summarize("resnet50", check=True),
        lambda: summarize("cifar_resnet20", graph=True, batch_size=4, dtype="bfloat16"),
        lambda: summarize("seresnet50"),
        lambda: summarize("preact_resnet18"),
        lambda: analyze(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())),
    ],
)
def test_real_reports_follow_the_schema(make):
    jsonschema.validate(json.loads(make().to_json()), json.loads(SCHEMA_FILE.read_text()))


def test_latency_and_comparison_reports_follow_the_schema():
    schema = json.loads(SCHEMA_FILE.read_text())
    printed = CliRunner().invoke(
        cli, ["latency", "cifar_resnet20", "--iters", "2", "--warmup", "0", "--format", "json"]
    )
    jsonschema.validate(json.loads(printed.stdout), schema)
    comparison = json.loads(compare(["bottleneck", "plain"]).to_json())
    for item in comparison["items"]:
        jsonschema.validate(item, schema)
    jsonschema.validate(comparison, {**schema["$defs"]["Comparison"], "$defs": schema["$defs"]})


def test_the_schema_refuses_what_is_not_a_report():
    schema = json.loads(SCHEMA_FILE.read_text())
    report = json.loads(summarize("cifar_resnet20").to_json())
    for broken in (
        {**report, "totals": {**report["totals"], "params": "many"}},
        {**report, "surprise": 1},
        {k: v for k, v in report.items() if k != "layers"},
        {**report, "report_version": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)
