"""YAML -> validated Spec. No torch here, so `validate` and `--help` start fast."""

from resnet_inspect.blocks.layers import LayerPlan
from resnet_inspect.spec.loader import (
    load_checked,
    load_spec,
    load_with_warnings,
    preset_names,
    preset_path,
)
from resnet_inspect.spec.plan import BlockPlan, NetworkPlan, plan_network
from resnet_inspect.spec.schema import Spec

__all__ = [
    "BlockPlan",
    "LayerPlan",
    "NetworkPlan",
    "Spec",
    "load_checked",
    "load_spec",
    "load_with_warnings",
    "plan_network",
    "preset_names",
    "preset_path",
]
