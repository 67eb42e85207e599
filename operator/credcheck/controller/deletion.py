"""Will deleting a KKP Cluster finish with this credential? (pure)

KKP's cleanup of an AWS Cluster (kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/provider.go:324-350,
CleanUpCloudProvider, and the profile's `cluster-deletion` / `cluster-deletion-owned` features, each action with its
file:line) holds the Cluster's finalizers until every call succeeds: a denied call leaves it in deletion for good
(KKP's own alert KubermaticClusterDeletionTakesTooLong names expired credentials as a common cause:
charts/monitoring/prometheus/rules/src/kubermatic-seed/kubermatic.yaml:32-45 at v2.31.0; kubermatic/kubermatic#286).
The answer comes from the actions the check already simulated for that Cluster; nothing is asked of AWS here.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from credcheck.kube.check_status import CheckStatus, ClusterStatus
from credcheck.kube.kkp import KKPObjectError, read_cluster

DELETION_FEATURES = ("cluster-deletion", "cluster-deletion-owned")


@dataclass(frozen=True)
class DeletionReadiness:
    status: str  # True | False | Unknown
    message: str
    missing: tuple[str, ...] = ()


def deletion_actions(statements: Iterable[Any]) -> frozenset[str]:
    """The actions of a profile's deletion statements (objects with `feature` and `actions`)."""
    return frozenset(a for s in statements if s.feature in DELETION_FEATURES for a in s.actions)


def deletion_readiness(entry: ClusterStatus, actions: frozenset[str],
                       skipped: Iterable[str] = ()) -> DeletionReadiness:
    """From one status.clusters entry (ready, missing, undecided): False names the denied deletion calls; Unknown
    when the check skips a deletion feature (its calls were never asked, so "allowed" would be unverified)."""
    if not actions:
        return DeletionReadiness("Unknown", "the requirement profile lists no deletion calls")
    unasked = sorted(set(skipped) & set(DELETION_FEATURES))
    if unasked:
        return DeletionReadiness("Unknown", f"the check skips {', '.join(unasked)} (spec.requirements.skipFeatures):"
                                 " the calls KKP's cleanup makes were not asked of AWS")
    missing = tuple(sorted(set(entry.missing) & actions))
    if missing:
        return DeletionReadiness(
            "False", f"deleting this Cluster will hang: KKP's cleanup calls {', '.join(missing)}, which the "
            "credential may not make, and keeps the Cluster's finalizers until they succeed; grant them (the "
            "check's remediationPolicy) before deleting it", missing)
    undecided = sorted(set(entry.undecided) & actions)
    if undecided:
        return DeletionReadiness("Unknown", f"AWS could not decide {', '.join(undecided)} for this Cluster")
    if entry.ready in ("True", "False"):
        return DeletionReadiness("True", "every call KKP's cleanup makes for this Cluster is allowed")
    return DeletionReadiness("Unknown", "the credential's permissions for this Cluster were not verified")


def delete_warning(cluster: str, entry: ClusterStatus | None, check: str) -> str | None:
    """The admission warning for a DELETE of `cluster`, from its entry in the covering check's status (None: no
    warning is due)."""
    if entry is None:
        return None
    if entry.deletion_ready == "False":
        return (f"credcheck: Cluster {cluster}: {entry.deletion_message or ''} (AWSCredentialCheck {check}); "
                "the delete is allowed")
    return None


@dataclass(frozen=True)
class DeleteTarget:
    cluster: str
    namespace: str  # the credential Secret's namespace: where its check lives
    secret: str  # the credential Secret (its check's name: discovery.desired.check_name_for_secret)


def delete_target(operation: str, old: Mapping[str, Any]) -> DeleteTarget | None:
    """The check that covers a KKP Cluster being deleted (an AWS Cluster with a credential Secret), or None."""
    if operation != "DELETE":
        return None
    try:
        use = read_cluster(old)
    except KKPObjectError:  # not a Cluster credcheck can read (the apiserver's schema keeps them out): no warning
        return None
    if use is None or use.secret is None or not use.name:
        return None
    return DeleteTarget(use.name, *use.secret)


def warning_from_check(target: DeleteTarget, check_name: str, check: Mapping[str, Any] | None) -> str | None:
    """The warning for the DELETE from the covering check's stored status (None: nothing to warn about)."""
    if check is None:
        return None
    entry = CheckStatus.from_dict(check.get("status")).cluster(target.cluster)
    return delete_warning(target.cluster, entry, f"{target.namespace}/{check_name}")
