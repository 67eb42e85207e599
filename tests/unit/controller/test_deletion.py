"""Deletion readiness per Cluster and the DELETE warning, from plain values."""

from dataclasses import dataclass

from credcheck.controller.deletion import (
    DeleteTarget,
    delete_target,
    delete_warning,
    deletion_actions,
    deletion_readiness,
    warning_from_check,
)
from credcheck.kube.check_status import ClusterStatus, parse


def stored(entry: dict[str, object]) -> ClusterStatus:
    """A status.clusters entry as stored, read back as the readers read it."""
    return parse(ClusterStatus, {"name": "c", **entry})


DELETE = frozenset({"ec2:DeleteSecurityGroup", "iam:DeleteRole"})


@dataclass(frozen=True)
class Stmt:
    feature: str
    actions: tuple[str, ...]


def test_deletion_actions_are_those_of_the_deletion_features_only() -> None:
    got = deletion_actions([Stmt("cluster-deletion", ("ec2:DeleteSecurityGroup",)),
                            Stmt("cluster-deletion-owned", ("iam:DeleteRole",)), Stmt("machines", ("ec2:RunInstances",))])
    assert got == DELETE


def test_a_denied_deletion_call_is_false_and_named() -> None:
    r = deletion_readiness(stored({"ready": "False", "missing": ["iam:DeleteRole", "ec2:RunInstances"]}), DELETE)
    assert (r.status, r.missing) == ("False", ("iam:DeleteRole",))
    assert "will hang" in r.message and "iam:DeleteRole" in r.message and "RunInstances" not in r.message


def test_other_missing_calls_leave_deletion_ready() -> None:
    assert deletion_readiness(stored({"ready": "False", "missing": ["ec2:RunInstances"]}), DELETE).status == "True"
    assert deletion_readiness(stored({"ready": "True"}), DELETE).status == "True"


def test_unverified_or_undecided_is_unknown() -> None:
    assert deletion_readiness(stored({"name": "c"}), DELETE).status == "Unknown"
    assert deletion_readiness(stored({"ready": "Unknown"}), DELETE).status == "Unknown"
    assert deletion_readiness(stored({"ready": "Unknown", "undecided": ["iam:DeleteRole"]}), DELETE).status == "Unknown"
    assert deletion_readiness(stored({"ready": "True"}), frozenset()).status == "Unknown"


def test_the_delete_warning_only_when_deletion_is_not_ready() -> None:
    entry = stored({"deletionReady": "False", "deletionMessage": "deleting this Cluster will hang: iam:DeleteRole"})
    warning = delete_warning("c1", entry, "kubermatic/credential-aws-a")
    assert warning is not None and "c1" in warning and "iam:DeleteRole" in warning and "allowed" in warning
    assert delete_warning("c1", stored({"deletionReady": "True"}), "x") is None
    assert delete_warning("c1", None, "x") is None


def kkp_cluster(name: str, secret: str | None = "credential-aws-a", aws: bool = True) -> dict[str, object]:
    cloud: dict[str, object] = {"dc": "x"}
    if aws:
        cloud["aws"] = {"credentialsReference": {"name": secret, "namespace": "kubermatic"}} if secret else {}
    return {"metadata": {"name": name}, "spec": {"cloud": cloud}}


def test_a_delete_of_an_aws_cluster_is_looked_up_in_its_secrets_check_and_others_are_not() -> None:
    target = delete_target("DELETE", kkp_cluster("c1"))
    assert target == DeleteTarget("c1", "kubermatic", "credential-aws-a")
    assert delete_target("UPDATE", kkp_cluster("c1")) is None
    assert delete_target("DELETE", kkp_cluster("c1", aws=False)) is None
    assert delete_target("DELETE", kkp_cluster("c1", secret=None)) is None


def test_the_warning_comes_from_the_clusters_own_entry() -> None:
    target = DeleteTarget("c1", "kubermatic", "credential-aws-a")
    check = {"status": {"clusters": [{"name": "c0", "deletionReady": "False", "deletionMessage": "other"},
                                     {"name": "c1", "deletionReady": "False", "deletionMessage": "will hang: X"}]}}
    warning = warning_from_check(target, "credential-aws-a", check)
    assert warning is not None and "will hang: X" in warning and "kubermatic/credential-aws-a" in warning
    assert warning_from_check(DeleteTarget("c2", "kubermatic", "credential-aws-a"), "credential-aws-a", check) is None
    assert warning_from_check(target, "credential-aws-a", None) is None


def test_a_skipped_deletion_feature_is_unknown_never_allowed_its_calls_were_not_asked() -> None:
    entry = stored({"name": "c", "ready": "True", "missing": [], "undecided": []})
    actions = frozenset({"ec2:DeleteSecurityGroup", "iam:DeleteRole"})
    assert deletion_readiness(entry, actions).status == "True"
    skipped = deletion_readiness(entry, actions, ("cluster-deletion-owned",))
    assert skipped.status == "Unknown" and "cluster-deletion-owned" in skipped.message
