"""`credcheck explain`: a stored check's status, for a person (plain values in, text and JSON out)."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from credcheck.cli.explain import explanation, to_text, verdict_of
from credcheck.engine.model import ActionResult, Outcome, Requirement, Severity, Status, Verdict
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.status import build_status, consecutive_failures

CHECK = {
    "metadata": {"namespace": "kubermatic", "name": "credential-aws-abc"},
    "status": {
        "conditions": [{"type": "Ready", "status": "False", "reason": "MissingPermissions",
                        "message": "1 required action(s) denied (Cluster(s) abc) — cloud-controller: missing "
                                   "sts:AssumeRole"}],
        "principal": {"arn": "arn:aws:iam::111122223333:user/kkp"}, "kkpVersion": "2.31",
        "clusters": [{"name": "abc", "ready": "False", "region": "eu-central-1", "kubernetes": "1.34",
                      "cloudController": "assume-role (CCM v1.34.0)", "missing": ["sts:AssumeRole"]}],
        "missing": [{"action": "sts:AssumeRole", "resource": "arn:aws:iam::111122223333:role/kubernetes-abc-control-plane",
                     "reason": "implicitDeny", "severity": "required", "features": ["cloud-controller"],
                     "cluster": "abc", "identity": "keys", "why": "the cloud-controller-manager of cluster abc assumes it"}],
        "remediationPolicy": json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "CredcheckGrant1", "Effect": "Allow", "Action": "sts:AssumeRole",
             "Resource": "arn:aws:iam::111122223333:role/kubernetes-abc-control-plane"}]}),
        "upgrade": {"profile": "kkp-2.32", "kkpVersion": "2.32", "missingRequired": 0, "missing": []},
    },
}


def test_text_groups_by_feature_and_cluster_with_the_policy_to_add() -> None:
    text = to_text(CHECK)
    assert text.startswith("kubermatic/credential-aws-abc: NOT READY (MissingPermissions)")
    assert "Cluster abc: NOT READY — eu-central-1, Kubernetes 1.34, cloud-controller assume-role (CCM v1.34.0)" in text
    assert "  cloud-controller:\n    - sts:AssumeRole on arn:aws:iam::111122223333:role/kubernetes-abc-control-plane" in text
    assert "why: the cloud-controller-manager of cluster abc assumes it" in text
    assert '"Action": "sts:AssumeRole"' in text and "To fix it, add to the credential's policy:" in text
    assert "Upgrade to KKP 2.32 (kkp-2.32): ready" in text


def test_json_keeps_the_same_words() -> None:
    out = explanation(CHECK)
    assert out["ready"]["reason"] == "MissingPermissions"
    assert out["missingByFeature"]["cloud-controller"][0]["why"].startswith("the cloud-controller-manager")
    assert out["remediationPolicy"]["Statement"][0]["Action"] == "sts:AssumeRole"


def test_a_check_not_yet_checked() -> None:
    assert to_text({"metadata": {"namespace": "n", "name": "x"}}) == "n/x: PENDING (not checked yet)"


def stored(verdict: Verdict) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    status = build_status(verdict, CheckStatus(), now=now, next_check=now, generation=1, masked_key_id=None,
                          clusters=[], profile="kkp", failures=consecutive_failures(CheckStatus(), verdict))
    return {"metadata": {"namespace": "kubermatic", "name": "credential-aws-abc"}, "status": status.to_dict()}


@pytest.mark.parametrize("status", list(Status))
def test_the_verdict_is_read_back_from_the_status(status: Status) -> None:
    """`explain` exits as `check` would: status.verdict records the verdict build_status was given."""
    assert verdict_of(stored(Verdict(status, "Because", "said so"))) is status


def test_a_check_never_checked_or_checked_before_status_verdict_existed_is_unknown() -> None:
    assert verdict_of({"metadata": {"name": "x"}}) is Status.UNKNOWN
    assert verdict_of(CHECK) is Status.UNKNOWN, "a status of an older version: Unknown until its next check"
    assert verdict_of({"status": {"verdict": "NoSuchVerdict"}}) is Status.UNKNOWN


def test_what_a_control_plane_role_lacks_is_named_with_the_role_and_a_policy_for_it() -> None:
    role = "arn:aws:iam::111122223333:role/team-cp"
    lb = "arn:aws:elasticloadbalancing:eu-central-1:111122223333:loadbalancer/*"
    denied = ActionResult(Requirement("elasticloadbalancing:CreateLoadBalancer", lb, Severity.REQUIRED,
                                      ("control-plane-role",), "elasticloadbalancing:CreateLoadBalancer",
                                      principal=f"controlPlaneRole:{role}", cluster="abc"), Outcome.IMPLICIT_DENY)
    check = stored(Verdict(Status.INSUFFICIENT, "MissingPermissions", "control-plane-role: missing "
                           "elasticloadbalancing:CreateLoadBalancer", results=(denied,)))
    assert json.loads(check["status"]["roleRemediation"][0]["policy"]) == {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["elasticloadbalancing:CreateLoadBalancer"],
                                                "Resource": lb}]}, "the verdict side computes the role's grant"
    text = to_text(check)
    assert f"elasticloadbalancing:CreateLoadBalancer on arn:aws:elasticloadbalancing:eu-central-1:111122223333:" \
           f"loadbalancer/* [required, implicitDeny] (Cluster abc) as {role}" in text
    assert f"To fix it, add to the policy of the control-plane role {role}:" in text
    assert "To fix it, add to the credential's policy" not in text


def test_a_long_recommended_list_is_a_count_unless_asked_for() -> None:
    rows = [{"action": f"ec2:Describe{n}", "resource": "*", "reason": "implicitDeny", "severity": "recommended",
             "features": ["dashboard"]} for n in ("A", "B", "C", "D", "E", "F", "G")]
    few = [{"action": "ec2:DescribeZ", "resource": "*", "reason": "implicitDeny", "severity": "recommended",
            "features": ["other"]}]
    check = {"metadata": {"namespace": "kubermatic", "name": "x"},
             "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "AllRequiredAllowed"}],
                        "missing": rows + few}}
    short = to_text(check)
    assert "dashboard (recommended, never failing): 7 actions (--recommended lists them)" in short
    assert "ec2:DescribeA" not in short
    assert "other (recommended, never failing): ec2:DescribeZ" in short  # five or fewer: named
    full = to_text(check, all_recommended=True)
    assert "dashboard (recommended, never failing): ec2:DescribeA, ec2:DescribeB, ec2:DescribeC" in full
def test_text_shows_the_keys_a_cluster_runs_on_its_deletion_and_its_settings() -> None:
    check = json.loads(json.dumps(CHECK))
    check["status"]["clusters"][0].update({
        "credentialInUse": "Stale", "credentialInUseSince": "2026-12-06T06:00:00Z",
        "credentialInUseMessage": "cluster-abc/cloud-credentials does not hold the keys; do not deactivate the old key yet",
        "deletionReady": "False", "deletionMessage": "deleting this Cluster will hang: ec2:DeleteSecurityGroup",
        "configFindings": ["roleARN 'x' is not an ARN"]})
    text = to_text(check)
    assert "keys in use: Stale since 2026-12-06T06:00:00Z — cluster-abc/cloud-credentials" in text
    assert "deletion: deleting this Cluster will hang: ec2:DeleteSecurityGroup" in text
    assert "setting: roleARN 'x' is not an ARN" in text
    assert "keys in use" not in to_text(CHECK), "nothing said when the status has no such fields"
