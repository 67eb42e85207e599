"""Access-key hygiene (pure): the facts IAM gives about the keys' user's access keys, judged.

Findings (informational: none changes Ready):
- OldKey: the key in the Secret is older than the maximum age (default 90 days, as CIS AWS Foundations 1.14 asks
  keys to be rotated every 90 days or less).
- UnusedKey: no Cluster uses the credential, the key is older than the unused period and AWS has not seen it used
  within it. AWS reports only a key's latest use (iam:GetAccessKeyLastUsed, IAM User Guide "Managing access keys"),
  and credcheck's own checks use the keys (sts, iam): a latest use by sts or iam is counted as credcheck's own, so
  any other use is older or absent.
- OtherKeyInUse: the user's other Active key was used after this Secret switched to its key (the switch is the
  later of the key's creation and when credcheck first saw the key in the Secret).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from credcheck.engine.keyfacts import READ, AccessKeyFact, KeyFacts, LastUse

OLD = "OldKey"
UNUSED = "UnusedKey"
OTHER_IN_USE = "OtherKeyInUse"
KINDS = (OLD, UNUSED, OTHER_IN_USE)
CREDCHECK_SERVICES = frozenset({"sts", "iam"})  # what credcheck itself calls with the keys


@dataclass(frozen=True)
class KeyPolicy:
    max_age: timedelta = timedelta(days=90)
    unused_after: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class KeyFinding:
    kind: str  # one of KINDS
    message: str


def _day(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d") if when else "never"


def _use(use: LastUse | None) -> str:
    if use is None:
        return "not read"
    if use.date is None:
        return "never used"
    where = ", ".join(x for x in (use.service, use.region) if x)
    return f"last used {_day(use.date)}" + (f" ({where})" if where else "")


def switched_at(current: AccessKeyFact, seen_since: datetime | None) -> datetime:
    """When the Secret switched to its key: not before the key existed, nor (as far as credcheck knows) before
    credcheck first saw it there."""
    return max(current.created, seen_since) if seen_since is not None else current.created


def findings(facts: KeyFacts, *, now: datetime, policy: KeyPolicy, used_by_clusters: bool,
             seen_since: datetime | None = None) -> tuple[KeyFinding, ...]:
    current = facts.current
    if facts.state != READ or current is None:
        return ()
    out: list[KeyFinding] = []
    age = now - current.created
    if age > policy.max_age:
        out.append(KeyFinding(OLD, f"access key {current.key_id} is {age.days} days old (created "
                                   f"{_day(current.created)}; the maximum is {policy.max_age.days} days): create a new "
                                   "key for the user, put it in this Secret, then deactivate the old one"))
    use = current.last_use
    if not used_by_clusters and age > policy.unused_after and use is not None:
        own = use.service in CREDCHECK_SERVICES
        unused = use.date is None or own or now - use.date > policy.unused_after
        if unused:
            seen = ("AWS never saw it used" if use.date is None else
                    f"AWS last saw it used {_day(use.date)} by {use.service} (credcheck's own checks call sts and "
                    "iam; any other use is older)" if own else f"AWS last saw it used {_day(use.date)}")
            advice = ("delete it and the key when nothing needs them" if not own else
                      "credcheck cannot tell its own sts/iam calls from KKP's (the cloud-controller-manager's "
                      "sts:AssumeRole, Clusters created from a Preset with these keys): confirm in CloudTrail that "
                      "nothing else uses the key before deleting it")
            out.append(KeyFinding(UNUSED, f"access key {current.key_id} is held by KKP but no Cluster uses it and "
                                          f"{seen}: the Secret may be left over from a deleted Cluster; {advice}"))
    since = switched_at(current, seen_since)
    for other in facts.others:
        last = other.last_use.date if other.last_use else None
        if other.status == "Active" and last is not None and last > since:
            out.append(KeyFinding(OTHER_IN_USE, f"the user's other access key {other.key_id} (Active) was "
                                                f"{_use(other.last_use)}, after this Secret switched to "
                                                f"{current.key_id} ({_day(since)}): something — a KKP copy of the old "
                                                "Secret or a tool outside KKP — still runs on it; find it before "
                                                "deactivating that key"))
    return tuple(out)


def _key_entry(key: AccessKeyFact, now: datetime) -> dict[str, Any]:
    use = key.last_use
    entry: dict[str, Any] = {"accessKeyId": key.key_id, "status": key.status,
                             "created": key.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "ageDays": (now - key.created).days}
    if use is not None:
        entry["lastUsed"] = use.date.strftime("%Y-%m-%dT%H:%M:%SZ") if use.date else None
        entry["neverUsed"] = True if use.date is None else None  # AWS has no LastUsedDate for it
        entry["lastUsedService"] = use.service
        entry["lastUsedRegion"] = use.region
    return {k: v for k, v in entry.items() if v is not None}


def status_of(facts: KeyFacts, found: tuple[KeyFinding, ...], *, now: datetime,
              seen_since: datetime | None) -> dict[str, Any]:
    """status.keys: facts (never the secret; key ids masked), the findings and, when unread, why."""
    out: dict[str, Any] = {"state": facts.state}
    if facts.message:
        out["message"] = facts.message
    if facts.user:
        out["user"] = facts.user
    if facts.read_by:
        out["readBy"] = facts.read_by
    if facts.missing_permissions:
        out["missingPermissions"] = list(facts.missing_permissions)
    current = facts.current
    if current is not None:
        out["current"] = {**_key_entry(current, now),
                          **({"inSecretSince": seen_since.strftime("%Y-%m-%dT%H:%M:%SZ")} if seen_since else {})}
    if facts.others:
        out["others"] = [_key_entry(k, now) for k in facts.others]
    out["findings"] = [{"type": f.kind, "message": f.message} for f in found]
    return out
