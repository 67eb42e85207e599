"""A Verdict as the AWSCredentialCheck's status: three conditions, a summary, and what is missing.

Pure: the clock and the previous status are parameters. A condition keeps its lastTransitionTime while its
status does not change (as cert-manager's SetIssuerCondition does).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from credcheck.engine.action_result import action_counts, action_entry, broken_feature_entries, observed_denials
from credcheck.engine.model import ActionResult, ClusterVerdict, Status, Verdict, missing_first
from credcheck.kube.contract import timestamp

MAX_MISSING_LISTED = 50
TRANSIENT = frozenset({"Throttled"})  # keeps the last verdict, with a note


@dataclass(frozen=True)
class StatusCondition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str


def conditions_for(verdict: Verdict) -> list[StatusCondition]:
    if verdict.status is Status.SUFFICIENT:
        return [StatusCondition("CredentialsValid", "True", "Valid", "AWS accepted the credential"),
                StatusCondition("PermissionsSufficient", "True", verdict.reason, verdict.message),
                StatusCondition("Ready", "True", verdict.reason, verdict.message)]
    if verdict.status is Status.INSUFFICIENT:
        return [StatusCondition("CredentialsValid", "True", "Valid", "AWS accepted the credential"),
                StatusCondition("PermissionsSufficient", "False", verdict.reason, verdict.message),
                StatusCondition("Ready", "False", verdict.reason, verdict.message)]
    if verdict.status is Status.INVALID:
        return [StatusCondition("CredentialsValid", "False", verdict.reason, verdict.message),
                StatusCondition("PermissionsSufficient", "Unknown", "CredentialsInvalid",
                          "permissions cannot be checked until the credential is valid"),
                StatusCondition("Ready", "False", verdict.reason, verdict.message)]
    if verdict.status is Status.MISCONFIGURED:
        return [StatusCondition("CredentialsValid", "Unknown", verdict.reason, verdict.message),
                StatusCondition("PermissionsSufficient", "Unknown", verdict.reason, verdict.message),
                StatusCondition("Ready", "False", verdict.reason, verdict.message)]
    credentials = (StatusCondition("CredentialsValid", "True", "Valid", "AWS accepted the credential")
                   if verdict.principal is not None else
                   StatusCondition("CredentialsValid", "Unknown", verdict.reason, verdict.message))
    return [credentials, StatusCondition("PermissionsSufficient", "Unknown", verdict.reason, verdict.message),
            StatusCondition("Ready", "Unknown", verdict.reason, verdict.message)]


def merge_conditions(new: list[StatusCondition], previous: list[dict[str, Any]], now: datetime,
                     generation: int | None) -> list[dict[str, Any]]:
    before = {c.get("type"): c for c in previous}
    out = []
    for cond in new:
        old = before.get(cond.type)
        since = old.get("lastTransitionTime") if old and old.get("status") == cond.status else None
        out.append({"type": cond.type, "status": cond.status, "reason": cond.reason, "message": cond.message[:1024],
                    "lastTransitionTime": since or timestamp(now),
                    **({"observedGeneration": generation} if generation is not None else {})})
    return out


def _missing(results: tuple[ActionResult, ...], limit: int = MAX_MISSING_LISTED) -> list[dict[str, Any]]:
    return [action_entry(r) for r in missing_first(results)[:limit]]


def _cluster(c: ClusterVerdict) -> dict[str, Any]:
    ready = {Status.SUFFICIENT: "True", Status.INSUFFICIENT: "False"}.get(c.status, "Unknown")
    entry = {"name": c.cluster, "ready": ready, "region": c.region, "kubernetes": c.kubernetes,
             "cloudController": c.cloud_controller, "missing": list(c.missing), "undecided": list(c.undecided),
             "notes": list(c.notes)}
    return {k: v for k, v in entry.items() if v not in (None, [])}


def upgrade_condition(verdict: Verdict, profile: str) -> StatusCondition:
    """UpgradeReady: what the credential lacks for the target KKP version, from the same simulation."""
    up = verdict.upgrade
    if up is None:
        return StatusCondition("UpgradeReady", "Unknown", verdict.reason,
                         f"readiness for {profile} not verified: {verdict.message}")
    target = f"KKP {up.profile_version} ({profile})"
    if up.status is Status.SUFFICIENT:
        return StatusCondition("UpgradeReady", "True", "ReadyForTargetVersion",
                         f"the credential has every required action of {target}")
    if up.status is Status.INSUFFICIENT:
        return StatusCondition("UpgradeReady", "False", "MissingForTargetVersion", f"{target}: {up.message}")
    return StatusCondition("UpgradeReady", "Unknown", up.reason, f"{target}: {up.message}")


def consecutive_failures(previous: Mapping[str, Any], verdict: Verdict) -> int:
    """How many checks in a row could not verify, this one included (0 once one does): the retry backoff and the
    status both read this one count."""
    return int(previous.get("consecutiveFailures", 0) or 0) + 1 if verdict.status is Status.UNKNOWN else 0


def build_status(verdict: Verdict, previous: dict[str, Any], *, now: datetime, next_check: datetime,
                 generation: int | None, masked_key_id: str | None, clusters: list[str],
                 profile: str, failures: int, upgrade_profile: str | None = None) -> dict[str, Any]:
    """The full status for a fresh verdict; a transient failure keeps the last verdict and notes it. `failures` is
    consecutive_failures(previous, verdict)."""
    if verdict.reason in TRANSIENT and previous.get("conditions"):
        kept = [dict(c) for c in previous["conditions"]]
        for c in kept:
            if c.get("type") == "Ready":
                c["message"] = f"{verdict.message} (showing the last verdict, from {previous.get('lastCheckTime')})"
        return {**previous, "conditions": kept, "nextCheckTime": timestamp(next_check),
                "consecutiveFailures": failures}
    principal = verdict.principal
    tally = verdict.tally()
    conditions = conditions_for(verdict)
    if upgrade_profile:
        conditions.append(upgrade_condition(verdict, upgrade_profile))
    up = verdict.upgrade
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "conditions": merge_conditions(conditions, previous.get("conditions") or [], now, generation),
        "principal": None if principal is None else {"arn": principal.caller_arn, "account": principal.account,
                                                     "type": principal.kind},
        "accessKeyId": masked_key_id,
        "profile": profile,
        "kkpVersion": verdict.profile_version,
        "simulatedBy": verdict.simulated_by,
        # no summary without results: kubectl's MISSING column stays empty rather than claiming 0
        "summary": action_counts(verdict) if tally.checked else None,
        "brokenFeatures": broken_feature_entries(verdict),
        "missing": _missing(verdict.results),
        "remediationPolicy": json.dumps(verdict.remediation, indent=2) if verdict.remediation else None,
        "blockers": list(verdict.blockers),
        "findings": list(verdict.findings),
        "lastCheckTime": timestamp(now),
        "nextCheckTime": timestamp(next_check),
        "consecutiveFailures": failures,
        "clusters": [_cluster(c) for c in verdict.clusters if c.cluster in clusters or not clusters]
        or [{"name": name} for name in clusters],
        "upgrade": None if up is None or not upgrade_profile else {
            "profile": upgrade_profile, "kkpVersion": up.profile_version,
            "missingRequired": up.tally().missing_required, "missing": _missing(up.results, 20),
            "remediationPolicy": json.dumps(up.remediation, indent=2) if up.remediation else None},
        "observedDenials": observed_denials(verdict.observed_denials),
    }
    return status


def retry_delay(failures: int, interval: float, base: float = 60.0) -> float:
    """Backoff for checks that could not verify: 1, 2, 4 … minutes, capped at the interval."""
    return float(min(base * (2.0 ** max(failures - 1, 0)), interval))


def next_check_time(now: datetime, seconds: float, jitter: float) -> datetime:
    """`jitter` in [-1, 1] spreads re-checks by up to 10% so they don't all fire together."""
    return now + timedelta(seconds=seconds * (1 + 0.1 * jitter))


def ready_of(status: dict[str, Any]) -> tuple[str, str] | None:
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready":
            return str(c.get("status")), str(c.get("reason"))
    return None


def transition_event(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, str, str] | None:
    """(type, reason, message) for an Event when Ready's status or reason changed; None on a plain re-check."""
    old, new = ready_of(before), ready_of(after)
    if new is None or old == new:
        return None
    message = next(c["message"] for c in after["conditions"] if c["type"] == "Ready")
    kind = "Normal" if new[0] == "True" else "Warning"
    reason = "PermissionsSufficient" if new[0] == "True" and old is not None else new[1]
    return kind, reason, message
