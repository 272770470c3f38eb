"""Property-based fuzzing: spec structures and mutated example files never crash resnet-inspect;
every valid spec builds and runs, its plan's pass agrees with the built model's meta pass, and
its closed-form, counted and measured (FlopCounterMode on the real forward) numbers agree."""

from __future__ import annotations

import os
import random
import tempfile

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from conftest import ROOT
from resnet_inspect import build_model, summarize
from resnet_inspect.errors import SpecError
from resnet_inspect.plan.blocks import BLOCKS
from resnet_inspect.spec import load_checked

pytestmark = pytest.mark.slow

junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**9)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly valid values, sometimes anything at all."""
    return st.one_of(valid, valid, valid, valid, valid, valid, valid, junk)


widths = st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16, 24, 32])
stem_layer = st.one_of(
    st.sampled_from(["bn", "relu"]),
    st.fixed_dictionaries(
        {
            "conv": maybe(widths),
            "kernel": maybe(st.sampled_from([1, 3, 5, 7])),
            "stride": maybe(st.integers(1, 3)),
        }
    ),
    st.fixed_dictionaries(
        {"maxpool": maybe(st.integers(1, 4)), "stride": maybe(st.integers(1, 3))}
    ),
    st.fixed_dictionaries({"pad": maybe(st.integers(1, 3))}),
)
block_entry = st.one_of(
    st.sampled_from(["default", "conv_block", "identity_block"]),
    st.fixed_dictionaries(
        {"shortcut": st.sampled_from(["identity", "projection", "zeropad", "none"])}
    ),
)
stage = st.fixed_dictionaries(
    {
        "filters": maybe(st.lists(widths, min_size=2, max_size=3)),
        "blocks": maybe(st.integers(1, 3) | st.lists(block_entry, min_size=1, max_size=3)),
        "stride": maybe(st.integers(1, 2)),
    }
)
spec_dict = st.fixed_dictionaries(
    {
        "input": maybe(
            st.tuples(st.integers(1, 4), st.integers(1, 40), st.integers(1, 40)).map(list)
        ),
        "stem": maybe(st.lists(stem_layer, max_size=4)),
        "block": maybe(st.sampled_from(["basic", "bottleneck"])),
        "stages": maybe(st.lists(stage, min_size=1, max_size=3)),
    },
    optional={
        "shortcut": maybe(st.sampled_from(["A", "B", "C", "none"])),
        "stride_on": maybe(st.sampled_from(["1x1", "3x3"])),
        "groups": maybe(st.sampled_from([1, 2, 4])),
        "bias": maybe(st.booleans()),
        "head": maybe(
            st.sampled_from(["none"])
            | st.fixed_dictionaries(
                {"classes": st.integers(1, 12)}, optional={"pool": st.sampled_from(["avg", "max"])}
            )
        ),
        "extra": junk,
    },
)


@st.composite
def plausible_spec(draw) -> dict:
    """Specs that are mostly valid: filters match the block type, no junk values; every block
    type of the registry, every shortcut option, sometimes a block option (SE)."""
    block = draw(st.sampled_from(sorted(BLOCKS)))
    count = BLOCKS[block].filters
    stages = [
        {
            "filters": draw(st.lists(widths, min_size=count, max_size=count)),
            "blocks": draw(st.integers(1, 2) | st.lists(block_entry, min_size=1, max_size=2)),
            "stride": draw(st.integers(1, 2)),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]
    spec = {
        "input": [draw(st.integers(1, 4)), draw(st.integers(8, 40)), draw(st.integers(8, 40))],
        "stem": draw(
            st.lists(
                stem_layer.filter(
                    lambda layer: (
                        not isinstance(layer, dict)
                        or all(isinstance(v, int) for v in layer.values())
                    )
                ),
                max_size=3,
            )
        ),
        "block": block,
        "stages": stages,
        "shortcut": draw(st.sampled_from(["A", "B", "C", "D", "none"])),
        "stride_on": draw(st.sampled_from(["1x1", "3x3"])),
        "groups": draw(st.sampled_from([1, 2])) if BLOCKS[block].grouped else 1,
        "bias": draw(st.booleans()),
        "head": draw(st.sampled_from(["none", {"classes": 5}, {"pool": "max", "classes": 3}])),
    }
    if draw(st.booleans()):
        spec["se"] = {"reduction": draw(st.integers(1, 8)), "divisor": draw(st.integers(1, 4))}
    return spec


def load_text(text: str):
    """Spec or SpecError; anything else escaping is a bug."""
    handle, path = tempfile.mkstemp(suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        return load_checked(path)
    finally:
        os.unlink(path)


FAST = settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@FAST
@given(spec_dict)
def test_any_structure_is_a_spec_or_a_clean_error(value):
    try:
        load_text(yaml.safe_dump(value))
    except SpecError as err:
        assert err.problems
        for line in err.lines():
            assert "\n" not in line and line.startswith(("/", "tests", "resnet"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plausible_spec())
def test_every_valid_spec_builds_runs_and_agrees(value):
    try:
        spec, plan = load_text(yaml.safe_dump(value))
    except SpecError:
        return
    report = summarize(spec, check=True, batch_size=2)
    assert report.check.ok, report.check
    # the plan's pass gives what the built model's meta pass gives, field by field
    assert report.to_json() == summarize(spec, check=True, batch_size=2, from_model=True).to_json()
    model = build_model(spec).eval()
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(2, *spec.input))
    top = [row for row in report.layers if row.depth == 1]
    assert list(out.shape) == top[-1].output_shape == report.totals.output_shape
    assert counter.get_total_flops() == 2 * report.totals.macs


EXAMPLES = [
    path.read_text()
    for folder in (ROOT / "examples", ROOT / "resnet_inspect" / "spec" / "presets")
    for path in sorted(folder.rglob("*.yaml"))
]
ALPHABET = list(" \n\t:-[]{},#&*!|>'\"0123456789abcxyz") + ["\x00", "é", "<<: "]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(5)
        if kind == 0 and text:
            i = rng.randrange(len(text))
            text = text[:i] + text[i + 1 :]
        elif kind == 1:
            i = rng.randrange(len(text) + 1)
            text = text[:i] + rng.choice(ALPHABET) + text[i:]
        elif kind == 2 and lines:
            line = rng.choice(lines)
            text = text + line
        elif kind == 3 and len(lines) > 1:
            i, j = rng.sample(range(len(lines)), 2)
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        else:
            digits = [i for i, c in enumerate(text) if c.isdigit()]
            if digits:
                i = rng.choice(digits)
                text = text[:i] + str(rng.choice([0, 7, 99999999, -1])) + text[i + 1 :]
        lines = text.splitlines(keepends=True)
    return text


@FAST
@given(st.integers(0, len(EXAMPLES) - 1), st.randoms(use_true_random=False))
def test_mutated_examples_never_crash(index, rng):
    text = mutate(EXAMPLES[index], rng)
    try:
        load_text(text)
    except SpecError as err:
        assert err.problems
