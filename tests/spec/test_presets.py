"""Presets: all load, the copies in examples/ match, the dump round-trips, extends works."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import ROOT
from resnet_inspect.errors import SpecError
from resnet_inspect.spec import load_spec, preset_names, preset_path
from resnet_inspect.spec.dump import dump_spec
from resnet_inspect.spec.parser import parse_spec
from resnet_inspect.spec.source import load_yaml

REQUIRED = {
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet50_v1",
    "resnet101_v1",
    "resnet152_v1",
    "resnext50_32x4d",
    "wide_resnet50_2",
    "plain18",
    "plain34",
    "keras_resnet50",
    *(f"cifar_resnet{d}" for d in (20, 32, 44, 56, 110, 1202)),
    *(f"cifar_plain{d}" for d in (20, 32, 44, 56, 110)),
}


def test_every_required_preset_exists_and_has_a_description():
    assert REQUIRED <= set(preset_names())
    for name in preset_names():
        spec = load_spec(name)
        assert spec.name == name
        assert spec.description


def test_examples_hold_only_what_is_not_a_preset():
    presets = {preset_path(name).read_text() for name in preset_names()}
    for path in (ROOT / "examples").rglob("*.yaml"):
        assert path.read_text() not in presets, path


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_dump_round_trips(name):
    spec = load_spec(name)
    raw, source = load_yaml(dump_spec(spec), "dumped.yaml")
    assert replace(parse_spec(raw, source, "dumped"), source=spec.source) == spec


def test_layouts_of_the_variants():
    assert load_spec("resnet50").stride_on == "3x3"
    assert load_spec("resnet50_v1").stride_on == "1x1"
    assert load_spec("plain34").shortcut == "none"
    assert load_spec("cifar_resnet56").shortcut == "A"
    keras = load_spec("keras_resnet50")
    assert keras.bias and keras.stride_on == "1x1"
    # CIFAR depth is 6n + 2.
    for depth in (20, 32, 44, 56, 110, 1202):
        spec = load_spec(f"cifar_resnet{depth}")
        assert 6 * spec.stages[0].blocks + 2 == depth


def test_extends_overrides_and_relative_paths(write_spec, tmp_path):
    write_spec("extends: resnet50\nhead: {classes: 10}\n", "base.yaml")
    path = write_spec("extends: base.yaml\ninput: [3, 64, 64]\n", "child.yaml")
    spec = load_spec(path)
    assert spec.name == "child"
    assert spec.input == (3, 64, 64)
    assert spec.head.classes == 10 and spec.head.pool == "avg"  # mapping merged key by key
    assert spec.stages == load_spec("resnet50").stages


def test_extends_cycle_and_missing_target(write_spec):
    write_spec("extends: b.yaml\n", "a.yaml")
    path_b = write_spec("extends: a.yaml\n", "b.yaml")
    with pytest.raises(SpecError) as err:
        load_spec(path_b)
    assert err.value.lines() == [
        f"{path_b}:1:10: extends: extends cycle: b.yaml -> a.yaml -> b.yaml"
    ]
    missing = write_spec("extends: resnet5O\n", "m.yaml")
    with pytest.raises(SpecError) as err:
        load_spec(missing)
    assert err.value.lines() == [
        f"{missing}:1:10: extends: no such file or preset: 'resnet5O' (did you mean 'resnet50'?)"
    ]


def test_unknown_target_suggests_a_preset():
    with pytest.raises(SpecError) as err:
        load_spec("resnet05")
    assert err.value.lines() == [
        "resnet05: no such file or preset: 'resnet05' (did you mean 'resnet50'?)"
    ]


@pytest.mark.parametrize("name", preset_names())
def test_a_reports_spec_section_gives_the_spec_back(name):
    from resnet_inspect.spec.parser import spec_from_dict

    spec = load_spec(name)
    assert spec_from_dict(spec.to_dict()) == spec
