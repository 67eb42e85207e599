"""Key facts and excess access as the check's status (pure): status.keys, status.excessPermissions,
status.leastPrivilegePolicy, and their findings added to status.findings. Informational: conditions untouched.

When the Secret switched to its key is remembered in the status (`keys.current.inSecretSince`: when credcheck first
saw that key there), so a later use of the user's other key is told apart from its use before the switch.
"""

import json
from dataclasses import replace
from datetime import datetime

from credcheck.engine.keys import KeyPolicy, findings, status_of
from credcheck.engine.model import Verdict
from credcheck.kube.check_status import CheckStatus, ExcessPermission, Keys, parse
from credcheck.kube.contract import parse_timestamp
from credcheck.kube.status import TRANSIENT


def _seen_since(previous: CheckStatus, key_id: str, now: datetime) -> datetime:
    before = previous.keys.current if previous.keys is not None else None
    if before is not None and before.access_key_id == key_id and before.in_secret_since:
        try:
            return parse_timestamp(before.in_secret_since)
        except ValueError:
            return now
    return now


def with_hygiene(status: CheckStatus, verdict: Verdict, previous: CheckStatus, *, now: datetime,
                 policy: KeyPolicy, used_by_clusters: bool) -> CheckStatus:
    """The status with the verdict's key facts and excess permissions (a status kept from before, on a transient
    failure, is returned as it is)."""
    if verdict.reason in TRANSIENT and previous.conditions:
        return status  # build_status kept the previous status (a transient failure): so are its keys
    facts = verdict.key_facts
    keys, findings_now = None, status.findings
    if facts is not None:
        current = facts.current
        since = _seen_since(previous, current.key_id, now) if current is not None else None
        found = findings(facts, now=now, policy=policy, used_by_clusters=used_by_clusters, seen_since=since)
        keys = parse(Keys, status_of(facts, found, now=now, seen_since=since))
        findings_now = findings_now + tuple(f.message for f in found)
    excess = verdict.excess
    return replace(
        status, keys=keys, findings=findings_now,
        excess_permissions=None if excess is None else tuple(
            ExcessPermission(e.action, e.resource, tuple(e.allowed_by)) for e in excess.found),
        least_privilege_policy=(json.dumps(excess.replacement, indent=2)
                                if excess is not None and excess.replacement else None))
