"""One action's result as data, named once: the AWSCredentialCheck status's `missing` entries (kube.status) and the
CLI's JSON (cli.report) both use `action_entry`, so `kubectl get awscc -o json` and `credcheck check --output json`
say the same thing with the same words.

The names are the status's, the public API kubectl users and the runbook already read: `reason` is the Outcome
(`implicitDeny`, `explicitDeny`, `deniedBySCP`, `deniedByPermissionsBoundary`, `missingContext`), and
`missingContextKeys` the request context keys the policy's conditions asked for and KKP's request did not carry.
Pure: no I/O.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from credcheck.engine.model import OPERATING, ActionResult, ObservedDenials, Severity, Verdict, role_of

# every key an entry can have, in the order it is written; the optional ones only when they say something
ACTION_FIELDS = ("action", "resource", "reason", "severity", "features", "cluster", "identity", "why",
                 "missingContextKeys", "matchedStatements")


def action_entry(result: ActionResult) -> dict[str, Any]:
    req = result.requirement
    entry: dict[str, Any] = {"action": req.action, "resource": req.resource, "reason": result.outcome.value,
                             "severity": req.severity.value, "features": list(req.features)}
    if req.cluster:
        entry["cluster"] = req.cluster
    if req.principal != OPERATING:
        entry["identity"] = req.principal
    if req.why:
        entry["why"] = req.why
    # also on a deny: the keys a condition needed and KKP's request lacks are why the Allow did not match
    if result.missing_context:
        entry["missingContextKeys"] = list(result.missing_context)
    if result.matched_statements:
        entry["matchedStatements"] = list(result.matched_statements)
    return entry


def observed_denials(observed: ObservedDenials | None) -> dict[str, Any] | None:
    """What AWS refused the credential (CloudTrail), as the status shows it: action, count, last seen, region and
    error code; never a request's parameters. None when not asked (--observe-denials is off)."""
    if observed is None:
        return None
    return {"state": observed.state, "message": observed.message[:1024], "windowHours": observed.window_hours,
            "regions": list(observed.regions),
            "denials": [{"action": d.action, "count": d.count, "lastSeen": d.last_seen, "region": d.region,
                         "errorCode": d.error_code} for d in observed.denials[:50]]}


def action_counts(verdict: Verdict) -> dict[str, int]:
    """The counts both the status and the CLI's JSON give (`summary`)."""
    tally = verdict.tally()
    return {"checked": tally.checked, "allowed": tally.allowed, "missingRequired": tally.missing_required,
            "missingRecommended": tally.missing_recommended, "undecided": tally.undecided}


def role_grants(results: Sequence[ActionResult]) -> dict[str, dict[str, object]]:
    """What each control-plane role's own policy lacks (its required actions not allowed), as a policy to add to that
    role (`remediation` leaves them out: they belong in the role's policy, not the credential's)."""
    wanted: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in results:
        role = role_of(r.requirement.principal)
        if role and not r.allowed and r.requirement.severity is Severity.REQUIRED:
            wanted[role][r.requirement.resource].add(r.requirement.action)
    return {role: {"Version": "2012-10-17",
                   "Statement": [{"Effect": "Allow", "Action": sorted(actions), "Resource": resource}
                                 for resource, actions in sorted(by_resource.items())]}
            for role, by_resource in sorted(wanted.items())}
