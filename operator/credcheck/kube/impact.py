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

from dataclasses import dataclass

from credcheck.kube.check_status import CheckStatus, ClusterStatus

INVALID = "CredentialsValid"
INSUFFICIENT = "PermissionsSufficient"


@dataclass(frozen=True, slots=True)
class ClusterImpact:
    cluster: str  # the KKP Cluster's name (its ID)
    condition: str  # INVALID or INSUFFICIENT: which of the check's conditions says so
    reason: str  # that condition's reason
    features: tuple[str, ...] = ()  # KKP features the missing actions break for this Cluster
    actions: tuple[str, ...] = ()  # required actions AWS denies for this Cluster


def _entries(status: CheckStatus) -> list[ClusterStatus]:
    return [c for c in status.clusters if c.name and c.name != "(no Cluster)"]


def broken_clusters(status: CheckStatus) -> tuple[ClusterImpact, ...]:
    """The Clusters this status says the credential breaks, in the order of `status.clusters`."""
    invalid = status.condition(INVALID)
    if invalid is not None and invalid.status == "False":
        return tuple(ClusterImpact(c.name, INVALID, invalid.reason) for c in _entries(status))
    insufficient = status.condition(INSUFFICIENT)
    if insufficient is None or insufficient.status != "False":
        return ()
    features = [(f.feature, set(f.missing)) for f in status.broken_features if f.feature]
    out = []
    for entry in _entries(status):
        if (entry.ready or "False") != "False":
            continue
        actions = entry.missing
        hit = tuple(name for name, missing in features if missing & set(actions)) if actions else ()
        out.append(ClusterImpact(entry.name, INSUFFICIENT, insufficient.reason, hit, actions))
    return tuple(out)
