"""YAML text -> plain Python values plus a source map (dotted key path -> file, line, column).

Loading is safe by construction: the document is *composed* into nodes (never constructed
through PyYAML's object constructors), only the standard YAML scalar, sequence and mapping tags
are accepted, duplicate keys are errors, and size, node count and nesting depth are bounded so
that an alias bomb or a deeply nested document is refused quickly with bounded memory.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any

import yaml

from resnet_inspect.errors import Problem, SpecError
from resnet_inspect.files import kind_of

MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64

Path = tuple[str | int, ...]

_SCALAR_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_SEQ_TAG = "tag:yaml.org,2002:seq"
# Plain scalars PyYAML would read as something else that a spec never wants: kept as text.
_IMPLICIT_AS_TEXT = {"tag:yaml.org,2002:timestamp"}
# Explicit tags of standard YAML types that a spec does not take, in plain words.
_TAG_NAMES = {
    "tag:yaml.org,2002:timestamp": "a date (!!timestamp)",
    "tag:yaml.org,2002:binary": "binary data (!!binary)",
    "tag:yaml.org,2002:set": "a set (!!set)",
    "tag:yaml.org,2002:omap": "an ordered map (!!omap)",
    "tag:yaml.org,2002:pairs": "a list of pairs (!!pairs)",
}
_TAG_HINT = "specs are plain YAML; tags are refused and never run"
_MAP_TAG = "tag:yaml.org,2002:map"


def dotted(path: Path) -> str:
    """('stages', 1, 'filters') -> 'stages.1.filters'; odd keys are quoted ('a b', '\\n') and
    long ones cut, so a message stays one short line whatever the document holds."""
    return ".".join(_part(part) for part in path)


def _part(part: str | int) -> str:
    if isinstance(part, int):
        return str(part)
    text = part if re.fullmatch(r"[\w-]{1,60}", part) else repr(part[:60])
    return text if len(part) <= 60 else text + "…"


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    column: int


@dataclass
class SourceMap:
    """Where each key path of a loaded document was written.

    Lookups fall back to the nearest enclosing path, so a problem with a missing key is
    reported at the mapping that lacks it.
    """

    default_file: str
    locations: dict[Path, Location] = field(default_factory=dict)  # where each value starts
    key_locations: dict[Path, Location] = field(default_factory=dict)  # where each key is written

    def locate(self, path: Path, at_key: bool = False) -> Location | None:
        probe = tuple(path)
        if at_key and probe in self.key_locations:
            return self.key_locations[probe]
        while True:
            if probe in self.locations:
                return self.locations[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def problem(
        self,
        path: Path,
        message: str,
        hint: str = "",
        severity: str = "error",
        at_key: bool = False,
    ) -> Problem:
        """A problem located at the value of `path` (or at its key, for key problems)."""
        where = self.locate(path, at_key)
        return Problem(
            file=where.file if where else self.default_file,
            line=where.line if where else None,
            column=where.column if where else None,
            path=dotted(path),
            message=message,
            hint=hint,
            severity=severity,
        )


class _Composer:
    """Turns composed YAML nodes into values, counting nodes to stop alias bombs."""

    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.text = text
        self.nodes = 0
        self.source = SourceMap(file)
        self.problems: list[Problem] = []
        self._scalar_loader = yaml.SafeLoader("")

    def _where(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def _fail(self, node: yaml.Node, path: Path, message: str, hint: str = "") -> None:
        where = self._where(node)
        self.problems.append(
            Problem(self.file, where.line, where.column, dotted(path), message, hint)
        )

    def value(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise SpecError(
                [
                    Problem(
                        self.file,
                        *_line_col(node),
                        dotted(path),
                        f"document expands to more than {MAX_NODES:,} values",
                        "aliases that repeat large parts of the document are refused",
                    )
                ]
            )
        if depth > MAX_DEPTH:
            raise SpecError(
                [
                    Problem(
                        self.file,
                        *_line_col(node),
                        dotted(path),
                        f"document is nested more than {MAX_DEPTH} levels deep",
                    )
                ]
            )
        self.source.locations[path] = self._where(node)
        explicit = self.text[node.start_mark.index : node.start_mark.index + 1] == "!"
        if isinstance(node, yaml.ScalarNode) and not explicit and node.tag in _IMPLICIT_AS_TEXT:
            return node.value  # 2024-01-01 is text here, as YAML 1.2 reads it
        if node.tag not in (*_SCALAR_TAGS, _SEQ_TAG, _MAP_TAG):
            what = _TAG_NAMES.get(node.tag)
            if what:
                self._fail(node, path, f"{what} is not allowed in a spec", "write plain text")
            else:
                shown = node.tag.replace("tag:yaml.org,2002:", "!!")
                self._fail(node, path, f"YAML tag {shown[:60]!r} is not allowed", _TAG_HINT)
            return None
        if isinstance(node, yaml.ScalarNode):
            try:
                return self._scalar_loader.construct_object(node)
            except Exception:  # an explicit tag with a value it cannot take: !!int "x"
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                value = node.value if len(node.value) <= 40 else node.value[:37] + "…"
                self._fail(node, path, f"{value!r} is not a valid {tag}", "remove the tag")
                return None
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                is_merge = key_node.tag == "tag:yaml.org,2002:merge"
                if not is_merge and (
                    not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS
                ):
                    self._fail(key_node, path, "mapping keys must be plain words")
                    continue
                key = key_node.value
                if is_merge:
                    self._fail(
                        key_node,
                        path,
                        "YAML merge keys ('<<') are not supported",
                        "use extends: to reuse another spec",
                    )
                    continue
                if key in result:
                    first = self.source.key_locations.get((*path, key))
                    hint = f"first given at line {first.line}" if first else ""
                    self._fail(key_node, (*path, key), "duplicate key", hint)
                    continue
                self.source.key_locations[(*path, key)] = self._where(key_node)
                result[key] = self.value(value_node, (*path, key), depth + 1)
            return result
        self._fail(node, path, "unsupported YAML node")  # pragma: no cover - PyYAML has 3 kinds
        return None


def _line_col(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def read_text(file: str) -> str:
    """Read a spec file as UTF-8 text, refusing what cannot be a spec: only a regular file is
    ever opened (a FIFO, /dev/stdin or a device would block or never end)."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise SpecError.for_file(file, "no such file") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise SpecError.for_file(file, "symbolic link loop") from None
        raise SpecError.for_file(file, f"cannot read: {err.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SpecError.for_file(file, f"is a {kind_of(info.st_mode)}, not a spec file")
    if info.st_size > MAX_FILE_BYTES:
        raise SpecError.for_file(
            file, f"file is {info.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
        )
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError.for_file(file, "no such file") from None
    except PermissionError:
        raise SpecError.for_file(file, "permission denied") from None
    except OSError as err:
        raise SpecError.for_file(file, f"cannot read: {err.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError.for_file(file, f"file is over the limit of {MAX_FILE_BYTES:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SpecError(
            [Problem(file, line, column, "", f"not valid UTF-8 (byte 0x{data[err.start]:02x})")]
        ) from None


def _count_values(text: str, file: str) -> None:
    """Refuse a document of more than MAX_NODES values before composing it: a streaming count
    of parser events (with libyaml where PyYAML has it) that stops at the limit. Syntax errors
    are left to the composer, which reports them in full."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    counted = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, _VALUE_EVENTS):
                counted += 1
                if counted > MAX_NODES:
                    mark = event.start_mark
                    raise SpecError(
                        [
                            Problem(
                                file,
                                mark.line + 1,
                                mark.column + 1,
                                "",
                                f"document has more than {MAX_NODES:,} values",
                                "a spec needs a few hundred; this is not a network description",
                            )
                        ]
                    )
    except yaml.YAMLError:
        return


_VALUE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)

# PyYAML's messages, in plain words. Keys are fragments of PyYAML's problem text.
_PLAIN_YAML = (
    (
        "expected <block end>, but found",
        "this line is indented differently from the lines before it; keys of one mapping must "
        "start in the same column",
    ),
    (
        "mapping values are not allowed here",
        "unexpected ':'; a value that contains ': ' must be quoted, or the line above is "
        "missing a key",
    ),
    ("could not find expected ':'", "expected 'key: value' on this line"),
    (
        "did not find expected key",
        "expected a key here; check the indentation of this line",
    ),
    (
        "did not find expected '-' indicator",
        "expected a list item ('- …') at this indentation",
    ),
    ("expected ',' or ']'", "a list in [brackets] is not closed, or lacks a comma"),
    ("expected ',' or '}'", "a mapping in {braces} is not closed, or lacks a comma"),
    ("found unexpected end of stream", "the file ends inside a quoted string or a bracket"),
    ("found undefined alias", "an alias (*name) is used before its anchor (&name)"),
    ("found character '\\t' that cannot start any token", "indent with spaces, not tabs"),
    ("found unknown escape character", "unknown escape in a double-quoted string"),
    ("while parsing a block mapping", "this mapping is not indented consistently"),
)


def _plain_yaml_message(problem: str) -> str:
    for fragment, plain in _PLAIN_YAML:
        if fragment in problem:
            return plain
    return problem


def _context_name(context: str) -> str:
    """'while parsing a block mapping' -> 'mapping'."""
    for word in ("mapping", "sequence", "collection", "quoted scalar"):
        if word in context:
            return {
                "sequence": "list",
                "collection": "list",
                "quoted scalar": "quoted string",
            }.get(word, word)
    return "construct"


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain values and its source map."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise SpecError.for_file(file, f"document exceeds {MAX_FILE_BYTES:,} bytes")
    _count_values(text, file)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        message = _plain_yaml_message(err.problem or "") if err.problem else ""
        if not message:
            message = err.context or "invalid YAML"
        if (
            err.context
            and err.context_mark
            and err.problem_mark
            and (err.context_mark.line != err.problem_mark.line)
        ):
            message += (
                f" (the {_context_name(err.context)} starts at line {err.context_mark.line + 1})"
            )
        if "'\\t'" in (err.problem or "") and "tabs" not in message:
            message += "; indent with spaces, not tabs"
        raise SpecError(
            [
                Problem(
                    file,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    "",
                    f"YAML syntax error: {message}",
                )
            ]
        ) from None
    except yaml.reader.ReaderError as err:
        before = text[: err.position]
        line, column = before.count("\n") + 1, err.position - (before.rfind("\n") + 1) + 1
        raise SpecError(
            [
                Problem(
                    file,
                    line,
                    column,
                    "",
                    f"character #x{err.character:04x} is not allowed "
                    "in YAML (control characters and NUL bytes)",
                )
            ]
        ) from None
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "invalid YAML"
        raise SpecError.for_file(file, f"YAML error: {first}") from None
    except RecursionError:
        raise SpecError.for_file(file, "document is nested too deeply") from None
    if node is None:
        raise SpecError.for_file(file, "file is empty", "start from: resnet-inspect spec resnet50")
    composer = _Composer(file, text)
    value = composer.value(node, ())
    if composer.problems:
        raise SpecError(composer.problems)
    return value, composer.source
