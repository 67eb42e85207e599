"""A Verdict as the AWSCredentialCheck's status (kube.check_status.CheckStatus): three conditions, a summary, and
what is missing.

Pure: the clock and the previous status are parameters. A condition keeps its lastTransitionTime while its
status does not change (as cert-manager's SetIssuerCondition does).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from credcheck.engine.action_result import action_counts, action_entry, observed_denials, role_grants
from credcheck.engine.model import ActionResult, ClusterVerdict, Principal, Status, Verdict, missing_first
from credcheck.kube.check_status import (
    READY,
    ActionEntry,
    BrokenFeature,
    CheckStatus,
    ClusterStatus,
    Condition,
    RoleRemediation,
    Summary,
    Upgrade,
    parse,
)
from credcheck.kube.check_status import ObservedDenials as ObservedDenialsStatus
from credcheck.kube.check_status import Principal as StatusPrincipal
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
                StatusCondition(READY, "True", verdict.reason, verdict.message)]
    if verdict.status is Status.INSUFFICIENT:
        return [StatusCondition("CredentialsValid", "True", "Valid", "AWS accepted the credential"),
                StatusCondition("PermissionsSufficient", "False", verdict.reason, verdict.message),
                StatusCondition(READY, "False", verdict.reason, verdict.message)]
    if verdict.status is Status.INVALID:
        return [StatusCondition("CredentialsValid", "False", verdict.reason, verdict.message),
                StatusCondition("PermissionsSufficient", "Unknown", "CredentialsInvalid",
                          "permissions cannot be checked until the credential is valid"),
                StatusCondition(READY, "False", verdict.reason, verdict.message)]
    if verdict.status is Status.MISCONFIGURED:
        return [StatusCondition("CredentialsValid", "Unknown", verdict.reason, verdict.message),
                StatusCondition("PermissionsSufficient", "Unknown", verdict.reason, verdict.message),
                StatusCondition(READY, "False", verdict.reason, verdict.message)]
    credentials = (StatusCondition("CredentialsValid", "True", "Valid", "AWS accepted the credential")
                   if verdict.principal is not None else
                   StatusCondition("CredentialsValid", "Unknown", verdict.reason, verdict.message))
    return [credentials, StatusCondition("PermissionsSufficient", "Unknown", verdict.reason, verdict.message),
            StatusCondition(READY, "Unknown", verdict.reason, verdict.message)]


def merge_conditions(new: Sequence[StatusCondition], previous: Sequence[Condition], now: datetime,
                     generation: int | None) -> tuple[Condition, ...]:
    before = {c.type: c for c in previous}
    out = []
    for cond in new:
        old = before.get(cond.type)
        since = old.last_transition_time if old is not None and old.status == cond.status else None
        out.append(Condition(cond.type, cond.status, cond.reason, cond.message[:1024], since or timestamp(now),
                             generation))
    return tuple(out)


def _entries(results: tuple[ActionResult, ...], limit: int | None = MAX_MISSING_LISTED) -> tuple[ActionEntry, ...]:
    listed = missing_first(results)
    return tuple(parse(ActionEntry, action_entry(r)) for r in (listed if limit is None else listed[:limit]))


def _cluster(c: ClusterVerdict) -> ClusterStatus:
    ready = {Status.SUFFICIENT: "True", Status.INSUFFICIENT: "False"}.get(c.status, "Unknown")
    return ClusterStatus(c.cluster, ready, c.region, c.kubernetes, c.cloud_controller, c.missing, c.undecided,
                         c.notes)


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


def consecutive_failures(previous: CheckStatus, verdict: Verdict) -> int:
    """How many checks in a row could not verify, this one included (0 once one does): the retry backoff and the
    status both read this one count."""
    return previous.consecutive_failures + 1 if verdict.status is Status.UNKNOWN else 0


def _policy(document: Mapping[str, object] | None) -> str | None:
    return json.dumps(document, indent=2) if document else None


def _principal(p: Principal | None) -> StatusPrincipal | None:
    return None if p is None else StatusPrincipal(p.caller_arn, p.account, p.kind, p.policy_source_arn, p.partition)


def verdict_status(verdict: Verdict, *, profile: str, clusters: Sequence[str] = (),
                   upgrade_profile: str | None = None, missing_limit: int | None = MAX_MISSING_LISTED,
                   aws_calls: bool = False) -> CheckStatus:
    """What a verdict says, as a status (no times, conditions without history): the CLI prints this one (all
    missing actions, the AWS calls), the operator completes it in build_status."""
    tally = verdict.tally()
    up = verdict.upgrade
    conditions = conditions_for(verdict)
    if upgrade_profile:
        conditions.append(upgrade_condition(verdict, upgrade_profile))
    return CheckStatus(
        verdict=verdict.status.value,
        conditions=tuple(Condition(c.type, c.status, c.reason, c.message[:1024]) for c in conditions),
        principal=_principal(verdict.principal),
        profile=profile,
        kkp_version=verdict.profile_version,
        simulated_by=verdict.simulated_by,
        # no summary without results: kubectl's MISSING column stays empty rather than claiming 0
        summary=parse(Summary, action_counts(verdict)) if tally.checked else None,
        broken_features=tuple(BrokenFeature(f, tuple(a)) for f, a in verdict.broken_features.items()),
        missing=_entries(verdict.results, missing_limit),
        remediation_policy=_policy(verdict.remediation),
        role_remediation=tuple(RoleRemediation(role, json.dumps(grant, indent=2))
                               for role, grant in role_grants(verdict.results).items()),
        blockers=verdict.blockers,
        findings=verdict.findings,
        clusters=tuple(_cluster(c) for c in verdict.clusters if c.cluster in clusters or not clusters)
        or tuple(ClusterStatus(name) for name in clusters),
        upgrade=None if up is None or not upgrade_profile else Upgrade(
            upgrade_profile, up.profile_version, up.tally().missing_required, _entries(up.results, 20),
            _policy(up.remediation)),
        observed_denials=_observed(verdict),
        aws_calls=dict(verdict.aws_calls) if aws_calls else None,
    )


def _observed(verdict: Verdict) -> ObservedDenialsStatus | None:
    found = observed_denials(verdict.observed_denials)
    return None if found is None else parse(ObservedDenialsStatus, found)


def build_status(verdict: Verdict, previous: CheckStatus, *, now: datetime, next_check: datetime,
                 generation: int | None, masked_key_id: str | None, clusters: list[str],
                 profile: str, failures: int, upgrade_profile: str | None = None) -> CheckStatus:
    """The full status for a fresh verdict; a transient failure keeps the last verdict and notes it. `failures` is
    consecutive_failures(previous, verdict)."""
    if verdict.reason in TRANSIENT and previous.conditions:
        kept = tuple(replace(c, message=f"{verdict.message} (showing the last verdict, from "
                                        f"{previous.last_check_time})") if c.type == READY else c
                     for c in previous.conditions)
        return replace(previous, conditions=kept, next_check_time=timestamp(next_check),
                       consecutive_failures=failures)
    fresh = verdict_status(verdict, profile=profile, clusters=clusters, upgrade_profile=upgrade_profile)
    decided = [StatusCondition(c.type, c.status, c.reason, c.message) for c in fresh.conditions]
    return replace(fresh, observed_generation=generation,
                   conditions=merge_conditions(decided, previous.conditions, now, generation),
                   access_key_id=masked_key_id, last_check_time=timestamp(now),
                   next_check_time=timestamp(next_check), consecutive_failures=failures)


def retry_delay(failures: int, interval: float, base: float = 60.0) -> float:
    """Backoff for checks that could not verify: 1, 2, 4 … minutes, capped at the interval."""
    return float(min(base * (2.0 ** max(failures - 1, 0)), interval))


def next_check_time(now: datetime, seconds: float, jitter: float) -> datetime:
    """`jitter` in [-1, 1] spreads re-checks by up to 10% so they don't all fire together."""
    return now + timedelta(seconds=seconds * (1 + 0.1 * jitter))


def ready_of(status: CheckStatus) -> tuple[str, str] | None:
    ready = status.ready
    return None if ready is None else (ready.status, ready.reason)


def transition_event(before: CheckStatus, after: CheckStatus) -> tuple[str, str, str] | None:
    """(type, reason, message) for an Event when Ready's status or reason changed; None on a plain re-check."""
    old, new = ready_of(before), ready_of(after)
    if new is None or old == new or after.ready is None:
        return None
    kind = "Normal" if new[0] == "True" else "Warning"
    reason = "PermissionsSufficient" if new[0] == "True" and old is not None else new[1]
    return kind, reason, after.ready.message
