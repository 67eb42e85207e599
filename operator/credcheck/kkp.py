"""Reading KKP's objects (plain dicts): which Secret a Cluster uses, its assume-role and IAM settings."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SECRET_PREFIX = "credential-aws-"
COPY_NAME = "cloud-credentials"  # KKP's per-cluster copy in cluster-<id>, never checked again
CLUSTER_GROUP, CLUSTER_VERSION = "kubermatic.k8c.io", "v1"


@dataclass(frozen=True)
class ClusterUse:
    """One KKP Cluster that uses an AWS credential Secret."""

    cluster: str
    secret_namespace: str
    secret_name: str
    assume_role_arn: str | None
    external_id: str | None
    disable_iam_reconciling: bool


def cluster_use(cluster: Mapping[str, Any]) -> ClusterUse | None:
    """The AWS credential use of a Cluster object, or None for a non-AWS cluster or one without a reference."""
    aws = ((cluster.get("spec") or {}).get("cloud") or {}).get("aws")
    if not isinstance(aws, Mapping):
        return None
    ref = aws.get("credentialsReference") or {}
    name, namespace = ref.get("name"), ref.get("namespace")
    if not name or not namespace:
        return None
    return ClusterUse(
        cluster=str((cluster.get("metadata") or {}).get("name", "")),
        secret_namespace=str(namespace), secret_name=str(name),
        assume_role_arn=aws.get("assumeRoleARN") or None,
        external_id=aws.get("assumeRoleExternalID") or None,
        disable_iam_reconciling=bool(aws.get("disableIAMReconciling", False)),
    )


def is_kkp_copy(namespace: str, name: str) -> bool:
    return namespace.startswith("cluster-") and name == COPY_NAME


def is_credential_secret(namespace: str, name: str, referenced: bool) -> bool:
    """A KKP AWS credential Secret: named credential-aws-*, or referenced by a Cluster (never KKP's copies)."""
    if is_kkp_copy(namespace, name):
        return False
    return name.startswith(SECRET_PREFIX) or referenced


@dataclass(frozen=True)
class CheckSettings:
    """What the referencing Clusters ask of a discovered check."""

    assume_role_arn: str | None
    external_id: str | None
    skip_features: tuple[str, ...]
    clusters: tuple[str, ...]
    note: str | None = None


def merge_uses(uses: Iterable[ClusterUse]) -> CheckSettings:
    """Assume-role from the Clusters (the first by name if they disagree, noted); iam-reconciling is skipped
    only when every Cluster disables it."""
    ordered = sorted(uses, key=lambda u: u.cluster)
    if not ordered:
        return CheckSettings(None, None, (), ())
    first = ordered[0]
    roles = {(u.assume_role_arn, u.external_id) for u in ordered}
    note = None
    if len(roles) > 1:
        note = (f"Clusters {', '.join(u.cluster for u in ordered)} use different assume-role settings; "
                f"checked with those of {first.cluster}")
    skip = ("iam-reconciling",) if all(u.disable_iam_reconciling for u in ordered) else ()
    return CheckSettings(first.assume_role_arn, first.external_id, skip, tuple(u.cluster for u in ordered), note)

