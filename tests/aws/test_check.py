"""The check engine against the local AWS endpoint: real HTTP, real signatures, simulated IAM."""

import json
from pathlib import Path
from typing import Any

import pytest

from credcheck.check import Auditor, CheckOptions, run_check
from credcheck.model import AssumeRole, Credential, Outcome, Status
from credcheck.requirements.profiles import load_profile
from credcheck_testground.aws import ACCOUNT, Keys, LocalAWS

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parents[1] / "data"
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}


def policy(name: str, *extra: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads((DATA / name).read_text().replace("YOUR_ACCOUNT_ID", ACCOUNT))
    doc["Statement"] += list(extra)
    return doc


def cred(keys: Keys) -> Credential:
    return Credential(keys.access_key_id, keys.secret_access_key)


@pytest.fixture(autouse=True)
def _endpoint(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def check(keys: Keys, profile: str = "kkp", **kwargs: Any) -> Any:
    return run_check(cred(keys), CheckOptions(load_profile(profile), region="eu-central-1", **kwargs))


def test_documented_policy_is_sufficient_under_kkp_docs(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy.json", SIMULATE)])
    verdict = check(keys, "kkp-docs")
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert len(verdict.results) > 800
    assert verdict.aws_calls == {"sts:GetCallerIdentity": 1, "iam:SimulatePrincipalPolicy": 4}


def test_least_privilege_policy_is_insufficient_under_kkp(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-least-privilege-policy.json", SIMULATE)])
    verdict = check(keys)
    assert verdict.status is Status.INSUFFICIENT
    assert verdict.reason == "MissingPermissions"
    assert "iam:PassRole" in verdict.broken_features["machines"]
    assert "ec2:DescribeVpcAttribute" in verdict.broken_features["machines"]
    lbs = verdict.broken_features["load-balancers"]
    assert "elasticloadbalancing:CreateLoadBalancer" in lbs and "elasticloadbalancing:AddTags" in lbs
    assert "cluster-provisioning" not in verdict.broken_features
    assert "machines: missing" in verdict.message
    recommended = {r.requirement.action for r in verdict.missing_recommended}
    assert "sts:GetFederationToken" in recommended and "ec2:CreateVpc" in recommended
    assert not recommended & {r.requirement.action for r in verdict.missing_required}


def test_missing_passrole_and_tagrole_named_and_remediated_exactly(local_aws: LocalAWS) -> None:
    doc = policy("kkp-documented-policy.json", SIMULATE)
    doc["Statement"][1]["Action"].remove("iam:PassRole")
    doc["Statement"][1]["Action"].remove("iam:TagRole")
    doc["Statement"].append({"Effect": "Allow", "Action": ["elasticloadbalancing:AddTags", "iam:TagInstanceProfile"],
                             "Resource": "*"})
    _, keys = local_aws.create_user(policies=[doc])
    verdict = check(keys)
    assert verdict.status is Status.INSUFFICIENT
    assert {r.requirement.action for r in verdict.missing_required} == {"iam:PassRole", "iam:TagRole"}
    assert verdict.broken_features == {"iam-reconciling": ("iam:TagRole",), "machines": ("iam:PassRole",)}
    assert verdict.remediation == {"Version": "2012-10-17", "Statement": [{
        "Sid": "CredcheckGrant1", "Effect": "Allow", "Action": ["iam:PassRole", "iam:TagRole"],
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*"}]}


def test_explicit_deny_on_kubernetes_roles(local_aws: LocalAWS) -> None:
    deny = {"Sid": "NoK8sRoles", "Effect": "Deny", "Action": "iam:*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*"}
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy.json", SIMULATE, deny)])
    verdict = check(keys, "kkp-docs")
    assert verdict.status is Status.INSUFFICIENT
    denied = {r.requirement.action: r for r in verdict.missing_required}
    assert denied["iam:CreateRole"].outcome is Outcome.EXPLICIT_DENY
    assert denied["iam:PassRole"].outcome is Outcome.EXPLICIT_DENY
    assert verdict.remediation is None, "an Allow cannot lift an explicit deny"
    assert any("explicit Deny" in b and "iam:PassRole" in b for b in verdict.blockers)


def test_permissions_boundary_blocking_elb(local_aws: LocalAWS) -> None:
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "elasticloadbalancing:*",
                                                        "Resource": "*"}]}
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy.json", SIMULATE)], boundary=boundary)
    verdict = check(keys, "kkp-docs")
    outcomes = {r.outcome for r in verdict.missing_required}
    assert outcomes == {Outcome.DENIED_BY_BOUNDARY}
    assert all(r.requirement.action.startswith("elasticloadbalancing:") for r in verdict.missing_required)
    assert any("permissions boundary" in b for b in verdict.blockers)


def test_assumed_role_with_right_wrong_and_missing_external_id(local_aws: LocalAWS) -> None:
    user_arn, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}])
    role_arn = local_aws.create_role("kkp-seed-role", user_arn, external_id="kkp-ext-1", path="/kkp/",
                                     policies=[policy("kkp-documented-policy.json", SIMULATE,
                                                      {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"})])
    good = check(keys, "kkp-docs", assume_role=AssumeRole(role_arn, "kkp-ext-1"))
    assert good.status is Status.SUFFICIENT, good.message
    assert good.principal is not None and good.principal.kind == "assumed-role"
    assert good.principal.policy_source_arn == f"arn:aws:iam::{ACCOUNT}:role/kkp/kkp-seed-role", "path recovered"
    assert good.aws_calls["iam:GetRole"] == 1 and good.aws_calls["sts:AssumeRole"] == 1
    for external_id in ("wrong-id", None):
        bad = check(keys, "kkp-docs", assume_role=AssumeRole(role_arn, external_id))
        assert bad.status is Status.INVALID
        assert bad.reason == "AssumeRoleFailed"
        assert "external ID" in bad.message


def test_invalid_keys(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[])
    verdict = check(Keys(keys.access_key_id, "B" * 40))
    assert verdict.status is Status.INVALID
    assert verdict.reason == "InvalidCredentials"
    assert keys.access_key_id not in verdict.message and "B" * 40 not in verdict.message


def test_without_simulate_permission_is_unknown_then_auditor_gives_a_verdict(
        local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = policy("kkp-least-privilege-policy.json")
    user_arn, keys = local_aws.create_user(policies=[doc])
    unknown = check(keys)
    assert unknown.status is Status.UNKNOWN
    assert unknown.reason == "SimulationNotPermitted"
    assert '"Action": "iam:SimulatePrincipalPolicy"' in unknown.message and user_arn in unknown.message
    assert unknown.results == ()

    _, auditor_keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [SIMULATE]}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auditor_keys.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auditor_keys.secret_access_key)
    audited = check(keys, auditor=Auditor())
    assert audited.status is Status.INSUFFICIENT
    assert "iam:PassRole" in audited.broken_features["machines"]
    assert audited.simulated_by is not None and audited.simulated_by != "self"


def test_throttling_then_recovery(clean_faults: LocalAWS) -> None:
    _, keys = clean_faults.create_user(policies=[policy("kkp-documented-policy.json", SIMULATE)])
    clean_faults.set_faults(throttle=-1, throttle_actions=("SimulatePrincipalPolicy",))
    throttled = check(keys, "kkp-docs")
    assert throttled.status is Status.UNKNOWN
    assert throttled.reason == "Throttled"
    assert throttled.aws_calls["iam:SimulatePrincipalPolicy"] == 1, "counted once per API call, retries inside"
    clean_faults.set_faults(throttle=2, throttle_actions=("SimulatePrincipalPolicy",))
    recovered = check(keys, "kkp-docs")
    assert recovered.status is Status.SUFFICIENT, "two throttled attempts are absorbed by bounded retries"


def test_endpoint_down_is_unknown_never_sufficient(clean_faults: LocalAWS) -> None:
    _, keys = clean_faults.create_user(policies=[policy("kkp-documented-policy.json", SIMULATE)])
    clean_faults.outage(down=True)
    try:
        verdict = check(keys, "kkp-docs")
    finally:
        clean_faults.outage(down=False)
    assert verdict.status is Status.UNKNOWN
    assert verdict.reason == "AWSUnreachable"
