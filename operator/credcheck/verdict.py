"""Pure decisions: simulation results -> per-action outcomes -> a Verdict with a remediation policy."""

from collections import defaultdict
from collections.abc import Mapping, Sequence

from credcheck.model import (
    ActionResult,
    Outcome,
    Principal,
    Requirement,
    Severity,
    SimulationResult,
    Status,
    Verdict,
)
from credcheck.plan import probe_resource

FIXABLE_BY_ALLOW = frozenset({Outcome.IMPLICIT_DENY, Outcome.MISSING_CONTEXT})


def classify(result: SimulationResult) -> Outcome:
    """Why an action is (not) allowed; an SCP or boundary denial is named before the generic deny."""
    if result.decision == "allowed":
        return Outcome.ALLOWED
    if result.allowed_by_organizations is False:
        return Outcome.DENIED_BY_SCP
    if result.allowed_by_boundary is False:
        return Outcome.DENIED_BY_BOUNDARY
    if result.decision == "explicitDeny":
        return Outcome.EXPLICIT_DENY
    if result.missing_context:
        return Outcome.MISSING_CONTEXT
    return Outcome.IMPLICIT_DENY


def action_results(requirements: Sequence[Requirement],
                   simulated: Mapping[tuple[str, str], SimulationResult]) -> tuple[ActionResult, ...]:
    """Join each requirement with its simulation result (keyed by action and probe resource)."""
    out: list[ActionResult] = []
    for req in requirements:
        result = simulated.get((req.action, probe_resource(req.resource)))
        if result is None:
            raise KeyError(f"no simulation result for {req.action} on {req.resource}")
        out.append(ActionResult(req, classify(result), result.matched_statements, result.missing_context))
    return tuple(out)


def broken_features(results: Sequence[ActionResult]) -> dict[str, tuple[str, ...]]:
    """Required features that would break, with the actions they lack: {"machines": ("iam:PassRole",)}."""
    broken: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if not r.allowed and r.requirement.severity is Severity.REQUIRED:
            for feature in r.requirement.features:
                if r.requirement.action not in broken[feature]:
                    broken[feature].append(r.requirement.action)
    return {feature: tuple(sorted(actions)) for feature, actions in sorted(broken.items())}


def remediation(results: Sequence[ActionResult], severity: Severity = Severity.REQUIRED) -> dict[str, object] | None:
    """The fewest Allow statements granting what is missing, with the profile's resource patterns.

    A wildcard the profile uses (ec2:*) is granted as is when every action it stands for is missing.
    """
    wanted = [r for r in results if r.requirement.severity is severity]
    totals: dict[tuple[str, str], int] = defaultdict(int)
    missing: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in wanted:
        key = (r.requirement.source_pattern, r.requirement.resource)
        totals[key] += 1
        if r.outcome in FIXABLE_BY_ALLOW:
            missing[key].append(r.requirement.action)
    by_resource: dict[str, set[str]] = defaultdict(set)
    for (pattern, resource), actions in missing.items():
        whole = "*" in pattern and len(actions) == totals[(pattern, resource)]
        by_resource[resource].update([pattern] if whole else actions)
    if not by_resource:
        return None
    # statements with the same actions on different resources merge into one
    by_actions: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for resource, granted in by_resource.items():
        by_actions[tuple(sorted(granted))].append(resource)
    statements = [
        {"Sid": f"CredcheckGrant{i + 1}", "Effect": "Allow",
         "Action": list(actions) if len(actions) > 1 else actions[0],
         "Resource": sorted(resources) if len(resources) > 1 else resources[0]}
        for i, (actions, resources) in enumerate(sorted(by_actions.items(), key=lambda kv: sorted(kv[1])))
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def blockers(results: Sequence[ActionResult]) -> tuple[str, ...]:
    """Denials no Allow can lift, each with what to do about it."""
    advice = {
        Outcome.EXPLICIT_DENY: "an explicit Deny ({where}) blocks {actions}: remove or narrow that statement",
        Outcome.DENIED_BY_SCP: "an AWS Organizations SCP blocks {actions}: ask the organization's admins to allow "
                               "them for this account (the simulator can report SCP denials that do not apply)",
        Outcome.DENIED_BY_BOUNDARY: "the permissions boundary does not allow {actions}: add them to the boundary",
    }
    grouped: dict[tuple[Outcome, str], list[str]] = defaultdict(list)
    for r in results:
        if r.outcome in advice and r.requirement.severity is Severity.REQUIRED:
            grouped[(r.outcome, ", ".join(r.matched_statements) or "unnamed")].append(r.requirement.action)
    return tuple(advice[outcome].format(where=where, actions=", ".join(sorted(set(actions))))
                 for (outcome, where), actions in sorted(grouped.items()))


def decide(principal: Principal, requirements: Sequence[Requirement],
           simulated: Mapping[tuple[str, str], SimulationResult], findings: Sequence[str] = ()) -> Verdict:
    results = action_results(requirements, simulated)
    broken = broken_features(results)
    missing_required = sum(1 for r in results if not r.allowed and r.requirement.severity is Severity.REQUIRED)
    missing_recommended = sum(1 for r in results if not r.allowed and r.requirement.severity is Severity.RECOMMENDED)
    if broken:
        summary = "; ".join(f"{feature}: missing {', '.join(actions[:5])}{' …' if len(actions) > 5 else ''}"
                            for feature, actions in broken.items())
        return Verdict(Status.INSUFFICIENT, "MissingPermissions",
                       f"{missing_required} required action(s) denied — {summary}",
                       principal, results, broken, remediation(results), blockers(results), tuple(findings))
    required = sum(1 for r in results if r.requirement.severity is Severity.REQUIRED)
    note = f"; {missing_recommended} recommended action(s) denied" if missing_recommended else ""
    return Verdict(Status.SUFFICIENT, "AllRequiredAllowed",
                   f"all {required} required actions are allowed{note}",
                   principal, results, {}, None, (), tuple(findings))
