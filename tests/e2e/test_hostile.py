"""Hostile input, round 2: no injection into any output, no destroyed files, no hangs, no exit 1.

tests/specs/hostile/ holds broken specs with the exact lines every command must print (as
tests/specs/bad/ does); tests/specs/valid_odd_names/ holds valid specs whose names carry every
injection class, which must summarise, draw and render in every format with nothing live in it.
"""

from __future__ import annotations

import html.parser
import os
import stat
import subprocess
import threading
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT, tool
from resnet_inspect.cli import cli

HOSTILE = ROOT / "tests" / "specs" / "hostile"
ODD = ROOT / "tests" / "specs" / "valid_odd_names"

SIXTY = [
    f"{{dir}}sixty_problems.yaml:{line}:33: stages.{line - 3}.blocks: blocks must be at least "
    "1, got 0"
    for line in range(3, 53)
] + ["... and 10 more problems"]

EXPECTED = {
    "bad_bool_tag.yaml": [
        "{dir}bad_bool_tag.yaml:2:7: bias: 'maybe' is not a valid !!bool (remove the tag)",
    ],
    "bad_int_tag.yaml": [
        "{dir}bad_int_tag.yaml:2:9: groups: 'thirty-two' is not a valid !!int (remove the tag)",
    ],
    "binary_name.yaml": [
        "{dir}binary_name.yaml:2:7: name: binary data (!!binary) is not allowed in a spec "
        "(write plain text)",
    ],
    "deep_chain.yaml": [
        "{dir}deep_chain.yaml:2:10: extends: extends chain is more than 16 files deep (the "
        "limit is reached at {dir}chain/chain_16.yaml:1:10)",
    ],
    "explicit_date.yaml": [
        "{dir}explicit_date.yaml:2:14: description: a date (!!timestamp) is not allowed in a "
        "spec (write plain text)",
    ],
    "extends_devnull.yaml": [
        "{dir}extends_devnull.yaml:1:10: extends: '/dev/null': is a character device, not a "
        "spec file",
    ],
    "extends_directory.yaml": [
        "{dir}extends_directory.yaml:1:10: extends: '../bad/a_directory.yaml': is a directory, "
        "not a spec file",
    ],
    "extends_groups.yaml": [
        "{dir}extends_groups.yaml:2:1: groups: this value makes the extended spec 'resnet50' "
        "invalid (preset resnet50 line 14: stages.0.filters: block layer1.0: groups 7 does not "
        "divide the inner width 64; use a multiple of 7, e.g. 70; 15 more like it)",
    ],
    "extends_small_input.yaml": [
        "{dir}extends_small_input.yaml:2:1: input: this value makes the extended spec "
        "'keras_resnet50' invalid (preset keras_resnet50 line 14: stem.4: feature map shrinks "
        "to 0x0 here (maxpool 3x3 on 2x2); use a larger input or smaller kernel/stride)",
    ],
    "extends_stdin.yaml": [
        "{dir}extends_stdin.yaml:1:10: extends: '/dev/stdin': is a character device, not a "
        "spec file",
    ],
    "forward_name.yaml": [
        "{dir}forward_name.yaml:3:22: stem.0.name: layer name 'forward' is reserved: every "
        "torch module has an attribute of that name (e.g. stem_forward)",
    ],
    "head_name.yaml": [
        "{dir}head_name.yaml:3:22: stem.0.name: layer name 'fc' is the name of a head layer "
        "(choose another name, or head: none)",
    ],
    "homoglyph_block.yaml": [
        "{dir}homoglyph_block.yaml:2:8: block: unknown block type 'b\u0430sic' (it contains a "
        "Cyrillic '\u0430' (U+0430); did you mean 'basic'?)",
    ],
    "misplaced_classes.yaml": [
        "{dir}misplaced_classes.yaml:2:1: classes: unknown key in spec ('classes' belongs "
        "under head: {pool: avg, classes: 1000})",
    ],
    "misplaced_stride.yaml": [
        "{dir}misplaced_stride.yaml:2:1: stride: unknown key in spec ('stride' belongs in each "
        "entry of stages: - {filters: [...], blocks: 3, stride: 2} or in a stem layer: - "
        "{conv: 64, kernel: 7, stride: 2}; or did you mean 'stride_on'?)",
    ],
    "private_name.yaml": [
        "{dir}private_name.yaml:3:22: stem.0.name: layer name '__init__' starts with '_', "
        "which torch reserves (e.g. stem_init)",
    ],
    "sixty_problems.yaml": SIXTY,
    "stem_too_long.yaml": [
        "{dir}stem_too_long.yaml:2:7: stem: 257 stem layers is more than the limit of 256",
    ],
    "too_many_blocks.yaml": [
        "{dir}too_many_blocks.yaml:3:3: stages: 1,001 blocks in all is more than the limit of "
        "1,000",
    ],
}

