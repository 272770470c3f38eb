"""YAML -> validated Spec. No torch here, so `validate` and `--help` start fast."""

from resnet_inspect.spec.loader import (
    load_checked,
    load_spec,
    load_with_warnings,
    preset_names,
    preset_path,
)
from resnet_inspect.spec.parser import Spec

__all__ = [
    "Spec",
    "load_checked",
    "load_spec",
    "load_with_warnings",
    "preset_names",
    "preset_path",
]
