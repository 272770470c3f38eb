"""A corpus of broken specs, each with the exact lines it must produce: exit code 2, one line per
problem as FILE:LINE:COL: key.path: message (hint), no traceback, for every command that reads
a spec. The expected lines were read and checked by hand against the files."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from conftest import ROOT
from resnet_inspect.cli import cli

BAD = ROOT / "tests" / "specs" / "bad"

EXPECTED = {
    "a_directory.yaml": [
        "{dir}a_directory.yaml: is a directory, not a spec file",
    ],
    "comment_only.yaml": [
        "{dir}comment_only.yaml: file is empty (start from: resnet-inspect spec resnet50)",
    ],
    "duplicate_stage_key.yaml": [
        "{dir}duplicate_stage_key.yaml:6:36: stages.0.blocks: duplicate key (first given at line 6)",
    ],
    "duplicate_top_key.yaml": [
        "{dir}duplicate_top_key.yaml:5:1: block: duplicate key (first given at line 3)",
    ],
    "empty.yaml": [
        "{dir}empty.yaml: file is empty (start from: resnet-inspect spec resnet50)",
    ],
    "empty_block_list.yaml": [
        "{dir}empty_block_list.yaml:6:33: stages.0.blocks: a stage needs at least one block",
    ],
    "empty_stages.yaml": [
        "{dir}empty_stages.yaml:5:9: stages: stages must be a non-empty list, got a list of 0 (e.g. - {filters: [64, 64, 256], blocks: 3, stride: 1})",
    ],
    "extends_cycle_a.yaml": [
        "{dir}extends_cycle_a.yaml:1:10: extends: extends cycle: extends_cycle_a.yaml -> extends_cycle_b.yaml -> extends_cycle_a.yaml",
    ],
    "extends_cycle_b.yaml": [
        "{dir}extends_cycle_b.yaml:1:10: extends: extends cycle: extends_cycle_b.yaml -> extends_cycle_a.yaml -> extends_cycle_b.yaml",
    ],
    "extends_missing.yaml": [
        "{dir}extends_missing.yaml:1:10: extends: no such file or preset: 'resnet50x' (did you mean 'resnet50'?)",
    ],
    "extends_missing_file.yaml": [
        "{dir}extends_missing_file.yaml:1:10: extends: no such file: './nowhere.yaml' (relative to {abs})",
    ],
    "extends_not_text.yaml": [
        "{dir}extends_not_text.yaml:1:10: extends: extends must name a preset or a file",
    ],
    "extends_self.yaml": [
        "{dir}extends_self.yaml:1:10: extends: extends cycle: extends_self.yaml -> extends_self.yaml",
    ],
    "filters_too_long_for_basic.yaml": [
        "{dir}filters_too_long_for_basic.yaml:6:15: stages.0.filters: a basic block takes 2 filters, got 3 (e.g. [64, 64])",
    ],
    "filters_too_short_for_bottleneck.yaml": [
        "{dir}filters_too_short_for_bottleneck.yaml:6:15: stages.0.filters: a bottleneck block takes 3 filters, got 2 (e.g. [64, 64, 256])",
    ],
    "fractional_filters.yaml": [
        "{dir}fractional_filters.yaml:6:16: stages.0.filters.0: filters must be a whole number, got 16.5",
    ],
    "fractional_stride.yaml": [
        "{dir}fractional_stride.yaml:6:44: stages.0.stride: stride must be a whole number, got 1.5",
    ],
    "groups_not_dividing.yaml": [
        "{dir}groups_not_dividing.yaml:7:15: stages.0.filters: block layer1.0: groups 3 does not divide the inner width 16 (use a multiple of 3, e.g. 18)",
    ],
    "groups_on_basic.yaml": [
        "{dir}groups_on_basic.yaml:5:9: groups: basic blocks support only groups: 1 (grouped convolutions (ResNeXt) need block: bottleneck or preact_bottleneck)",
    ],
    "identity_after_stride.yaml": [
        "{dir}identity_after_stride.yaml:9:14: stages.1.blocks.0: block layer2.0: identity shortcut cannot follow a stride-2 block (32x32 -> 16x16) (write shortcut: projection or zeropad in this block's entry)",
    ],
    "identity_cannot_add.yaml": [
        "{dir}identity_cannot_add.yaml:7:53: stages.0.blocks.1.filters: block layer1.1: identity shortcut cannot add 24 channels to 16 (write shortcut: projection in this block's entry, or filters [16, 16])",
    ],
    "input_too_small.yaml": [
        "{dir}input_too_small.yaml:2:8: stem.0: feature map shrinks to 0x0 here (conv 7x7 on 4x4) (use a larger input or smaller kernel/stride)",
    ],
    "merge_key.yaml": [
        "{dir}merge_key.yaml:7:5: stages.0: YAML merge keys ('<<') are not supported (use extends: to reuse another spec)",
    ],
    "missing_blocks.yaml": [
        "{dir}missing_blocks.yaml:6:5: stages.0: stage is missing 'blocks'",
    ],
    "missing_filters.yaml": [
        "{dir}missing_filters.yaml:6:5: stages.0: stage is missing 'filters'",
    ],
    "missing_input.yaml": [
        "{dir}missing_input.yaml:1:1: missing required key 'input'",
    ],
    "missing_stages.yaml": [
        "{dir}missing_stages.yaml:1:1: missing required key 'stages'",
    ],
    "negative_filters.yaml": [
        "{dir}negative_filters.yaml:6:16: stages.0.filters.0: filters must be at least 1, got -16",
    ],
    "negative_stride.yaml": [
        "{dir}negative_stride.yaml:6:44: stages.0.stride: stride must be at least 1, got -2",
    ],
    "not_a_mapping.yaml": [
        "{dir}not_a_mapping.yaml:1:1: a spec must be a mapping of keys, got a list of 2",
    ],
    "not_utf8.yaml": [
        "{dir}not_utf8.yaml:1:8: not valid UTF-8 (byte 0xe9)",
    ],
    "nul_bytes.yaml": [
        "{dir}nul_bytes.yaml:1:8: character #x0000 is not allowed in YAML (control characters and NUL bytes)",
    ],
    "python_tag.yaml": [
        "{dir}python_tag.yaml:1:7: name: YAML tag '!!python/object/apply:os.system' is not allowed (specs are plain YAML; tags are refused and never run)",
    ],
    "scalar_document.yaml": [
        "{dir}scalar_document.yaml:1:1: a spec must be a mapping of keys, got 'resnet50'",
    ],
    "seed_356.yaml": [
        "{dir}seed_356.yaml:9:39: stages.0.blocks.1.filters: block layer1.1: identity shortcut cannot add 356 channels to 256 (write shortcut: projection in this block's entry, or filters [64, 64, 256])",
    ],
    "stem_pool_without_size.yaml": [
        "{dir}stem_pool_without_size.yaml:2:41: stem.3: stem layer 'maxpool' needs its size (e.g. - {maxpool: 3, stride: 2})",
    ],
    "stem_two_types.yaml": [
        "{dir}stem_two_types.yaml:2:8: stem.0: stem layer names several types: conv, maxpool",
    ],
    "syntax_bad_indent.yaml": [
        "{dir}syntax_bad_indent.yaml:3:4: YAML syntax error: this line is indented differently from the lines before it; keys of one mapping must start in the same column (the list starts at line 2)",
    ],
    "syntax_tab.yaml": [
        "{dir}syntax_tab.yaml:3:1: YAML syntax error: indent with spaces, not tabs",
    ],
    "syntax_unclosed_list.yaml": [
        "{dir}syntax_unclosed_list.yaml:2:6: YAML syntax error: a list in [brackets] is not closed, or lacks a comma (the list starts at line 1)",
    ],
    "syntax_unclosed_quote.yaml": [
        "{dir}syntax_unclosed_quote.yaml:3:1: YAML syntax error: the file ends inside a quoted string or a bracket (the quoted string starts at line 1)",
    ],
    "too_many_blocks.yaml": [
        "{dir}too_many_blocks.yaml:6:33: stages.0.blocks: blocks 20,000 is more than the limit of 1,000",
    ],
    "unknown_block_entry.yaml": [
        "{dir}unknown_block_entry.yaml:6:46: stages.0.blocks.1: unknown block entry 'idenity_block' (did you mean 'identity_block'?)",
    ],
    "unknown_block_type.yaml": [
        "{dir}unknown_block_type.yaml:3:8: block: unknown block type 'bottelneck' (did you mean 'bottleneck'?)",
    ],
    "unknown_head_key.yaml": [
        "{dir}unknown_head_key.yaml:7:19: head.class: unknown key in head (did you mean 'classes'?)",
    ],
    "unknown_pool.yaml": [
        "{dir}unknown_pool.yaml:7:14: head.pool: unknown pool 'mean' (choose one of: avg, max)",
    ],
    "channels_last_input.yaml": [
        "{dir}channels_last_input.yaml:3:8: input: input [32, 32, 3] looks channels-last (height, width, channels), but a spec's input is [channels, height, width] (write input: [3, 32, 32])",
    ],
    "unknown_shortcut_option.yaml": [
        "{dir}unknown_shortcut_option.yaml:4:11: shortcut: 'identity' is a shortcut kind of one block (a stage's blocks: entry); at the top level, shortcut is the paper's option — A zero-padding where the shape changes, identity elsewhere (no parameters); B a 1×1 projection where the shape changes, identity elsewhere; C a 1×1 projection on every block; D average pool, then a 1×1 projection, where the shape changes (ResNet-D); none no shortcut: a plain network (write shortcut: A or B; every option keeps the identity where the shape does not change)",
    ],
    "unknown_stage_key.yaml": [
        "{dir}unknown_stage_key.yaml:6:5: stages.0: stage is missing 'blocks'",
        "{dir}unknown_stage_key.yaml:6:25: stages.0.block: unknown key in stage (did you mean 'blocks'? 'block' belongs at the top level of the spec)",
    ],
    "unknown_stem_layer.yaml": [
        "{dir}unknown_stem_layer.yaml:2:35: stem.2: unknown stem layer 'gelu' (did you mean 'relu'?)",
    ],
    "unknown_stride_on.yaml": [
        "{dir}unknown_stride_on.yaml:5:12: stride_on: unknown stride_on '3x1' (did you mean '3x3'?)",
    ],
    "unknown_top_key.yaml": [
        "{dir}unknown_top_key.yaml:1:1: missing required key 'stages'",
        "{dir}unknown_top_key.yaml:5:1: stage: unknown key in spec (did you mean 'stages'?)",
    ],
    "wrong_type_bias.yaml": [
        "{dir}wrong_type_bias.yaml:5:7: bias: must be true or false, got 'maybe'",
    ],
    "wrong_type_filter_value.yaml": [
        "{dir}wrong_type_filter_value.yaml:6:20: stages.0.filters.1: filters must be a whole number, got 'sixteen'",
    ],
    "wrong_type_filters.yaml": [
        "{dir}wrong_type_filters.yaml:6:15: stages.0.filters: filters must be a non-empty list of whole numbers, got 16",
    ],
    "wrong_type_head.yaml": [
        "{dir}wrong_type_head.yaml:7:7: head: head must be a mapping or none, got a list of 2 (e.g. head: {pool: avg, classes: 1000})",
    ],
    "wrong_type_input.yaml": [
        "{dir}wrong_type_input.yaml:1:8: input: input must be [channels, height, width], got '3x32x32' (e.g. input: [3, 224, 224])",
    ],
    "wrong_type_stage.yaml": [
        "{dir}wrong_type_stage.yaml:6:5: stages.0: a stage must be a mapping, got a list of 2 (e.g. {filters: [64, 64, 256], blocks: 3, stride: 1})",
    ],
    "wrong_type_stages.yaml": [
        "{dir}wrong_type_stages.yaml:5:9: stages: stages must be a non-empty list, got a mapping (e.g. - {filters: [64, 64, 256], blocks: 3, stride: 1})",
    ],
    "zero_blocks.yaml": [
        "{dir}zero_blocks.yaml:6:33: stages.0.blocks: blocks must be at least 1, got 0",
    ],
    "zero_filters.yaml": [
        "{dir}zero_filters.yaml:6:20: stages.0.filters.1: filters must be at least 1, got 0",
    ],
    "zero_stride.yaml": [
        "{dir}zero_stride.yaml:6:44: stages.0.stride: stride must be at least 1, got 0",
    ],
}
EXPECTED["missing_file.yaml"] = ["{dir}missing_file.yaml: no such file"]


def expected_lines(name: str) -> list[str]:
    return [
        line.replace("{dir}", "tests/specs/bad/").replace("{abs}", str(BAD))
        for line in EXPECTED[name]
    ]


def test_the_corpus_is_large_and_complete():
    on_disk = {path.name for path in BAD.glob("*.yaml")}
    assert on_disk | {"missing_file.yaml"} == set(EXPECTED)
    assert len(EXPECTED) >= 40


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["summary"],
        ["summary", "--format", "json"],
        ["latency", "--iters", "1"],
        ["compare", "resnet18"],
    ],
)
def test_broken_spec(monkeypatch, name, command):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(cli, [*command, f"tests/specs/bad/{name}"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == expected_lines(name)
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_every_located_problem_has_line_and_column():
    for name, lines in EXPECTED.items():
        for line in lines:
            head = line.split(": ", 1)[0]
            if name in ("a_directory.yaml", "empty.yaml", "comment_only.yaml", "missing_file.yaml"):
                assert head.count(":") == 0, line  # nothing to point at
            else:
                assert head.count(":") == 2, line


def test_python_tag_is_never_run(monkeypatch, tmp_path):
    marker = tmp_path / "ran"
    spec = tmp_path / "evil.yaml"
    spec.write_text(
        f"extends: resnet18\nname: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["summary", str(spec)])
    assert result.exit_code == 2
    assert not marker.exists() and not os.path.exists("ran")
