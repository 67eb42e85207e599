"""Which KKP Clusters a status says the credential breaks (kube.impact): the answer both the per-Cluster metric and
the Cluster Events read. Statuses written by hand, as kube.status writes them."""

from collections.abc import Mapping
from typing import Any

from credcheck.kube.check_status import CheckStatus
from credcheck.kube.impact import INSUFFICIENT, INVALID, ClusterImpact
from credcheck.kube.impact import broken_clusters as broken_in


def broken_clusters(stored: Mapping[str, Any]) -> tuple[ClusterImpact, ...]:
    """The answer for a status as stored (read back as every reader reads it)."""
    return broken_in(CheckStatus.from_dict(stored))


def conditions(valid: str, sufficient: str, reason: str) -> list[dict[str, str]]:
    ready = "True" if valid == sufficient == "True" else "False"
    return [{"type": "CredentialsValid", "status": valid, "reason": "Valid" if valid == "True" else reason},
            {"type": "PermissionsSufficient", "status": sufficient, "reason": reason},
            {"type": "Ready", "status": ready, "reason": reason}]


def test_an_invalid_credential_breaks_every_cluster_of_the_check() -> None:
    status = {"conditions": conditions("False", "Unknown", "InvalidClientTokenId"),
              "clusters": [{"name": "abc123"}, {"name": "def456"}]}
    assert broken_clusters(status) == (ClusterImpact("abc123", INVALID, "InvalidClientTokenId"),
                                       ClusterImpact("def456", INVALID, "InvalidClientTokenId"))


def test_missing_permissions_name_only_the_clusters_whose_own_verdict_is_not_ready_with_their_features() -> None:
    status: dict[str, Any] = {
        "conditions": conditions("True", "False", "MissingPermissions"),
        "brokenFeatures": [{"feature": "machines", "missing": ["ec2:RunInstances"]},
                           {"feature": "load-balancers", "missing": ["ec2:AuthorizeSecurityGroupIngress"]}],
        "clusters": [{"name": "ok1", "ready": "True"},
                     {"name": "bad2", "ready": "False", "missing": ["ec2:RunInstances"]},
                     {"name": "unknown3", "ready": "Unknown"}]}
    assert broken_clusters(status) == (
        ClusterImpact("bad2", INSUFFICIENT, "MissingPermissions", ("machines",), ("ec2:RunInstances",)),)


def test_ready_unknown_and_clusterless_checks_name_no_cluster() -> None:
    assert broken_clusters({"conditions": conditions("True", "True", "AllRequiredAllowed"),
                            "clusters": [{"name": "a", "ready": "True"}]}) == ()
    unknown = [{"type": "CredentialsValid", "status": "Unknown", "reason": "SimulationNotPermitted"},
               {"type": "PermissionsSufficient", "status": "Unknown", "reason": "SimulationNotPermitted"},
               {"type": "Ready", "status": "Unknown", "reason": "SimulationNotPermitted"}]
    assert broken_clusters({"conditions": unknown, "clusters": [{"name": "a"}]}) == ()
    assert broken_clusters({"conditions": conditions("True", "False", "MissingPermissions"), "clusters": [
        {"name": "(no Cluster)", "ready": "False"}]}) == ()
    assert broken_clusters({}) == ()
