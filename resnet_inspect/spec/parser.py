"""The spec: frozen dataclasses of JSON-native values, and the validation that makes them.

`parse_spec` turns the plain values of a YAML document (after `extends:` is resolved) into a
`Spec`, collecting *every* problem with its source location before raising one `SpecError`.
Shape arithmetic (channels that cannot add, feature maps that vanish) lives in checks.py.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from resnet_inspect.errors import Problem, SpecError
from resnet_inspect.plan.blocks import BLOCKS, OPTIONS
from resnet_inspect.plan.layer_kinds import BATCH_NORM, LAYER_KINDS
from resnet_inspect.plan.network import head_layer_names
from resnet_inspect.plan.plugins import block_type, find_block, find_layer_kind
from resnet_inspect.plan.shortcuts import OPTIONS as SHORTCUT_LETTERS
from resnet_inspect.plan.shortcuts import SHORTCUTS
from resnet_inspect.spec.source import Path, SourceMap

STRIDE_ON = ("1x1", "3x3")
SHORTCUT_OPTIONS = tuple(SHORTCUT_LETTERS)
SHORTCUT_KINDS = tuple(SHORTCUTS)
# The source notes' Keras names for the two kinds of block.
BLOCK_ALIASES = {"conv_block": "projection", "identity_block": "identity"}
STEM_TYPES = ("conv", "bn", "relu", "maxpool", "avgpool", "pad")
POOLS = ("avg", "max")

TOP_KEYS = (
    "name",
    "description",
    "extends",
    "input",
    "stem",
    "block",
    "stride_on",
    "shortcut",
    "groups",
    "bias",
    "norm",
    "stages",
    "head",
)
STAGE_KEYS = ("filters", "blocks", "stride")
BLOCK_KEYS = ("filters", "shortcut")
HEAD_KEYS = ("pool", "classes")
STEM_KEYS = {
    "conv": ("conv", "kernel", "stride", "padding", "bias", "name"),
    "maxpool": ("maxpool", "stride", "padding", "name"),
    "avgpool": ("avgpool", "stride", "padding", "name"),
    "pad": ("pad", "name"),
    "bn": ("bn", "name"),
    "relu": ("relu", "name"),
}
REQUIRED_TOP_KEYS = ("input", "stem", "block", "stages")
# Limits that keep every tensor size within int64 and every plan finite; far beyond any real
# network (they are not memory limits: `summary` allocates nothing).
MAX_WIDTH = 10_000_000  # filters, channels, classes, groups
MAX_SPATIAL = 100_000  # input height and width
MAX_WINDOW = 255  # kernel, stride, padding
MAX_BLOCKS = 1_000  # blocks in the whole network: the largest summarises in seconds
MAX_STAGES = 64
MAX_BATCH_SIZE = 1_000_000  # --batch-size and the N of a 4-D input shape
MAX_STEM_LAYERS = 256

# Names a stem layer cannot take: every attribute a torch.nn.Module has (tests keep this equal
# to dir(torch.nn.Module) of the installed torch) and the built network's own attributes. Names
# starting with "_" are refused too (private and special names).
MODULE_ATTRIBUTES = frozenset(
    "T_destination add_module apply bfloat16 buffers call_super_init children compile cpu cuda "
    "double dump_patches eval extra_repr float forward get_buffer get_extra_state get_parameter "
    "get_submodule half ipu load_state_dict modules mtia named_buffers named_children "
    "named_modules named_parameters parameters register_backward_hook register_buffer "
    "register_forward_hook register_forward_pre_hook register_full_backward_hook "
    "register_full_backward_pre_hook register_load_state_dict_post_hook "
    "register_load_state_dict_pre_hook register_module register_parameter "
    "register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state "
    "set_submodule share_memory state_dict to to_empty train type xpu zero_grad training "
    "stem_names stage_names head_names flatten_before".split()
)


@dataclass(frozen=True)
class StemLayer:
    """One layer of the free stem. `kernel` is the pool size for pools, `padding` the pad width."""

    type: str
    name: str
    out_channels: int | None = None
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    bias: bool = False


@dataclass(frozen=True)
class BlockOverride:
    """A per-block entry (the source notes' conv_block / identity_block style)."""

    filters: tuple[int, ...] | None = None
    shortcut: str | None = None


@dataclass(frozen=True)
class Stage:
    filters: tuple[int, ...]
    blocks: int
    stride: int = 1
    overrides: tuple[BlockOverride, ...] = ()


@dataclass(frozen=True)
class Head:
    pool: str = "avg"
    classes: int = 1000


@dataclass(frozen=True)
class Spec:
    """A validated network description. Field names are the YAML keys."""

    name: str
    input: tuple[int, int, int]
    stem: tuple[StemLayer, ...]
    block: str
    stages: tuple[Stage, ...]
    stride_on: str = "3x3"
    shortcut: str = "B"
    groups: int = 1
    bias: bool = False
    head: Head | None = Head()
    # The norm layer of the network (every `bn` of the stem and the blocks): a layer kind
    # with role "norm" under "type", and its settings.
    norm: dict[str, Any] = field(default_factory=lambda: dict(BATCH_NORM))
    description: str = ""
    source: str = ""
    # Block options (resnet_inspect/blocks/), each written as its own top-level key in YAML:
    # {"se": {"reduction": 16}} is `se: {reduction: 16}`.
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-native values (lists, not tuples), for reports and diffs."""
        return _jsonable(asdict(self))


def spec_from_dict(value: dict[str, Any]) -> Spec:
    """The Spec that Spec.to_dict() wrote (a report's `spec` section)."""
    head = value.get("head")
    return Spec(
        name=value["name"],
        input=(value["input"][0], value["input"][1], value["input"][2]),
        stem=tuple(StemLayer(**layer) for layer in value["stem"]),
        block=value["block"],
        stages=tuple(
            Stage(
                filters=tuple(stage["filters"]),
                blocks=stage["blocks"],
                stride=stage["stride"],
                overrides=tuple(
                    BlockOverride(
                        tuple(entry["filters"]) if entry["filters"] is not None else None,
                        entry["shortcut"],
                    )
                    for entry in stage["overrides"]
                ),
            )
            for stage in value["stages"]
        ),
        stride_on=value["stride_on"],
        shortcut=value["shortcut"],
        groups=value["groups"],
        bias=value["bias"],
        head=Head(**head) if head is not None else None,
        norm=dict(value.get("norm") or BATCH_NORM),
        description=value.get("description", ""),
        source=value.get("source", ""),
        options=value.get("options", {}),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """A hint for a misspelt word. A word that only looks like a choice (a Cyrillic 'а' for a
    Latin 'a') is told which characters are not what they seem."""
    word = str(word)[:200]
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    foreign = [char for char in dict.fromkeys(word) if not char.isascii()]
    if foreign and all(choice.isascii() for choice in choices):
        named = ", ".join(_describe_character(char) for char in foreign[:3])
        return f"it contains {named}" + (f"; did you mean {close[0]!r}?" if close else "")
    return f"did you mean {close[0]!r}?" if close else ""


def _describe_character(char: str) -> str:
    """ "a Cyrillic 'а' (U+0430)" for a character that is not ASCII."""
    name = unicodedata.name(char, "")
    script = name.split()[0].capitalize() if name else "non-ASCII"
    article = "an" if script[:1].lower() in "aeiou" else "a"
    shown = char if char.isprintable() and not unicodedata.combining(char) else ""
    return (
        f"{article} {script} {shown!r} (U+{ord(char):04X})"
        if shown
        else (f"{article} {script} character (U+{ord(char):04X})")
    )


class _Parser:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.head_names: tuple[str, ...] = ()  # the names the head's layers will take

    def fail(self, path: Path, message: str, hint: str = "", at_key: bool = False) -> None:
        self.problems.append(self.source.problem(path, message, hint, at_key=at_key))

    # -- primitive checks --------------------------------------------------------------
    def keys(self, value: dict[str, Any], allowed: tuple[str, ...], path: Path, what: str) -> None:
        for key in value:
            if key not in allowed:
                hint = _KEY_HINTS.get(str(key)) or _key_hint(str(key), allowed)
                hint = hint or f"allowed: {', '.join(allowed)}"
                self.fail((*path, key), f"unknown key in {what}", hint, at_key=True)

    def integer(
        self,
        value: Any,
        path: Path,
        minimum: int = 1,
        what: str = "value",
        maximum: int = MAX_WIDTH,
    ) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                self.fail(
                    path, f"{what} must be a whole number, got {value!r}", f"write {int(value)}"
                )
            else:
                self.fail(path, f"{what} must be a whole number, got {_show(value)}")
            return None
        if value < minimum:
            self.fail(path, f"{what} must be at least {minimum}, got {value}")
            return None
        if value > maximum:
            self.fail(path, f"{what} {value:,} is more than the limit of {maximum:,}")
            return None
        return value

    def choice(self, value: Any, choices: tuple[str, ...], path: Path, what: str) -> str | None:
        if value is None and "none" in choices:
            return "none"
        if not isinstance(value, str) or value not in choices:
            hint = did_you_mean(str(value), choices) or f"choose one of: {', '.join(choices)}"
            self.fail(path, f"unknown {what} {_show(value)}", hint)
            return None
        return value

    def boolean(self, value: Any, path: Path) -> bool | None:
        if not isinstance(value, bool):
            self.fail(path, f"must be true or false, got {_show(value)}")
            return None
        return value

    def int_list(self, value: Any, path: Path, what: str) -> tuple[int, ...] | None:
        if not isinstance(value, list) or not value:
            self.fail(path, f"{what} must be a non-empty list of whole numbers, got {_show(value)}")
            return None
        items = [self.integer(item, (*path, i), what=what) for i, item in enumerate(value)]
        if any(item is None for item in items):
            return None
        return tuple(int(item) for item in items if item is not None)

    # -- sections --------------------------------------------------------------------------
    def parse(self, raw: Any, default_name: str) -> Spec | None:
        if not isinstance(raw, dict):
            self.fail((), f"a spec must be a mapping of keys, got {_show(raw)}")
            return None
        self.keys(raw, (*TOP_KEYS, *OPTIONS), (), "spec")
        for key in REQUIRED_TOP_KEYS:
            if key not in raw:
                self.fail((), f"missing required key {key!r}")

        name = raw.get("name", default_name)
        if not isinstance(name, str) or not name:
            self.fail(("name",), f"name must be text, got {_show(name)}")
            name = default_name
        description = raw.get("description", "")
        if not isinstance(description, str):
            self.fail(("description",), "description must be text")
            description = ""

        input_shape = self.input_shape(raw.get("input"), ("input",)) if "input" in raw else None
        block = self.block_type(raw.get("block"), ("block",)) if "block" in raw else None
        stride_on = self.choice(raw.get("stride_on", "3x3"), STRIDE_ON, ("stride_on",), "stride_on")
        shortcut = self.shortcut_option(raw.get("shortcut", "B"), ("shortcut",))
        groups = self.integer(raw.get("groups", 1), ("groups",), what="groups")
        bias = self.boolean(raw.get("bias", False), ("bias",))
        norm = self.norm(raw.get("norm", "bn"), ("norm",))
        head = self.head(raw.get("head", {}), ("head",))
        if isinstance(head, Head):
            self.head_names = head_layer_names(head.pool)
        if block is not None:  # a pre-activation net's final BN-ReLU takes names too
            self.head_names += tuple(name for name, _ in block_type(block).tail)
        stem = self.stem(raw.get("stem"), ("stem",), bool(bias)) if "stem" in raw else None
        stages = self.stages(raw.get("stages"), ("stages",), block) if "stages" in raw else None

        if block is not None and not block_type(block).grouped and groups not in (None, 1):
            grouped = [name for name, kind in BLOCKS.items() if kind.grouped]
            self.fail(
                ("groups",),
                f"{block} blocks support only groups: 1",
                f"grouped convolutions (ResNeXt) need block: {' or '.join(grouped)}",
            )
        options: dict[str, dict[str, Any]] = {}
        for key, option in OPTIONS.items():
            if key in raw and raw[key] is not None:
                settings, problems = option.parse(raw[key])
                for where, message, hint in problems:
                    self.fail((key, *where), message, hint)
                options[key] = settings
        if self.problems:
            return None
        assert input_shape and stem is not None and block and stages is not None  # for mypy
        assert stride_on and shortcut and groups and bias is not None and norm is not None
        return Spec(
            name=name,
            description=description,
            input=input_shape,
            stem=stem,
            block=block,
            stride_on=stride_on,
            shortcut=shortcut,
            groups=groups,
            bias=bias,
            stages=stages,
            head=head if head != "none" else None,  # type: ignore[arg-type]
            norm=norm,
            options=options,
        )

    def block_type(self, value: Any, path: Path) -> str | None:
        """A block type's registered name, or the import path of one (plan/plugins.py)."""
        if isinstance(value, str):
            found, problem = find_block(value)
            if found is not None:
                return value
            if problem:
                self.fail(path, problem)
                return None
        names = tuple(name for name in BLOCKS if ":" not in name)
        return self.choice(value, names, path, "block type")

    def norm(self, value: Any, path: Path) -> dict[str, Any] | None:
        """`norm: bn`, `norm: group_norm` or `norm: {type: group_norm, groups: 16}`: a layer
        kind with role "norm", and the settings that kind takes."""
        settings = dict(value) if isinstance(value, dict) else {"type": value}
        kind = settings.pop("type", None)
        if isinstance(kind, str):
            find_layer_kind(kind)
        norms = tuple(name for name, found in LAYER_KINDS.items() if found.role == "norm")
        where = (*path, "type") if isinstance(value, dict) else path
        if isinstance(value, dict) and "type" not in value:
            self.fail(path, "norm needs its type", f"e.g. norm: {{type: {norms[-1]}}}")
            return None
        kind = self.choice(kind, norms, where, "norm")
        if kind is None:
            return None
        parsed, problems = LAYER_KINDS[kind].parse_settings(settings)
        for key_path, message, hint in problems:
            self.fail((*path, *key_path), message, hint)
        return None if problems else {"type": kind, **parsed}

    def shortcut_option(self, value: Any, path: Path) -> str | None:
        """The top level's shortcut: the paper's option letter. A per-block kind written here
        (`projection`) is told which letter means it, with every letter explained."""
        if value is None or (isinstance(value, str) and value in SHORTCUT_OPTIONS):
            return "none" if value is None else value
        letters = "; ".join(f"{letter} {meaning}" for letter, meaning in SHORTCUT_LETTERS.items())
        letter = _LETTER_OF_KIND.get(str(value))
        if letter is not None:
            self.fail(
                path,
                f"{value!r} is a shortcut kind of one block (a stage's blocks: entry); at the "
                f"top level, shortcut is the paper's option — {letters}",
                f"write shortcut: {letter}"
                + (
                    "; every option keeps the identity where the shape does not change"
                    if value == "identity"
                    else ""
                ),
            )
            return None
        close = did_you_mean(str(value), SHORTCUT_OPTIONS)
        self.fail(
            path,
            f"unknown shortcut option {_show(value)}: the paper's options are {letters}",
            close,
        )
        return None

    def input_shape(self, value: Any, path: Path) -> tuple[int, int, int] | None:
        if not isinstance(value, list) or len(value) != 3:
            self.fail(
                path,
                f"input must be [channels, height, width], got {_show(value)}",
                "e.g. input: [3, 224, 224]",
            )
            return None
        items = [
            self.integer(
                v, (*path, i), what="input size", maximum=MAX_WIDTH if i == 0 else MAX_SPATIAL
            )
            for i, v in enumerate(value)
        ]
        if any(v is None for v in items):
            return None
        channels, height, width = (int(items[0] or 0), int(items[1] or 0), int(items[2] or 0))
        if width in _IMAGE_CHANNELS and channels >= 8 and height >= 8:
            self.fail(
                path,
                f"input [{channels}, {height}, {width}] looks channels-last (height, width, "
                "channels), but a spec's input is [channels, height, width]",
                f"write input: [{width}, {channels}, {height}]",
            )
            return None
        return channels, height, width

    def stem(self, value: Any, path: Path, default_bias: bool) -> tuple[StemLayer, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(
                path,
                f"stem must be a list of layers, got {_show(value)}",
                "e.g. - {conv: 64, kernel: 7, stride: 2}",
            )
            return None
        if len(value) > MAX_STEM_LAYERS:
            self.fail(
                path, f"{len(value):,} stem layers is more than the limit of {MAX_STEM_LAYERS}"
            )
            return None
        layers: list[StemLayer] = []
        counts: dict[str, int] = {}
        ok = True
        for i, item in enumerate(value):
            layer = self.stem_layer(item, (*path, i), counts, default_bias)
            if layer is None:
                ok = False
            else:
                layers.append(layer)
        names = [layer.name for layer in layers]
        for i, name in enumerate(names):
            if name in names[:i]:
                self.fail((*path, i, "name"), f"stem layer name {name!r} is used twice")
                ok = False
        return tuple(layers) if ok else None

    def stem_layer(
        self, item: Any, path: Path, counts: dict[str, int], default_bias: bool
    ) -> StemLayer | None:
        if isinstance(item, str):
            kind = self.choice(item, STEM_TYPES, path, "stem layer")
            if kind is None:
                return None
            if kind not in ("bn", "relu"):
                self.fail(path, f"stem layer {kind!r} needs its size", _STEM_EXAMPLES[kind])
                return None
            item = {kind: None}
        if not isinstance(item, dict):
            self.fail(path, f"stem layer must be a word or a mapping, got {_show(item)}")
            return None
        kinds = [key for key in item if key in STEM_KEYS]
        if len(kinds) != 1:
            if not kinds:
                unknown = next(iter(item), "")
                hint = did_you_mean(unknown, STEM_TYPES) or f"one of: {', '.join(STEM_TYPES)}"
                self.fail(path, "stem layer must name its type", hint)
            else:
                self.fail(path, f"stem layer names several types: {', '.join(kinds)}")
            return None
        kind = kinds[0]
        self.keys(item, STEM_KEYS[kind], path, f"{kind} stem layer")
        counts[kind] = counts.get(kind, 0) + 1
        name = item.get("name", default_stem_name(kind, counts, self.head_names))
        if not isinstance(name, str) or not name.isidentifier():
            self.fail((*path, "name"), f"layer name must be a Python identifier, got {_show(name)}")
            return None
        if name.startswith("_") or name in MODULE_ATTRIBUTES:
            self.fail(
                (*path, "name"),
                f"layer name {name!r} is reserved: every torch module has an attribute of that name"
                if not name.startswith("_")
                else f"layer name {name!r} starts with '_', which torch reserves",
                f"e.g. stem_{name.strip('_') or 'layer'}",
            )
            return None
        if name in self.head_names or re.fullmatch(r"layer\d+", name):
            self.fail(
                (*path, "name"),
                f"layer name {name!r} is the name of a "
                + ("head layer" if name in self.head_names else "stage"),
                "choose another name, or head: none",
            )
            return None
        if kind == "conv":
            out_channels = self.integer(item["conv"], (*path, "conv"), what="conv filters")
            kernel = self.integer(
                item.get("kernel", 3), (*path, "kernel"), what="kernel", maximum=MAX_WINDOW
            )
            stride = self.integer(
                item.get("stride", 1), (*path, "stride"), what="stride", maximum=MAX_WINDOW
            )
            padding = self.integer(
                item.get("padding", (kernel or 1) // 2),
                (*path, "padding"),
                0,
                "padding",
                MAX_WINDOW,
            )
            bias = self.boolean(item.get("bias", default_bias), (*path, "bias"))
            if None in (out_channels, kernel, stride, padding, bias):
                return None
            return StemLayer(
                "conv", name, out_channels, kernel or 1, stride or 1, padding or 0, bool(bias)
            )
        if kind in ("maxpool", "avgpool"):
            kernel = self.integer(item[kind], (*path, kind), what="pool size", maximum=MAX_WINDOW)
            stride = self.integer(
                item.get("stride", kernel or 1),
                (*path, "stride"),
                what="stride",
                maximum=MAX_WINDOW,
            )
            padding = self.integer(
                item.get("padding", (kernel or 1) // 2),
                (*path, "padding"),
                0,
                "padding",
                MAX_WINDOW,
            )
            if None in (kernel, stride, padding):
                return None
            if kernel is not None and padding is not None and padding * 2 > kernel:
                self.fail(
                    (*path, "padding"),
                    f"padding {padding} is more than half the pool size {kernel}",
                )
                return None
            return StemLayer(kind, name, None, kernel or 1, stride or 1, padding or 0)
        if kind == "pad":
            padding = self.integer(item["pad"], (*path, "pad"), what="pad", maximum=MAX_WINDOW)
            return StemLayer("pad", name, None, 1, 1, padding) if padding else None
        if item[kind] not in (None, {}):
            self.fail((*path, kind), f"{kind} takes no value", f"write - {kind}")
            return None
        return StemLayer(kind, name)

    def stages(self, value: Any, path: Path, block: str | None) -> tuple[Stage, ...] | None:
        if not isinstance(value, list) or not value:
            self.fail(
                path,
                f"stages must be a non-empty list, got {_show(value)}",
                "e.g. - {filters: [64, 64, 256], blocks: 3, stride: 1}",
            )
            return None
        if len(value) > MAX_STAGES:
            self.fail(path, f"{len(value)} stages is more than the limit of {MAX_STAGES}")
            return None
        stages = [self.stage(item, (*path, i), block) for i, item in enumerate(value)]
        if any(stage is None for stage in stages):
            return None
        total = sum(stage.blocks for stage in stages if stage is not None)
        if total > MAX_BLOCKS:
            self.fail(path, f"{total:,} blocks in all is more than the limit of {MAX_BLOCKS:,}")
            return None
        return tuple(stage for stage in stages if stage is not None)

    def filters(self, value: Any, path: Path, block: str | None) -> tuple[int, ...] | None:
        filters = self.int_list(value, path, "filters")
        if filters is None or block is None:
            return filters
        want = block_type(block).filters
        if len(filters) != want:
            self.fail(
                path,
                f"a {block} block takes {want} filters, got {len(filters)}",
                f"e.g. {block_type(block).example}",
            )
            return None
        return filters

    def stage(self, item: Any, path: Path, block: str | None) -> Stage | None:
        if not isinstance(item, dict):
            self.fail(
                path,
                f"a stage must be a mapping, got {_show(item)}",
                "e.g. {filters: [64, 64, 256], blocks: 3, stride: 1}",
            )
            return None
        self.keys(item, STAGE_KEYS, path, "stage")
        for key in ("filters", "blocks"):
            if key not in item:
                self.fail(path, f"stage is missing {key!r}")
        filters = (
            self.filters(item.get("filters"), (*path, "filters"), block)
            if "filters" in item
            else None
        )
        stride = self.integer(
            item.get("stride", 1), (*path, "stride"), what="stride", maximum=MAX_WINDOW
        )
        blocks_value = item.get("blocks")
        overrides: tuple[BlockOverride, ...] = ()
        blocks: int | None
        if isinstance(blocks_value, list):
            if not blocks_value:
                self.fail((*path, "blocks"), "a stage needs at least one block")
                return None
            parsed = [
                self.block_entry(entry, (*path, "blocks", j), block)
                for j, entry in enumerate(blocks_value)
            ]
            if any(entry is None for entry in parsed):
                return None
            overrides = tuple(entry for entry in parsed if entry is not None)
            blocks = len(overrides)
        elif "blocks" in item:
            blocks = self.integer(
                blocks_value, (*path, "blocks"), what="blocks", maximum=MAX_BLOCKS
            )
        else:
            blocks = None
        if filters is None or blocks is None or stride is None:
            return None
        return Stage(filters=filters, blocks=blocks, stride=stride, overrides=overrides)

    def block_entry(self, entry: Any, path: Path, block: str | None) -> BlockOverride | None:
        if isinstance(entry, str):
            if entry in BLOCK_ALIASES:
                return BlockOverride(shortcut=BLOCK_ALIASES[entry])
            if entry == "default":
                return BlockOverride()
            allowed = (*BLOCK_ALIASES, "default")
            self.fail(
                path,
                f"unknown block entry {entry!r}",
                did_you_mean(entry, allowed)
                or f"use {', '.join(allowed)} or a mapping with filters/shortcut",
            )
            return None
        if entry is None:
            return BlockOverride()
        if not isinstance(entry, dict):
            self.fail(path, f"a block entry must be a word or a mapping, got {_show(entry)}")
            return None
        self.keys(entry, BLOCK_KEYS, path, "block entry")
        filters = (
            self.filters(entry["filters"], (*path, "filters"), block)
            if "filters" in entry
            else None
        )
        shortcut = None
        if "shortcut" in entry:
            value = entry["shortcut"]
            value = BLOCK_ALIASES.get(value, value) if isinstance(value, str) else value
            shortcut = self.choice(value, SHORTCUT_KINDS, (*path, "shortcut"), "shortcut kind")
            if shortcut is None:
                return None
        if "filters" in entry and filters is None:
            return None
        return BlockOverride(filters=filters, shortcut=shortcut)

    def head(self, value: Any, path: Path) -> Head | str | None:
        if value is None or value == "none":
            return "none"
        if not isinstance(value, dict):
            self.fail(
                path,
                f"head must be a mapping or none, got {_show(value)}",
                "e.g. head: {pool: avg, classes: 1000}",
            )
            return None
        self.keys(value, HEAD_KEYS, path, "head")
        pool = self.choice(value.get("pool", "avg"), POOLS, (*path, "pool"), "pool")
        classes = self.integer(value.get("classes", 1000), (*path, "classes"), what="classes")
        if pool is None or classes is None:
            return None
        return Head(pool=pool, classes=classes)


# An image's channels: the last number of a channels-last input
_IMAGE_CHANNELS = (1, 3, 4)
# The option letter that gives a block's shortcut kind where the shape changes
_LETTER_OF_KIND = {
    "zeropad": "A",
    "projection": "B",
    "avgpool_projection": "D",
    "identity": "A or B",
}

_KEY_HINTS = {
    "width_per_group": "write the real inner widths in filters and set groups: ResNeXt 32x4d's "
    "first stage is filters: [128, 128, 256] with groups: 32",
    "width_factor": "write the widened inner filters, e.g. [128, 128, 256] for Wide ResNet-50-2",
}

# Where each key belongs, for a key written at the wrong level.
_KEY_HOMES: dict[str, tuple[tuple[str, ...], str]] = {
    "spec": (TOP_KEYS, "at the top level of the spec"),
    "stage": (STAGE_KEYS, "in each entry of stages: - {filters: [...], blocks: 3, stride: 2}"),
    "block entry": (BLOCK_KEYS, "in a per-block entry of a stage's blocks: list"),
    "head": (HEAD_KEYS, "under head: {pool: avg, classes: 1000}"),
    "stem layer": (
        tuple(sorted({key for keys in STEM_KEYS.values() for key in keys})),
        "in a stem layer: - {conv: 64, kernel: 7, stride: 2}",
    ),
}


def _key_hint(key: str, allowed: tuple[str, ...]) -> str:
    """Where a misplaced key belongs and what a misspelt one may be; a near-certain spelling
    fix (one letter off: block/blocks) comes first, else where the key belongs."""
    elsewhere, spelling = _belongs_elsewhere(key, allowed), did_you_mean(key, allowed)
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.9)
    if elsewhere and spelling:
        return f"{spelling} {elsewhere}" if close else f"{elsewhere}; or {spelling}"
    return elsewhere or spelling


def _belongs_elsewhere(key: str, allowed: tuple[str, ...]) -> str:
    """ "'stride' belongs in each entry of stages: …" for a valid key at the wrong level."""
    homes = [where for keys, where in _KEY_HOMES.values() if key in keys and keys != allowed]
    return f"{key!r} belongs {' or '.join(homes[:2])}" if homes else ""


_STEM_EXAMPLES = {
    "conv": "e.g. - {conv: 64, kernel: 7, stride: 2}",
    "maxpool": "e.g. - {maxpool: 3, stride: 2}",
    "avgpool": "e.g. - {avgpool: 2, stride: 2}",
    "pad": "e.g. - {pad: 3}",
}


def default_stem_name(kind: str, counts: dict[str, int], taken: tuple[str, ...] = ()) -> str:
    # torchvision's names: conv1, bn1, relu, maxpool. A second conv is conv2 and its BN bn2.
    if kind in ("conv", "bn"):
        return f"{kind}{counts[kind]}"
    name = kind if counts[kind] == 1 else f"{kind}{counts[kind]}"
    return f"stem_{name}" if name in taken else name  # the head's pool is `avgpool`


def _show(value: Any) -> str:
    """A value as a message shows it: short, whatever the document held."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57]) + "…"
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _position(problem: Problem) -> tuple[str, int, int]:
    return (problem.file, problem.line or 0, problem.column or 0)


def parse_spec(raw: Any, source: SourceMap, default_name: str) -> Spec:
    """Validate plain values into a Spec; raise SpecError listing every problem."""
    parser = _Parser(source)
    spec = parser.parse(raw, default_name)
    if parser.problems or spec is None:
        raise SpecError(sorted(parser.problems, key=_position))
    return spec
