"""Nothing we write fetches anything when it is opened: every SVG and HTML page (diagrams of
specs and of models, comparisons, the paper style, Table 1, the report page, the notebook
fragments) names no http(s) address, bar the XML namespaces an SVG must declare, and loads no
font, script or style from anywhere but itself."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from resnet_inspect.cli import cli

NAMESPACES = re.compile(r'xmlns(:\w+)?="http://www\.w3\.org/[^"]*"')
OUTPUTS = [
    ["diagram", "resnet50", "-o", "{dir}/a.svg"],
    ["diagram", "cifar_resnet20", "-o", "{dir}/a.svg", "--style", "paper"],
    [
        "diagram",
        "--model",
        "tests.factories:small_resnet",
        "--input",
        "3x64x64",
        "-o",
        "{dir}/a.svg",
    ],
    ["compare", "bottleneck", "plain", "--diagram", "{dir}/a.svg", "--html", "{dir}/b.html"],
    ["table", "resnet18", "resnet50_v1", "--format", "svg", "-o", "{dir}/a.svg"],
    ["table", "resnet18", "resnet50_v1", "--format", "html", "-o", "{dir}/a.html"],
    ["report", "resnet18", "-o", "{dir}/a.html"],
]


@pytest.mark.parametrize("args", OUTPUTS, ids=lambda args: " ".join(args[:2]))
def test_no_output_fetches_anything(tmp_path, args):
    result = CliRunner().invoke(cli, [arg.format(dir=tmp_path) for arg in args])
    assert result.exit_code == 0, result.output
    for path in tmp_path.iterdir():
        text = NAMESPACES.sub("", path.read_text(encoding="utf-8"))
        assert "http" not in text.lower(), (path.name, text[text.lower().find("http") - 80 :][:200])
        assert not re.search(r"url\((?!['\"]?data:|#)", text), path.name
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text), path.name


def test_the_notebook_fragments_fetch_nothing():
    import resnet_inspect as ri

    report = ri.summarize("resnet18", graph=True)
    for text in (report._repr_html_(), str(report.html(diagram=True))):
        text = NAMESPACES.sub("", text)
        assert "http" not in text.lower()
