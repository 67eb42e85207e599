"""Key facts and excess access as the check's status (pure): status.keys, status.excessPermissions,
status.leastPrivilegePolicy, and their findings added to status.findings. Informational: conditions untouched.

When the Secret switched to its key is remembered in the status (`keys.current.inSecretSince`: when credcheck first
saw that key there), so a later use of the user's other key is told apart from its use before the switch.
"""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credcheck.engine.keys import KeyPolicy, findings, status_of
from credcheck.engine.model import Verdict
from credcheck.kube.contract import parse_timestamp
from credcheck.kube.status import TRANSIENT


def _seen_since(previous: Mapping[str, Any], key_id: str, now: datetime) -> datetime:
    before = ((previous.get("keys") or {}).get("current") or {})
    if before.get("accessKeyId") == key_id and before.get("inSecretSince"):
        try:
            return parse_timestamp(str(before["inSecretSince"]))
        except ValueError:
            return now
    return now


def with_hygiene(status: dict[str, Any], verdict: Verdict, previous: Mapping[str, Any], *, now: datetime,
                 policy: KeyPolicy, used_by_clusters: bool) -> dict[str, Any]:
    """The status with the verdict's key facts and excess permissions (a status kept from before, on a transient
    failure, is returned as it is)."""
    if verdict.reason in TRANSIENT and previous.get("conditions"):
        return status  # build_status kept the previous status (a transient failure): so are its keys
    out = dict(status)
    facts = verdict.key_facts
    if facts is None:
        out["keys"] = None
    else:
        current = facts.current
        since = _seen_since(previous, current.key_id, now) if current is not None else None
        found = findings(facts, now=now, policy=policy, used_by_clusters=used_by_clusters, seen_since=since)
        out["keys"] = status_of(facts, found, now=now, seen_since=since)
        out["findings"] = list(out.get("findings") or []) + [f.message for f in found]
    excess = verdict.excess
    out["excessPermissions"] = None if excess is None else [
        {"action": e.action, "resource": e.resource, **({"allowedBy": list(e.allowed_by)} if e.allowed_by else {})}
        for e in excess.found]
    out["leastPrivilegePolicy"] = (json.dumps(excess.replacement, indent=2)
                                   if excess is not None and excess.replacement else None)
    return out
