"""Cluster settings KKP's components reject, from plain values."""

from credcheck.controller.cluster_config import apply_config_findings, role_arn_findings

ACCOUNT = "123456789012"


def test_a_bare_role_name_is_named_with_the_ccm_crash_loop() -> None:
    found = role_arn_findings("kkp-control-plane", True, ACCOUNT)
    assert len(found) == 1
    assert "'kkp-control-plane' is not an ARN" in found[0] and "#13144" in found[0]
    assert "arn:aws:iam::<account>:role/<name>" in found[0]
    assert "rewrites it" in role_arn_findings("kkp-control-plane", False, ACCOUNT)[0]


def test_an_arn_in_the_credentials_account_is_fine_and_one_elsewhere_is_named() -> None:
    assert role_arn_findings(f"arn:aws:iam::{ACCOUNT}:role/cp", True, ACCOUNT) == []
    assert role_arn_findings("arn:aws-cn:iam::123456789012:role/cp", True, ACCOUNT) == []
    other = role_arn_findings("arn:aws:iam::999999999999:role/cp", True, ACCOUNT)
    assert len(other) == 1 and "account 999999999999" in other[0]
    assert role_arn_findings("arn:aws:iam::999999999999:role/cp", True, None) == [], "unknown account: not judged"
    assert role_arn_findings("", True, ACCOUNT) == [] and role_arn_findings(None, True, ACCOUNT) == []


def test_findings_land_in_the_clusters_own_status_entry() -> None:
    status = {"principal": {"account": ACCOUNT}, "clusters": [{"name": "a"}, {"name": "b", "configFindings": ["x"]}]}
    apply_config_findings(status, [{"name": "a", "roleARN": "bare", "disableIAMReconciling": True},
                                   {"name": "b", "roleARN": f"arn:aws:iam::{ACCOUNT}:role/cp"}])
    assert "not an ARN" in status["clusters"][0]["configFindings"][0]
    assert "configFindings" not in status["clusters"][1]
