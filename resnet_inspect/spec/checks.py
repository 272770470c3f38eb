"""Checks that need the whole spec: shapes that cannot add, feature maps that vanish, groups."""

from __future__ import annotations

from resnet_inspect.errors import Problem
from resnet_inspect.plan.network import NetworkPlan, plan_network
from resnet_inspect.spec.parser import Spec
from resnet_inspect.spec.source import SourceMap


def check_spec(spec: Spec, source: SourceMap) -> tuple[NetworkPlan, list[Problem]]:
    """Plan the network and return the problems, located in the file that caused them."""
    plan, issues = plan_network(spec)
    return plan, [source.problem(issue.path, issue.message, issue.hint) for issue in issues]
