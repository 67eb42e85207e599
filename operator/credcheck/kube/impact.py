"""Which KKP Clusters a check's verdict breaks, and why: read from the check's status (pure).

Both the per-Cluster metric series (`credcheck_cluster_not_ready`, what the alerts' `cluster` label comes from) and
the Warning Events on KKP Cluster objects read this one answer, so an alert and a Cluster's Event never disagree.

- The credential is invalid (`CredentialsValid` False): every Cluster of the check is broken, cause
  `CredentialsValid` with that condition's reason.
- Otherwise permissions are insufficient (`PermissionsSufficient` False): the Clusters whose own entry in
  `status.clusters` is not ready (an entry without a per-Cluster verdict counts as broken), cause
  `PermissionsSufficient` with that condition's reason; each with the actions its entry lacks and the KKP features
  those actions break (from `status.brokenFeatures`).
- Anything else (Ready, Unknown, or a check without Clusters): no Cluster is named. Unknown is not "broken": nothing
  is said about a Cluster that was not verified.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INVALID = "CredentialsValid"
INSUFFICIENT = "PermissionsSufficient"


@dataclass(frozen=True, slots=True)
class ClusterImpact:
    cluster: str  # the KKP Cluster's name (its ID)
    condition: str  # INVALID or INSUFFICIENT: which of the check's conditions says so
    reason: str  # that condition's reason
    features: tuple[str, ...] = ()  # KKP features the missing actions break for this Cluster
    actions: tuple[str, ...] = ()  # required actions AWS denies for this Cluster


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for c in status.get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == kind:
            return c
    return {}


def _entries(status: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c for c in status.get("clusters") or [] if isinstance(c, Mapping) and c.get("name")
            and c.get("name") != "(no Cluster)"]


def broken_clusters(status: Mapping[str, Any]) -> tuple[ClusterImpact, ...]:
    """The Clusters this status says the credential breaks, in the order of `status.clusters`."""
    invalid = _condition(status, INVALID)
    if invalid.get("status") == "False":
        reason = str(invalid.get("reason") or "")
        return tuple(ClusterImpact(str(c["name"]), INVALID, reason) for c in _entries(status))
    insufficient = _condition(status, INSUFFICIENT)
    if insufficient.get("status") != "False":
        return ()
    reason = str(insufficient.get("reason") or "")
    features = [(str(f.get("feature")), {str(a) for a in f.get("missing") or []})
                for f in status.get("brokenFeatures") or [] if isinstance(f, Mapping) and f.get("feature")]
    out = []
    for entry in _entries(status):
        if entry.get("ready", "False") != "False":
            continue
        actions = tuple(str(a) for a in entry.get("missing") or [])
        hit = tuple(name for name, missing in features if missing & set(actions)) if actions else ()
        out.append(ClusterImpact(str(entry["name"]), INSUFFICIENT, reason, hit, actions))
    return tuple(out)
