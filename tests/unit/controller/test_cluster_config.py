"""Cluster settings KKP's components reject, from plain values."""

from typing import Any

from credcheck.controller.cluster_config import apply_config_findings, resource_findings, role_arn_findings
from credcheck.engine.target import Target
from credcheck.kube.check_status import CheckStatus

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
    stored = {"principal": {"arn": "x", "account": ACCOUNT},
              "clusters": [{"name": "a"}, {"name": "b", "configFindings": ["x"]}]}
    status = apply_config_findings(CheckStatus.from_dict(stored), [
        Target(cluster="a", control_plane_role="bare", disable_iam_reconciling=True),
        Target(cluster="b", control_plane_role=f"arn:aws:iam::{ACCOUNT}:role/cp")]).to_dict()
    assert "not an ARN" in status["clusters"][0]["configFindings"][0]
    assert "configFindings" not in status["clusters"][1]


def findings(**kw: Any) -> list[str]:
    base: dict[str, Any] = {"security_group_id": None, "vpc_id": None, "instance_profile": None,
                               "disable_iam_reconciling": False, "security_group_found": None,
                               "security_group_vpc": None, "instance_profile_found": None, "region": "eu-central-1"}
    base.update(kw)
    return resource_findings(**base)


def test_a_security_group_that_does_not_exist_names_machine_controller() -> None:
    (found,) = findings(security_group_id="sg-1", vpc_id="vpc-a", security_group_found=False)
    assert "sg-1 does not exist in eu-central-1" in found and "machine-controller" in found
    assert "InvalidGroup.NotFound" in found


def test_a_security_group_in_another_vpc_is_named_and_one_in_the_clusters_vpc_is_fine() -> None:
    (found,) = findings(security_group_id="sg-1", vpc_id="vpc-a", security_group_found=True, security_group_vpc="vpc-b")
    assert "is in vpc-b, the Cluster's vpcID is vpc-a" in found
    assert findings(security_group_id="sg-1", vpc_id="vpc-a", security_group_found=True,
                    security_group_vpc="vpc-a") == []
    assert findings(security_group_id="sg-1", security_group_found=True, security_group_vpc="vpc-b") == [], \
        "no vpcID on the Cluster: nothing to compare"


def test_a_missing_instance_profile_matters_only_where_kkp_will_not_create_it() -> None:
    (found,) = findings(instance_profile="ip", instance_profile_found=False, disable_iam_reconciling=True)
    assert "instanceProfileName ip does not exist" in found and "disableIAMReconciling" in found
    assert findings(instance_profile="ip", instance_profile_found=False, disable_iam_reconciling=False) == []
    assert findings(instance_profile="ip", instance_profile_found=None, disable_iam_reconciling=True) == []