COMMANDS = [
    ["validate"],
    ["summary"],
    ["summary", "--format", "json"],
    ["summary", "--format", "markdown"],
    ["latency", "--iters", "1"],
    ["compare", "resnet18"],
    ["diagram", "-o", "never-written.svg"],
    ["report", "-o", "never-written.html"],
]


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_the_corpus_is_complete():
    assert {path.name for path in HOSTILE.glob("*.yaml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_hostile_spec(monkeypatch, tmp_path, name, command):
    monkeypatch.chdir(ROOT)
    head, *rest = command
    rest = [str(tmp_path / part) if part.startswith("never-written") else part for part in rest]
    result = invoke(head, f"tests/specs/hostile/{name}", *rest)
    assert result.exit_code == 2, result.output
    expected = [line.replace("{dir}", "tests/specs/hostile/") for line in EXPECTED[name]]
    assert result.stderr.splitlines() == expected
    assert result.stdout == "" and "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing written


# -- valid specs with hostile names: every format, nothing live -------------------------------

ODD_SPECS = sorted(path.name for path in ODD.glob("*.yaml"))
CONTROLS = ("\x1b", "\x07", "\x00", "\x08", "\u202e")


@pytest.mark.parametrize("name", ODD_SPECS)
def test_terminal_output_carries_no_controls_and_no_live_markup(name):
    spec = str(ODD / name)
    for command in (["summary", spec], ["validate", spec], ["compare", spec, "cifar_resnet20"]):
        result = invoke(*command)
        assert result.exit_code == 0, result.output
        assert not any(char in result.output for char in CONTROLS), command
    if name == "rich_markup.yaml":  # printed as written, never parsed
        assert "[/bold][link=javascript:alert(1)]x[/link]" in invoke("summary", spec).stdout
    if name == "control_characters.yaml":
        assert "esc \\x1b[31mred" in invoke("summary", spec).stdout


@pytest.mark.parametrize("name", ODD_SPECS)
def test_markdown_and_csv_are_inert(name):
    spec = str(ODD / name)
    markdown = invoke("summary", spec, "--format", "markdown").stdout
    assert "<" not in markdown.replace("&lt;", "")  # no raw HTML at all
    assert "](" not in markdown.replace("\\](", "")  # no live link
    table = [line for line in markdown.splitlines() if line.startswith("| Layer")][0]
    columns = table.count(" | ")
    for line in markdown.splitlines():
        if line.startswith("| ") and "Total" not in line and "Value" not in line:
            # A name's own | is escaped: every row has the header's cells.
            assert line.replace("\\|", "").count(" | ") in (columns, 1), line
    compared = invoke("compare", spec, "cifar_resnet20", "--format", "markdown").stdout
    assert "<" not in compared.replace("&lt;", "")
    csv_text = invoke("compare", spec, "cifar_resnet20", "--format", "csv").stdout
    assert '"=HYPERLINK' not in csv_text and ",=HYPERLINK" not in csv_text
    assert not any(char in markdown + csv_text for char in CONTROLS)


class _Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.scripts = 0  # scripts a browser runs (a JSON data block is not one)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]
        if tag == "script" and ("type", "application/json") not in attrs:
            self.scripts += 1


def _written_by_us(page: str) -> None:
    """Only elements and attributes the tool writes: no links, images, handlers or scripts
    beyond the page's own one."""
    parser = _Elements()
    parser.feed(page)
    assert not {"a", "img", "iframe", "object", "embed", "link"} & set(parser.tags)
    assert parser.scripts <= 1
    assert not [a for a in parser.attributes if a.startswith("on") or "href" in a]


@pytest.mark.parametrize("name", ODD_SPECS)
def test_every_drawing_and_page_is_inert(name, tmp_path):
    spec = str(ODD / name)
    for depth in ("stage", "block", "layer"):
        target = tmp_path / f"{depth}.svg"
        result = invoke("diagram", spec, "-o", str(target), "--depth", depth)
        assert result.exit_code == 0, result.output  # any valid spec draws
        tree = ElementTree.parse(target)  # well-formed XML: no raw control characters
        tags = {element.tag.rsplit("}", 1)[-1] for element in tree.iter()}
        assert not {"a", "script", "foreignObject", "image"} & tags
        for element in tree.iter():
            assert not [key for key in element.attrib if key.startswith("on") or "href" in key]
    for command in (
        ["report", spec, "-o", str(tmp_path / "r.html")],
        ["compare", spec, "cifar_resnet20", "--html", str(tmp_path / "c.html")],
    ):
        assert invoke(*command).exit_code == 0
    for page in ("r.html", "c.html"):
        _written_by_us((tmp_path / page).read_text())


@pytest.mark.browser
@pytest.mark.slow
def test_no_script_runs_when_the_pages_are_clicked(tmp_path):
    """Every hostile name in one report and one comparison page, opened in Chromium; every
    element is clicked; alert, confirm, prompt, open and navigation are recorded."""
    from browser import headless

    for index, name in enumerate(ODD_SPECS):
        spec = str(ODD / name)
        assert invoke("report", spec, "-o", str(tmp_path / f"r{index}.html")).exit_code == 0
        command = ["compare", spec, "cifar_resnet20", "--html", str(tmp_path / f"c{index}.html")]
        assert invoke(*command).exit_code == 0
    trap = (
        "<script>window.__pwned=[];['alert','confirm','prompt','open'].forEach(function(f){"
        "window[f]=function(){window.__pwned.push(f);};});</script>"
    )
    clicker = (
        "<script>document.querySelectorAll('*').forEach(function(e){try{e.dispatchEvent("
        "new MouseEvent('click',{bubbles:true,cancelable:true}));}catch(x){}});"
        "setTimeout(function(){document.body.dataset.pwned=window.__pwned.join(',')||'none';"
        "document.body.dataset.url=location.href;},200);</script>"
    )
    for page in sorted(tmp_path.glob("*.html")):
        text = page.read_text()
        probe = tmp_path / f"probe-{page.name}"
        probe.write_text(
            text.replace("<head>", "<head>" + trap, 1).replace("</body>", clicker + "</body>")
        )
        dom = headless(
            str(probe),
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
        )
        assert dom.returncode == 0, dom.stderr[-2000:]
        assert 'data-pwned="none"' in dom.stdout, page.name
        assert f'data-url="file://{probe}"' in dom.stdout  # nothing navigated away
        # The DOM Chromium built, after every script ran and every click: only what the tool
        # wrote (its one script and its node details as JSON data, and the probe's two).
        parser = _Elements()
        parser.feed(dom.stdout)
        assert parser.scripts == 3
        assert not {"a", "img", "iframe", "object", "embed", "link"} & set(parser.tags)
        assert not [a for a in parser.attributes if a.startswith("on") or "href" in a]


# -- output paths by kind ------------------------------------------------------------------------


def test_character_device_is_written_in_place(tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("making a device node needs root (CI runs as root)")
    result = invoke("summary", "cifar_resnet20", "--format", "json", "-o", str(device))
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(device).st_mode)  # still the device, not a regular file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary file left


def test_fifo_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = invoke("spec", "cifar_resnet20", "-o", str(fifo))
    reader.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert yaml.safe_load(received[0].decode())["name"] == "cifar_resnet20"


def test_full_device_is_exit_5():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    result = invoke("summary", "cifar_resnet20", "-o", "/dev/full")
    assert result.exit_code == 5
    assert result.stderr == "/dev/full: cannot write: No space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


@pytest.mark.subprocess
def test_dev_stdout_goes_to_standard_output(tmp_path):
    result = subprocess.run(
        [tool("resnet-inspect"), "spec", "cifar_resnet20", "-o", "/dev/stdout"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)["name"] == "cifar_resnet20"


def test_a_directory_is_refused_before_any_work(tmp_path, monkeypatch):
    def never(*_args, **_kwargs):
        raise AssertionError("the spec was loaded")

    monkeypatch.setattr("resnet_inspect.pipeline.load_checked", never)
    result = invoke("summary", "cifar_resnet20", "-o", str(tmp_path))
    assert result.exit_code == 2  # a usage error, caught by the option itself
    assert "is a directory" in result.stderr
    from resnet_inspect.errors import RenderError
    from resnet_inspect.files import write_output

    with pytest.raises(RenderError, match="is a directory; give a file name"):
        write_output(str(tmp_path), "text")  # the Python API refuses it too


def test_a_symbolic_link_stays_a_link(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert invoke("summary", "cifar_resnet20", "--format", "json", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and real.read_text().startswith("{")


# -- reading: only regular files --------------------------------------------------------------


def test_a_fifo_spec_and_extends_target_are_refused_at_once(tmp_path):
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block for ever
    result = invoke("validate", str(fifo))
    assert result.exit_code == 2
    assert result.stderr == f"{fifo}: is a FIFO (named pipe), not a spec file\n"
    user = tmp_path / "user.yaml"
    user.write_text("name: mine\nextends: spec.yaml\n")
    result = invoke("summary", str(user))
    assert result.stderr == (
        f"{user}:2:10: extends: 'spec.yaml': is a FIFO (named pipe), not a spec file\n"
    )


def test_a_symbolic_link_loop_is_refused(tmp_path):
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    result = invoke("validate", str(loop))
    assert result.exit_code == 2 and result.stderr == f"{loop}: symbolic link loop\n"


def test_a_flat_list_is_refused_before_it_is_composed(tmp_path, monkeypatch):
    # 499,000 values in under 1 MB: refused by the streaming count, never composed.
    spec = tmp_path / "flat.yaml"
    spec.write_text("stages: [" + ",".join(["1"] * 499_000) + "]\n")
    assert spec.stat().st_size < 1_000_000

    def never(*_args, **_kwargs):
        raise AssertionError("the document was composed")

    monkeypatch.setattr(yaml, "compose", never)
    result = invoke("validate", str(spec))
    assert result.exit_code == 2
    assert "document has more than 100,000 values" in result.stderr


# -- never exit 1 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "def make():\n    sys.exit(0)\n",
            "make() called sys.exit(0) instead of returning a model",
        ),
        ("def make():\n    raise SystemExit(3)\n", "make() called sys.exit(3)"),
        ("def make():\n    raise KeyboardInterrupt\n", "make() was interrupted"),
        ("sys.exit(1)\ndef make():\n    pass\n", "importing hostile_factory called sys.exit(1)"),
        ("def make():\n    raise ValueError('no weights')\n", "make() failed: ValueError"),
    ],
)
def test_a_factory_that_exits_is_exit_2(tmp_path, monkeypatch, body, message):
    (tmp_path / "hostile_factory.py").write_text("import sys\n" + body)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "hostile_factory", raising=False)
    result = invoke("summary", "--model", "hostile_factory:make")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1


def _numeric_options():
    for command_name, command in sorted(cli.commands.items()):
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(
                param.type, (click.IntRange, click.FloatRange)
            ):
                yield command_name, param.opts[-1]
    yield "latency", "--batch-size"  # a list of sizes, parsed by resnet-inspect
    yield "summary", "--input"


@pytest.mark.parametrize(("command", "option"), sorted(set(_numeric_options())))
def test_absurd_numbers_are_usage_errors(command, option):
    target = ["cifar_resnet20", "cifar_resnet20"] if command == "compare" else ["cifar_resnet20"]
    extra = ["-o", "never.svg"] if command in ("diagram", "report") else []
    value = "99999999999999999999" if option != "--input" else "3x99999999999999999999x32"
    result = invoke(command, *target, *extra, option, value)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "frame #" not in result.output


def test_every_option_says_what_it_does():
    for command_name, command in cli.commands.items():
        assert command.help, command_name
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"{command_name} {param.opts}"


def test_stem_names_cover_every_torch_module_attribute():
    import torch

    from resnet_inspect.model import build_model
    from resnet_inspect.spec.parser import MODULE_ATTRIBUTES

    public = {name for name in dir(torch.nn.Module) if not name.startswith("_")}
    assert public <= MODULE_ATTRIBUTES
    built = build_model("cifar_resnet20", device="meta")
    own = {name for name in vars(built) if not name.startswith("_")}
    assert own <= MODULE_ATTRIBUTES  # training, stem_names, stage_names, head_names


def test_valid_odd_names_build_with_the_names_they_say(tmp_path):
    from resnet_inspect import summarize

    report = summarize(str(ODD / "avgpool_in_stem.yaml"))
    assert [row.name for row in report.layers if row.depth == 1][:2] == ["conv1", "avgpool"]
    dated = summarize(str(ODD / "dated_name.yaml"))
    assert dated.model == "2024-01-01"  # a date-like name is the text written
    assert Path(ODD / "dated_name.yaml").read_text().count("2024-01-01") == 1
