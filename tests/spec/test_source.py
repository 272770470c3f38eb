"""Safe YAML loading: locations, duplicate keys, tags, bombs, bad files."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from resnet_inspect.errors import SpecError
from resnet_inspect.spec.source import MAX_FILE_BYTES, load_yaml, read_text


def messages(err: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [p.format() for p in err.value.problems]


def test_values_and_locations():
    value, source = load_yaml("a: 1\nb:\n  - {c: x}\n", "f.yaml")
    assert value == {"a": 1, "b": [{"c": "x"}]}
    where = source.locate(("b", 0, "c"))
    assert (where.line, where.column) == (3, 9)  # "  - {c: x}": x is the 9th character
    key = source.locate(("b",), at_key=True)
    assert (key.line, key.column) == (2, 1)


def test_duplicate_key_is_an_error_with_both_lines():
    with pytest.raises(SpecError) as err:
        load_yaml("block: basic\ninput: [3, 8, 8]\nblock: bottleneck\n", "f.yaml")
    assert messages(err) == ["f.yaml:3:1: block: duplicate key (first given at line 1)"]


def test_python_tags_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(SpecError) as err:
        load_yaml(text, "f.yaml")
    assert "YAML tag '!!python/object/apply:os.system' is not allowed" in messages(err)[0]
    assert not marker.exists()


def test_alias_bomb_is_refused_quickly():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    from resnet_inspect.spec import source

    values = []  # every value the composer makes, counted (work is bounded by this count)
    make = source._Composer.value

    def counted(self, node, path, depth=0):
        values.append(path)
        return make(self, node, path, depth)

    tracemalloc.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(source._Composer, "value", counted)
            with pytest.raises(SpecError) as err:
                load_yaml("\n".join(lines) + "\n", "bomb.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # 10^10 strings if expanded; refused after 100,000 values, in bounded work and memory.
    assert len(values) == source.MAX_NODES + 1
    assert peak < 64 * 2**20
    assert "expands to more than" in messages(err)[0]


def test_deep_nesting_is_refused():
    with pytest.raises(SpecError) as err:
        load_yaml("a: " + "[" * 200 + "]" * 200 + "\n", "deep.yaml")
    assert "nested" in messages(err)[0]


def test_syntax_error_has_line_and_column():
    with pytest.raises(SpecError) as err:
        load_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    assert messages(err)[0].startswith("f.yaml:2:")
    assert "YAML syntax error" in messages(err)[0]


def test_empty_file():
    with pytest.raises(SpecError) as err:
        load_yaml("# only a comment\n", "e.yaml")
    assert messages(err) == ["e.yaml: file is empty (start from: resnet-inspect spec resnet50)"]


def test_read_text_refuses_directory_missing_non_utf8_and_huge(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        read_text(str(tmp_path))
    with pytest.raises(SpecError, match="no such file"):
        read_text(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: r\xe9snet\n")
    with pytest.raises(SpecError) as err:
        read_text(str(bad))
    assert messages(err) == [f"{bad}:1:8: not valid UTF-8 (byte 0xe9)"]
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as out:
        out.truncate(MAX_FILE_BYTES + 1)
    assert os.path.getsize(huge) > MAX_FILE_BYTES
    with pytest.raises(SpecError, match="the limit is"):
        read_text(str(huge))
