"""Pure decisions: simulation results -> per-action outcomes -> a Verdict with a remediation policy."""

import fnmatch
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from credcheck.engine.batches import RequestKey, request_key
from credcheck.engine.model import (
    ActionResult,
    ClusterVerdict,
    Outcome,
    Principal,
    Requirement,
    Severity,
    SimulationResult,
    Status,
    Verdict,
    is_missing,
    role_of,
)

FIXABLE_BY_ALLOW = frozenset({Outcome.IMPLICIT_DENY})
PROVEN = "credcheck assumed the role itself"


class MissingSimulationResult(LookupError):
    """AWS answered a simulation without a result for an action credcheck asked about."""


@dataclass(frozen=True)
class TargetSummary:
    """How a Cluster's requirements were derived, for the per-Cluster verdict."""

    cluster: str | None
    region: str
    kubernetes: str | None = None
    cloud_controller: str | None = None
    notes: tuple[str, ...] = ()
    trust_problem: str | None = None  # the control-plane role's trust policy does not admit the keys
    trust_undecided: str | None = None  # its trust policy depends on a condition key credcheck cannot know


def classify(result: SimulationResult, absent: frozenset[str] = frozenset()) -> Outcome:
    """Why an action is (not) allowed; an SCP or boundary denial is named before the generic deny.

    `absent`: context keys KKP's request for this action certainly lacks (the profile sends them with the same
    action elsewhere, not here). A condition on them cannot hold: that is a denial, not an undecided result.
    """
    if result.decision == "allowed":
        return Outcome.ALLOWED
    if result.allowed_by_organizations is False:
        return Outcome.DENIED_BY_SCP
    if result.allowed_by_boundary is False:
        return Outcome.DENIED_BY_BOUNDARY
    if result.decision == "explicitDeny":
        return Outcome.EXPLICIT_DENY
    if {k.lower() for k in result.missing_context} - absent:
        return Outcome.MISSING_CONTEXT
    return Outcome.IMPLICIT_DENY


def action_results(requirements: Sequence[Requirement],
                   simulated: Mapping[RequestKey, SimulationResult]) -> tuple[ActionResult, ...]:
    """Join each requirement with its simulation result (keyed by principal, action, resource and context)."""
    sent: dict[str, set[str]] = defaultdict(set)  # per action: the keys some KKP request for it carries
    for req in requirements:
        sent[req.action].update(k.lower() for k, _ in req.context)
    out: list[ActionResult] = []
    for req in requirements:
        if req.proven_by_call:
            out.append(ActionResult(req, Outcome.ALLOWED, (PROVEN,)))
            continue
        result = simulated.get(request_key(req))
        if result is None and req.undecided_because:
            out.append(ActionResult(req, Outcome.MISSING_CONTEXT))  # not asked: its identity could not be simulated
            continue
        if result is None:
            raise MissingSimulationResult(f"AWS returned no simulation result for {req.action} on {req.resource}")
        absent = frozenset(sent[req.action] - {k.lower() for k, _ in req.context})
        if req.untagged:  # the request carries no tags: a condition on them cannot hold
            absent |= {k.lower() for k in result.missing_context
                       if k.lower().startswith(("aws:requesttag/", "ec2:requesttag/")) or k.lower() == "aws:tagkeys"}
        outcome = classify(result, absent)
        if req.undecided_because and outcome is not Outcome.ALLOWED:
            # asked on a stand-in (any role): a denial there says nothing about the real resource
            out.append(ActionResult(req, Outcome.MISSING_CONTEXT, result.matched_statements))
            continue
        out.append(ActionResult(req, outcome, result.matched_statements, result.missing_context))
    return tuple(out)


def features_broken_by(results: Sequence[ActionResult]) -> dict[str, tuple[str, ...]]:
    """Required features that would break, with the actions they lack: {"machines": ("iam:PassRole",)}."""
    broken: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if is_missing(r) and r.requirement.severity is Severity.REQUIRED:
            for feature in r.requirement.features:
                if r.requirement.action not in broken[feature]:
                    broken[feature].append(r.requirement.action)
    return {feature: tuple(sorted(actions)) for feature, actions in sorted(broken.items())}


def remediation(results: Sequence[ActionResult], severity: Severity = Severity.REQUIRED) -> dict[str, object] | None:
    """The fewest Allow statements granting what is missing, on the exact resources KKP's calls act on.

    A wildcard the profile uses (ec2:*) is granted as is when every action it stands for is missing.
    """
    # the credential's policy only: what a control-plane role lacks belongs in that role's policy (its entries say so)
    wanted = [r for r in results if r.requirement.severity is severity and role_of(r.requirement.principal) is None]
    totals: dict[tuple[str, str], int] = defaultdict(int)
    missing: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in wanted:
        key = (r.requirement.source_pattern, r.requirement.resource)
        totals[key] += 1
        if r.outcome in FIXABLE_BY_ALLOW and r.requirement.action not in missing[key]:
            missing[key].append(r.requirement.action)
    by_resource: dict[str, set[str]] = defaultdict(set)
    for (pattern, resource), actions in missing.items():
        if not actions:
            continue
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


