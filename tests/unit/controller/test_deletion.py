"""Deletion readiness per Cluster and the DELETE warning, from plain values."""

from dataclasses import dataclass

from credcheck.controller.deletion import delete_warning, deletion_actions, deletion_readiness

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
    r = deletion_readiness({"ready": "False", "missing": ["iam:DeleteRole", "ec2:RunInstances"]}, DELETE)
    assert (r.status, r.missing) == ("False", ("iam:DeleteRole",))
    assert "will hang" in r.message and "iam:DeleteRole" in r.message and "RunInstances" not in r.message


def test_other_missing_calls_leave_deletion_ready() -> None:
    assert deletion_readiness({"ready": "False", "missing": ["ec2:RunInstances"]}, DELETE).status == "True"
    assert deletion_readiness({"ready": "True"}, DELETE).status == "True"


def test_unverified_or_undecided_is_unknown() -> None:
    assert deletion_readiness({"name": "c"}, DELETE).status == "Unknown"
    assert deletion_readiness({"ready": "Unknown"}, DELETE).status == "Unknown"
    assert deletion_readiness({"ready": "Unknown", "undecided": ["iam:DeleteRole"]}, DELETE).status == "Unknown"
    assert deletion_readiness({"ready": "True"}, frozenset()).status == "Unknown"


def test_the_delete_warning_only_when_deletion_is_not_ready() -> None:
    entry = {"deletionReady": "False", "deletionMessage": "deleting this Cluster will hang: iam:DeleteRole"}
    warning = delete_warning("c1", entry, "kubermatic/credential-aws-a")
    assert warning is not None and "c1" in warning and "iam:DeleteRole" in warning and "allowed" in warning
    assert delete_warning("c1", {"deletionReady": "True"}, "x") is None
    assert delete_warning("c1", None, "x") is None
