"""From requirements to the fewest simulate calls: concrete actions grouped by the resource simulated."""

from collections.abc import Sequence
from dataclasses import dataclass

from credcheck.model import Requirement

PROBE_NAME = "credcheck-probe"


@dataclass(frozen=True)
class SimulationBatch:
    resource: str  # a concrete ARN (or "*") standing in for the requirement's resource pattern
    actions: tuple[str, ...]
    region: str  # the aws:RequestedRegion context value sent with the batch (the cluster's region)


def probe_resource(pattern: str) -> str:
    """A concrete ARN that the pattern covers: `role/kubernetes-*` -> `role/kubernetes-credcheck-probe`."""
    if pattern == "*":
        return "*"
    return pattern.replace("*", PROBE_NAME).replace("?", "x")


def plan(requirements: Sequence[Requirement], region: str) -> tuple[SimulationBatch, ...]:
    """One batch per simulated resource: the fewest SimulatePrincipalPolicy calls (before paging)."""
    groups: dict[str, list[str]] = {}
    for req in requirements:
        actions = groups.setdefault(probe_resource(req.resource), [])
        if req.action not in actions:
            actions.append(req.action)
    return tuple(SimulationBatch(resource, tuple(actions), region) for resource, actions in sorted(groups.items()))