def grant_policy(requirements: Sequence[Requirement],
                 severities: Sequence[Severity] = (Severity.REQUIRED, Severity.RECOMMENDED)) -> dict[str, object]:
    """A policy granting the requirements of the given severities, as few statements as remediation makes; a
    resource another resource of the same action already covers (`loadbalancer/net/*/*` under `loadbalancer/*`) is
    left out, so every pair in the policy is one some requirement needs."""
    wanted = [r for r in requirements if r.severity in severities]
    resources: dict[str, set[str]] = defaultdict(set)
    for r in wanted:
        resources[r.action].add(r.resource)
    kept = [r for r in wanted if not any(other != r.resource and fnmatch.fnmatchcase(r.resource, other)
                                         for other in resources[r.action])]
    as_missing = [ActionResult(r, Outcome.IMPLICIT_DENY) for r in kept]
    documents = [remediation(as_missing, severity) for severity in severities]
    statements = [dict(s) for doc in documents if doc for s in doc["Statement"]]  # type: ignore[attr-defined]
    for i, statement in enumerate(statements):
        statement["Sid"] = f"KKP{i + 1}"
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


def undecided_findings(results: Sequence[ActionResult]) -> tuple[str, ...]:
    """Required actions AWS could not decide, each with the context keys it asked for."""
    by_keys: dict[tuple[str, ...], set[str]] = defaultdict(set)
    unknown: dict[str, set[str]] = defaultdict(set)
    for r in results:
        if r.outcome is Outcome.MISSING_CONTEXT and r.requirement.severity is Severity.REQUIRED:
            if r.requirement.undecided_because:
                unknown[r.requirement.undecided_because].add(r.requirement.action)
            else:
                by_keys[tuple(sorted(r.missing_context))].add(r.requirement.action)
    resources = tuple(f"could not decide {', '.join(sorted(actions))}: {why}; neither missing nor verified"
                      for why, actions in sorted(unknown.items()))
    return resources + tuple(f"AWS could not decide {', '.join(sorted(actions))} without the context key(s) "
                             f"{', '.join(keys)}: the policy conditions on something KKP's requests do not carry; "
                             "neither missing nor verified" for keys, actions in sorted(by_keys.items()))


def cluster_verdicts(results: Sequence[ActionResult], targets: Sequence[TargetSummary]) -> tuple[ClusterVerdict, ...]:
    out = []
    for target in targets:
        mine = [r for r in results if r.requirement.cluster == target.cluster
                and r.requirement.severity is Severity.REQUIRED]
        missing = tuple(sorted({r.requirement.action for r in mine if is_missing(r)}))
        undecided = tuple(sorted({r.requirement.action for r in mine if r.outcome is Outcome.MISSING_CONTEXT}))
        blocked = missing or target.trust_problem
        status = (Status.INSUFFICIENT if blocked else Status.UNKNOWN if undecided or target.trust_undecided
                  else Status.SUFFICIENT)
        notes = target.notes + tuple(t for t in (target.trust_problem, target.trust_undecided) if t)
        out.append(ClusterVerdict(target.cluster or "(no Cluster)", status, target.region, target.kubernetes,
                                  target.cloud_controller, missing, undecided, notes))
    return tuple(out)


def _why(results: Sequence[ActionResult]) -> str:
    whys = sorted({r.requirement.why for r in results
                   if is_missing(r) and r.requirement.severity is Severity.REQUIRED and r.requirement.why
                   and "cloud-controller" in r.requirement.features})
    return f". Why: {whys[0]}" if whys else ""


def decide(principal: Principal, requirements: Sequence[Requirement],
           simulated: Mapping[RequestKey, SimulationResult], findings: Sequence[str] = (), *,
           targets: Sequence[TargetSummary] = (), profile_version: str | None = None) -> Verdict:
    results = action_results(requirements, simulated)
    broken = features_broken_by(results)
    clusters = cluster_verdicts(results, targets)
    missing_required = sum(1 for r in results if is_missing(r) and r.requirement.severity is Severity.REQUIRED)
    missing_recommended = sum(1 for r in results if is_missing(r) and r.requirement.severity is Severity.RECOMMENDED)
    undecided = undecided_findings(results)
    findings = tuple(findings) + undecided
    common = {"principal": principal, "results": results, "clusters": clusters, "profile_version": profile_version}
    trust = tuple(t.trust_problem for t in targets if t.trust_problem)
    if trust and not broken:
        return Verdict(Status.INSUFFICIENT, "ControlPlaneRoleTrustMissing", trust[0], blockers=trust,
                       findings=findings, **common)  # type: ignore[arg-type]
    if broken:
        missing_by_feature = "; ".join(f"{feature}: missing {', '.join(actions[:5])}{' …' if len(actions) > 5 else ''}"
                            for feature, actions in broken.items())
        failing = [c.cluster for c in clusters if c.status is Status.INSUFFICIENT and c.cluster != "(no Cluster)"]
        where = f" (Cluster(s) {', '.join(failing)})" if failing else ""
        return Verdict(Status.INSUFFICIENT, "MissingPermissions",
                       f"{missing_required} required action(s) denied{where} — {missing_by_feature}{_why(results)}",
                       broken_features=broken, remediation=remediation(results), blockers=blockers(results) + trust,
                       findings=findings, **common)  # type: ignore[arg-type]
    if undecided:
        return Verdict(Status.UNKNOWN, "UndecidedByAWS", "; ".join(undecided), findings=findings,
                       **common)  # type: ignore[arg-type]
    trust_undecided = tuple(t.trust_undecided for t in targets if t.trust_undecided)
    if trust_undecided:
        return Verdict(Status.UNKNOWN, "ControlPlaneRoleTrustUndecided", "; ".join(trust_undecided),
                       findings=findings, **common)  # type: ignore[arg-type]
    required = sum(1 for r in results if r.requirement.severity is Severity.REQUIRED)
    note = f"; {missing_recommended} recommended action(s) denied" if missing_recommended else ""
    return Verdict(Status.SUFFICIENT, "AllRequiredAllowed", f"all {required} required actions are allowed{note}",
                   findings=findings, **common)  # type: ignore[arg-type]
