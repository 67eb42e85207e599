"""The check engine against the local AWS endpoint: real HTTP, real signatures, simulated IAM.

The endpoint decides simulations with credcheck's own evaluator (evaluator-backed): these tests prove the wiring
(signing, the questions asked — resources, context, principals —, batching, paging, error mapping) and how
verdicts are built from AWS's answers; the evaluator's own decisions are pinned by tests/unit/iam/golden.yaml.
"""

import fnmatch
import json
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from policy_edits import doc
from policy_edits import without_pair as _minus  # the printed policy less one (action, resource) pair

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import Auditor, CheckOptions, run_check
from credcheck.engine.model import AssumeRole, Credential, Outcome, Status, role_of
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck_testground.aws import ACCOUNT, Keys, LocalAWS

pytestmark = pytest.mark.aws
DATA = Path(__file__).resolve().parents[1] / "data"
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}
CCM_ASSUME = {"Effect": "Allow", "Action": "sts:AssumeRole",
              "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*-control-plane"}
V223 = {"Effect": "Allow", "Action": ["iam:TagInstanceProfile", "elasticloadbalancing:AddTags"],
        "Resource": "*"}  # what KKP's docs added in v2.23; the file in tests/data predates it
CLASSIC_ELB = {"Effect": "Allow", "Resource": "*", "Action": [  # the CCM's classic-ELB calls, not in KKP's docs
    "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer", "elasticloadbalancing:AttachLoadBalancerToSubnets",
    "elasticloadbalancing:CreateLoadBalancerListeners", "elasticloadbalancing:CreateLoadBalancerPolicy",
    "elasticloadbalancing:DeleteLoadBalancerListeners", "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
    "elasticloadbalancing:DescribeLoadBalancerPolicies", "elasticloadbalancing:DetachLoadBalancerFromSubnets",
    "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
    "elasticloadbalancing:SetLoadBalancerPoliciesOfListener"]}
DETACH = {"Effect": "Allow", "Action": "iam:DetachRolePolicy", "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*"}
ABC = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.34.2")
# as the operator's runtime does: one set of clients (honouring the test ground's AWS_ENDPOINT_URL, as --dev-endpoints
# does) and one auditor memory for every check of this module
AWS = AWSClients(honour_configured_endpoints=True)
AUDITORS = AuditorCache()


def allow_all_but(*actions: str) -> dict[str, Any]:
    return {"Effect": "Allow", "NotAction": list(actions), "Resource": "*"}


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
    return run_check(cred(keys), CheckOptions(load_profile(profile), region="eu-central-1", aws=AWS,
                                              auditor_cache=AUDITORS, **kwargs))


def test_documented_policy_of_v2_22_is_sufficient_under_kkp_docs_2_22(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE)])
    verdict = check(keys, "kkp-docs-2.22")
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert len(verdict.results) > 800
    assert verdict.aws_calls == {"sts:GetCallerIdentity": 1, "iam:SimulatePrincipalPolicy": 2}


def test_todays_documented_policy_is_sufficient_under_kkp_docs_and_the_v2_22_page_is_not(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.31.json", SIMULATE)])
    assert (verdict := check(keys, "kkp-docs")).status is Status.SUFFICIENT, verdict.message
    _, old = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE)])
    verdict = check(old, "kkp-docs")
    assert verdict.status is Status.INSUFFICIENT
    assert {r.requirement.action for r in verdict.missing_required} == {
        "iam:TagInstanceProfile", "elasticloadbalancing:AddTags"}


def test_documented_policy_is_not_ready_under_kkp_it_lacks_the_ccm_assume_role(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE, V223)])
    verdict = check(keys, targets=(ABC,))
    assert verdict.status is Status.INSUFFICIENT, verdict.message
    assert verdict.broken_features == {"cloud-controller": ("sts:AssumeRole",),
                                       "cluster-deletion-owned": ("iam:DetachRolePolicy",)}
    assert "sts:AssumeRole" in verdict.message
    assert f"arn:aws:iam::{ACCOUNT}:role/kubernetes-abc-control-plane with the credential's own keys" in verdict.message
    role = f"arn:aws:iam::{ACCOUNT}:role/kubernetes-abc"
    assert verdict.remediation == {"Version": "2012-10-17", "Statement": [
        {"Sid": "CredcheckGrant1", "Effect": "Allow", "Action": ["iam:DetachRolePolicy", "sts:AssumeRole"],
         "Resource": f"{role}-control-plane"},
        {"Sid": "CredcheckGrant2", "Effect": "Allow", "Action": "iam:DetachRolePolicy", "Resource": f"{role}-worker"}]}
    assert [(c.cluster, c.cloud_controller) for c in verdict.clusters] == [("abc", "assume-role (CCM v1.34.0)")]
    assert verdict.profile_version == "2.31"
    # without a Cluster: the newest Kubernetes KKP 2.31 supports is assumed, and the verdict says so
    unnamed = check(keys)
    assert "sts:AssumeRole" in unnamed.broken_features["cloud-controller"]
    assert any("assumed 1.36" in n for n in unnamed.clusters[0].notes)


def test_documented_policy_plus_what_the_code_calls_is_ready_for_every_kkp_version(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE, V223, CCM_ASSUME,
                                                           CLASSIC_ELB, DETACH)])
    for profile in ("kkp-2.29", "kkp-2.30", "kkp-2.31"):
        verdict = check(keys, profile, targets=(ABC,))
        assert verdict.status is Status.SUFFICIENT, (profile, verdict.message)
        assert verdict.tally().checked < 150, "only what KKP's code calls is simulated"
    calls = check(keys, targets=(ABC,)).aws_calls
    # nine for the credential (each tag set KKP's CreateTags/DeleteTags requests carry is its own context, issue 31),
    # one that finds the control-plane role does not exist yet (KKP creates it)
    assert calls == {"sts:GetCallerIdentity": 1, "iam:SimulatePrincipalPolicy": 10, "iam:GetRole": 1}


def test_with_disable_iam_reconciling_the_deletion_calls_are_still_required(local_aws: LocalAWS) -> None:
    deletion = ("iam:GetRole", "iam:DeleteRolePolicy", "iam:GetInstanceProfile")
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but(*deletion))])
    off = check(keys, targets=(Target(cluster="abc", region="eu-central-1", disable_iam_reconciling=True),))
    assert off.status is Status.INSUFFICIENT, off.message
    # the worker role of the profile KKP owns (a Cluster naming none: KKP's) is cleaned up whatever the flag (issue 31)
    assert off.broken_features == {"cluster-deletion": tuple(sorted(deletion)),
                                   "cluster-deletion-owned": ("iam:DeleteRolePolicy", "iam:GetRole")}
    assert "cluster-deletion: missing iam:DeleteRolePolicy, iam:GetInstanceProfile, iam:GetRole" in off.message


def test_passrole_allowed_only_for_ec2_is_not_reported_missing(local_aws: LocalAWS) -> None:
    passrole = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*",
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("iam:PassRole"), passrole)])
    verdict = check(keys, targets=(ABC,))
    assert verdict.status is Status.SUFFICIENT, verdict.message


def test_createtags_allowed_only_on_create_leaves_just_the_retagging_missing(local_aws: LocalAWS) -> None:
    on_create = {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {
        "StringEquals": {"ec2:CreateAction": ["RunInstances", "CreateSecurityGroup"]}}}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("ec2:CreateTags"), on_create)])
    verdict = check(keys, targets=(ABC,))
    tags = [r for r in verdict.results if r.requirement.action == "ec2:CreateTags"]
    created = [r for r in tags if "ec2:CreateAction" in r.requirement.context_dict()
               and role_of(r.requirement.principal) is None]
    assert len(created) == 2 and all(r.allowed for r in created), "tag-on-create carries ec2:CreateAction"
    assert {r.requirement.resource for r in verdict.missing_required} == {
        f"arn:aws:ec2:eu-central-1:{ACCOUNT}:{kind}/*" for kind in ("subnet", "route-table", "security-group",
                                                                   "instance")}
    assert {r.requirement.action for r in verdict.missing_required} == {"ec2:CreateTags"}, \
        "KKP re-tags existing subnets, route table and security group without ec2:CreateAction (tags.go:74)"


REGION_LOCK = {"Sid": "DenyOutsideEuCentral1", "Effect": "Deny", "Resource": "*",
               "NotAction": ["iam:*", "sts:*", "ec2:DescribeRegions"],  # as AWS's region-deny SCP example exempts
               "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}}}


def test_region_locked_credential_is_ready_for_its_region_only(local_aws: LocalAWS) -> None:
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, everything, REGION_LOCK)])
    frankfurt = check(keys, targets=(ABC,))
    assert frankfurt.status is Status.SUFFICIENT, frankfurt.message
    virginia = check(keys, targets=(Target(cluster="abc", region="us-east-1", kubernetes_version="1.34"),))
    assert virginia.status is Status.INSUFFICIENT
    assert {r.outcome for r in virginia.missing_required} == {Outcome.EXPLICIT_DENY}
    assert "ec2:RunInstances" in virginia.broken_features["machines"]
    both = check(keys, targets=(ABC, Target(cluster="xyz", region="us-east-1")))
    assert [(c.cluster, c.status) for c in both.clusters] == [("abc", Status.SUFFICIENT),
                                                               ("xyz", Status.INSUFFICIENT)]


def test_a_clusters_own_role_outside_kubernetes_star_is_asked_about(local_aws: LocalAWS) -> None:
    scoped = {"Effect": "Allow", "Action": "iam:*", "Resource": [f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*",
                                                                 f"arn:aws:iam::{ACCOUNT}:instance-profile/kubernetes-*"]}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("iam:*"), scoped)])
    assert check(keys, targets=(ABC,)).status is Status.SUFFICIENT
    own = Target(cluster="abc", region="eu-central-1", control_plane_role=f"arn:aws:iam::{ACCOUNT}:role/team/cp",
                 instance_profile="team-nodes")
    verdict = check(keys, targets=(own,))
    assert verdict.status is Status.INSUFFICIENT
    resources = {r.requirement.resource for r in verdict.missing_required}
    assert resources == {f"arn:aws:iam::{ACCOUNT}:role/team/cp", f"arn:aws:iam::{ACCOUNT}:instance-profile/team-nodes"}
    # the keys may not read that profile: which role it holds is unknown, so PassRole is undecided, never missing
    assert [r.outcome for r in verdict.results if r.requirement.action == "iam:PassRole"] == [Outcome.MISSING_CONTEXT]


def test_a_condition_on_context_kkp_does_not_send_is_unknown_not_missing(local_aws: LocalAWS) -> None:
    vpc_only = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("iam:PassRole"), vpc_only)])
    verdict = check(keys, targets=(ABC,))
    assert verdict.status is Status.UNKNOWN, verdict.message
    assert verdict.reason == "UndecidedByAWS" and "aws:SourceVpc" in verdict.message
    assert verdict.tally().missing_required == 0 and verdict.tally().undecided == 1


def test_upgrade_readiness_from_the_same_simulation(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE, V223, CLASSIC_ELB,
                                                           DETACH)])
    old = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.32.9")
    verdict = check(keys, "kkp-2.30", targets=(old,), target_profile=load_profile("kkp-2.31"))
    assert verdict.status is Status.SUFFICIENT, "KKP 2.30 runs a direct-mode CCM for Kubernetes 1.32"
    assert verdict.upgrade is not None and verdict.upgrade.status is Status.INSUFFICIENT
    assert verdict.upgrade.broken_features["cloud-controller"] == ("sts:AssumeRole",)
    alone = check(keys, "kkp-2.30", targets=(old,))
    assert verdict.aws_calls["iam:SimulatePrincipalPolicy"] <= alone.aws_calls["iam:SimulatePrincipalPolicy"] + 1


def test_least_privilege_policy_is_insufficient_under_kkp(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[policy("kkp-least-privilege-policy.json", SIMULATE)])
    verdict = check(keys, "kkp-2.29", targets=(ABC,), include_recommended=True)
    assert verdict.status is Status.INSUFFICIENT
    assert verdict.reason == "MissingPermissions"
    assert "iam:PassRole" in verdict.broken_features["machines"]
    assert "ec2:DescribeVpcAttribute" in verdict.broken_features["machines"]
    lbs = verdict.broken_features["cloud-controller"]
    assert "elasticloadbalancing:CreateLoadBalancer" in lbs and "elasticloadbalancing:AddTags" in lbs
    assert "machines: missing" in verdict.message
    recommended = {r.requirement.action for r in verdict.missing_recommended}
    assert "sts:GetFederationToken" in recommended and "ec2:CreateVpc" in recommended
    recommended_pairs = {(r.requirement.action, r.requirement.resource) for r in verdict.missing_recommended}
    assert not recommended_pairs & {(r.requirement.action, r.requirement.resource) for r in verdict.missing_required}


def test_missing_passrole_and_tagrole_named_and_remediated_exactly(local_aws: LocalAWS) -> None:
    documented = policy("kkp-documented-policy-2.22.json", SIMULATE, V223, CCM_ASSUME, DETACH)
    documented["Statement"][1]["Action"].remove("iam:PassRole")
    documented["Statement"][1]["Action"].remove("iam:TagRole")
    _, keys = local_aws.create_user(policies=[documented])
    verdict = check(keys, targets=(ABC,))
    assert verdict.status is Status.INSUFFICIENT
    assert {r.requirement.action for r in verdict.missing_required} == {"iam:PassRole", "iam:TagRole"}
    assert verdict.broken_features == {"iam-reconciling": ("iam:TagRole",), "machines": ("iam:PassRole",)}
    role = f"arn:aws:iam::{ACCOUNT}:role/kubernetes-abc"
    assert verdict.remediation == {"Version": "2012-10-17", "Statement": [
        {"Sid": "CredcheckGrant1", "Effect": "Allow", "Action": "iam:TagRole", "Resource": f"{role}-control-plane"},
        {"Sid": "CredcheckGrant2", "Effect": "Allow", "Action": ["iam:PassRole", "iam:TagRole"],
         "Resource": f"{role}-worker"}]}


def test_explicit_deny_on_kubernetes_roles(local_aws: LocalAWS) -> None:
    deny = {"Sid": "NoK8sRoles", "Effect": "Deny", "Action": "iam:*", "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*"}
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE, deny)])
    verdict = check(keys, "kkp-docs-2.22")
    assert verdict.status is Status.INSUFFICIENT
    denied = {r.requirement.action: r for r in verdict.missing_required}
    assert denied["iam:CreateRole"].outcome is Outcome.EXPLICIT_DENY
    assert denied["iam:PassRole"].outcome is Outcome.EXPLICIT_DENY
    assert verdict.remediation is None, "an Allow cannot lift an explicit deny"
    assert any("explicit Deny" in b and "iam:PassRole" in b for b in verdict.blockers)


def test_permissions_boundary_blocking_elb(local_aws: LocalAWS) -> None:
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "elasticloadbalancing:*",
                                                        "Resource": "*"}]}
    _, keys = local_aws.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE)], boundary=boundary)
    verdict = check(keys, "kkp-docs-2.22")
    outcomes = {r.outcome for r in verdict.missing_required}
    assert outcomes == {Outcome.DENIED_BY_BOUNDARY}
    assert all(r.requirement.action.startswith("elasticloadbalancing:") for r in verdict.missing_required)
    assert any("permissions boundary" in b for b in verdict.blockers)


def test_assumed_role_with_right_wrong_and_missing_external_id(local_aws: LocalAWS) -> None:
    user_arn, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, SIMULATE]}])
    role_arn = local_aws.create_role("kkp-seed-role", user_arn, external_id="kkp-ext-1", path="/kkp/",
                                     policies=[policy("kkp-documented-policy-2.22.json", SIMULATE,
                                                      {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"})])
    good = check(keys, "kkp-docs-2.22", assume_role=AssumeRole(role_arn, "kkp-ext-1"))
    with_ccm = check(keys, assume_role=AssumeRole(role_arn, "kkp-ext-1"), targets=(ABC,))
    ccm = [r for r in with_ccm.results if "cloud-controller" in r.requirement.features]
    assert [(r.requirement.principal, r.requirement.action, r.allowed) for r in ccm] == [
        ("keys", "sts:AssumeRole", True)], "the CCM's AssumeRole is asked of the keys' own user"
    assert good.status is Status.SUFFICIENT, good.message
    assert good.principal is not None and good.principal.kind == "assumed-role"
    assert good.principal.policy_source_arn == f"arn:aws:iam::{ACCOUNT}:role/kkp/kkp-seed-role", "path recovered"
    assert good.aws_calls["iam:GetRole"] == 1 and good.aws_calls["sts:AssumeRole"] == 1
    for external_id in ("wrong-id", None):
        bad = check(keys, "kkp-docs-2.22", assume_role=AssumeRole(role_arn, external_id))
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
    unknown = check(keys, targets=(ABC,))
    assert unknown.status is Status.UNKNOWN
    assert unknown.reason == "SimulationNotPermitted"
    assert '"Action": "iam:SimulatePrincipalPolicy"' in unknown.message and user_arn in unknown.message
    assert unknown.results == ()

    _, auditor_keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [SIMULATE]}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auditor_keys.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auditor_keys.secret_access_key)
    audited = check(keys, auditor=Auditor(), targets=(ABC,))
    assert audited.status is Status.INSUFFICIENT
    assert "iam:PassRole" in audited.broken_features["machines"]
    assert audited.simulated_by is not None and audited.simulated_by != "self"
    again = check(keys, auditor=Auditor(), targets=(ABC,))
    assert again.simulated_by == audited.simulated_by
    assert again.aws_calls["sts:GetCallerIdentity"] == 1, "the auditor's identity is cached, not asked per check"


def test_throttling_then_recovery(clean_faults: LocalAWS) -> None:
    _, keys = clean_faults.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE)])
    clean_faults.set_faults(throttle=-1, throttle_actions=("SimulatePrincipalPolicy",))
    throttled = check(keys, "kkp-docs-2.22")
    assert throttled.status is Status.UNKNOWN
    assert throttled.reason == "Throttled"
    assert throttled.aws_calls["iam:SimulatePrincipalPolicy"] == 1, "counted once per API call, retries inside"
    clean_faults.set_faults(throttle=2, throttle_actions=("SimulatePrincipalPolicy",))
    recovered = check(keys, "kkp-docs-2.22")
    assert recovered.status is Status.SUFFICIENT, "two throttled attempts are absorbed by bounded retries"


def test_endpoint_down_is_unknown_never_sufficient(clean_faults: LocalAWS) -> None:
    _, keys = clean_faults.create_user(policies=[policy("kkp-documented-policy-2.22.json", SIMULATE)])
    clean_faults.outage(down=True)
    try:
        verdict = check(keys, "kkp-docs-2.22")
    finally:
        clean_faults.outage(down=False)
    assert verdict.status is Status.UNKNOWN
    assert verdict.reason == "AWSUnreachable"


def _shown(version: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    from credcheck.cli.main import main  # noqa: PLC0415 - the CLI's own output is the input here

    assert main(["requirements", "show", version, "--format", "policy", "--account", ACCOUNT]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("version", ["kkp-2.29", "kkp-2.30", "kkp-2.31"])
def test_the_printed_policy_makes_a_fresh_user_ready_on_every_kubernetes_version_kkp_supports(
        version: str, local_aws: LocalAWS, capsys: pytest.CaptureFixture[str]) -> None:
    shown = _shown(version, capsys)
    _, keys = local_aws.create_user(policies=[shown, doc(SIMULATE)])
    targets = tuple(Target(cluster="abc", region="eu-central-1", kubernetes_version=f"{minor}.1")
                    for minor in load_profile(version).cloud_controllers)
    verdict = check(keys, version, targets=targets)
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.tally().missing_recommended == 0


@pytest.mark.parametrize(("action", "resource"), [
    ("iam:DeleteRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*-worker"),
    ("ec2:CreateSecurityGroup", f"arn:aws:ec2:*:{ACCOUNT}:security-group/*"),
    ("ec2:RunInstances", "arn:aws:ec2:*::image/*"),
    ("ec2:TerminateInstances", f"arn:aws:ec2:*:{ACCOUNT}:instance/*"),
])
def test_the_printed_policy_without_one_pair_is_not_ready_naming_that_pair(
        action: str, resource: str, local_aws: LocalAWS, capsys: pytest.CaptureFixture[str]) -> None:
    shown = _shown("kkp-2.31", capsys)
    _, keys = local_aws.create_user(policies=[_minus(shown, action, resource), doc(SIMULATE)])
    verdict = check(keys, "kkp-2.31", targets=(ABC,))
    assert verdict.status is Status.INSUFFICIENT
    missing = {(r.requirement.action, r.requirement.resource) for r in verdict.missing_required}
    assert {a for a, _ in missing} == {action}
    assert all(fnmatch.fnmatchcase(r, resource) for _, r in missing), missing


def test_run_instances_granted_on_exactly_the_resource_types_aws_requires_is_ready(local_aws: LocalAWS) -> None:
    """The Service Authorization Reference's required types for ec2:RunInstances (image, instance,
    network-interface, security-group, subnet) plus the root volume machine-controller creates; nothing on `*`."""
    region = f"arn:aws:ec2:eu-central-1:{ACCOUNT}"
    scoped = {"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": [
        "arn:aws:ec2:eu-central-1::image/*", f"{region}:instance/*", f"{region}:network-interface/*",
        f"{region}:security-group/*", f"{region}:subnet/*", f"{region}:volume/*"]}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("ec2:RunInstances"), scoped)])
    verdict = check(keys, targets=(ABC,))
    assert verdict.status is Status.SUFFICIENT, verdict.message
    one_type = dict(scoped, Resource=f"{region}:instance/*")
    _, narrow = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("ec2:RunInstances"), one_type)])
    missing = {r.requirement.resource.split(":")[-1] for r in check(narrow, targets=(ABC,)).missing_required}
    assert missing == {"image/*", "network-interface/*", "security-group/*", "subnet/*", "volume/*"}


def test_a_control_plane_role_that_trusts_only_ec2_fails_the_check(local_aws: LocalAWS) -> None:
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    _, keys = local_aws.create_user(policies=[doc(everything)])
    iam = local_aws.client("iam")
    ec2_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                        "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="kubernetes-old1-control-plane", AssumeRolePolicyDocument=json.dumps(ec2_only))
    old = check(keys, targets=(Target(cluster="old1", region="eu-central-1", kubernetes_version="1.34"),))
    assert (old.status, old.reason) == (Status.INSUFFICIENT, "ControlPlaneRoleTrustMissing"), old.message
    assert f'"AWS": "arn:aws:iam::{ACCOUNT}:root"' in old.message, "the trust statement to add"
    assert "created before KKP v2.30" in old.message
    assert old.clusters[0].status is Status.INSUFFICIENT
    root = {"Version": "2012-10-17", "Statement": [ec2_only["Statement"][0], {
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="kubernetes-new2-control-plane", AssumeRolePolicyDocument=json.dumps(root))
    new = check(keys, targets=(Target(cluster="new2", region="eu-central-1", kubernetes_version="1.34"),))
    assert new.status is Status.SUFFICIENT, new.message
    absent = check(keys, targets=(Target(cluster="none3", region="eu-central-1"),))
    assert absent.status is Status.SUFFICIENT, "a role KKP has yet to create gets the right trust from KKP"
    direct = check(keys, "kkp-2.30", targets=(Target(cluster="old1", region="eu-central-1", kubernetes_version="1.32"),))
    assert direct.status is Status.SUFFICIENT, "a direct-mode CCM never assumes the role"


def test_the_account_budget_counts_every_attempt_and_never_sleeps(clean_faults: LocalAWS) -> None:
    from credcheck.engine.aws.ratelimit import RateLimiter  # noqa: PLC0415

    _, keys = clean_faults.create_user(policies=[doc(SIMULATE, {"Effect": "Allow", "Action": "*", "Resource": "*"})])
    limiter = RateLimiter(rate=0.0001, burst=100)  # no refill during the test
    clean_faults.set_faults(throttle=2, throttle_actions=("SimulatePrincipalPolicy",))
    # no Cluster: no control-plane role to read or simulate, so every reserved call is made
    verdict = check(keys, limiter=limiter)
    assert verdict.status is Status.SUFFICIENT, verdict.message
    iam_calls = verdict.aws_calls["iam:SimulatePrincipalPolicy"] + verdict.aws_calls.get("iam:GetRole", 0)
    tokens, _ = limiter._buckets[ACCOUNT]
    assert round(100 - tokens) == iam_calls + 2, "the two throttled attempts botocore retried were counted too"

    slow = RateLimiter(rate=0.5, burst=10)
    assert check(keys, targets=(ABC,), limiter=slow).status is Status.SUFFICIENT  # 6 of the 10 spent
    started = time.monotonic()
    starved = check(keys, targets=(ABC,), limiter=slow)
    assert starved.status is Status.UNKNOWN and starved.reason == "RateLimited"
    assert starved.retry_after is not None and starved.retry_after > 0
    assert time.monotonic() - started < 2, "no thread waits for the budget: the check is re-queued instead"


# --- verdicts from decision tables: the endpoint answers exactly what the test says AWS answers (no evaluator) ---

def tabled_user(local_aws: LocalAWS, table: dict[str, dict[str, Any]]) -> Keys:
    arn, keys = local_aws.create_user(policies=[doc(SIMULATE)])
    local_aws.set_decisions(arn, table)
    return keys


ALLOWED = {"decision": "allowed", "matched": ["KKP"]}


def test_sufficient_from_a_decision_table(local_aws: LocalAWS) -> None:
    verdict = check(tabled_user(local_aws, {"*": ALLOWED}), targets=(ABC,))
    assert verdict.status is Status.SUFFICIENT and verdict.tally().missing_required == 0


def test_missing_passrole_from_a_decision_table(local_aws: LocalAWS) -> None:
    keys = tabled_user(local_aws, {"*": ALLOWED, "iam:PassRole": {"decision": "implicitDeny"}})
    verdict = check(keys, targets=(ABC,))
    assert verdict.broken_features == {"machines": ("iam:PassRole",)}
    assert verdict.remediation == {"Version": "2012-10-17", "Statement": [{
        "Sid": "CredcheckGrant1", "Effect": "Allow", "Action": "iam:PassRole",
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/kubernetes-abc-worker"}]}


def test_explicit_deny_from_a_decision_table(local_aws: LocalAWS) -> None:
    deny = {"decision": "explicitDeny", "matched": ["NoK8sRoles"]}
    verdict = check(tabled_user(local_aws, {"*": ALLOWED, "iam:CreateRole": deny}), targets=(ABC,))
    assert {r.outcome for r in verdict.missing_required} == {Outcome.EXPLICIT_DENY}
    assert verdict.remediation is None, "an Allow cannot lift an explicit deny"
    assert any("explicit Deny (NoK8sRoles (IAM Policy))" in b and "iam:CreateRole" in b for b in verdict.blockers)


def test_scp_denial_from_a_decision_table(local_aws: LocalAWS) -> None:
    scp = {"decision": "implicitDeny", "organizations": False}
    verdict = check(tabled_user(local_aws, {"*": ALLOWED, "ec2:RunInstances": scp}), targets=(ABC,))
    assert {(r.requirement.action, r.outcome) for r in verdict.missing_required} == {
        ("ec2:RunInstances", Outcome.DENIED_BY_SCP)}
    assert any("SCP blocks ec2:RunInstances" in b for b in verdict.blockers)


def test_boundary_denial_from_a_decision_table(local_aws: LocalAWS) -> None:
    boundary = {"decision": "implicitDeny", "boundary": False}
    verdict = check(tabled_user(local_aws, {"*": ALLOWED, "iam:PassRole": boundary}), targets=(ABC,))
    assert [r.outcome for r in verdict.missing_required] == [Outcome.DENIED_BY_BOUNDARY]
    assert any("permissions boundary does not allow iam:PassRole" in b for b in verdict.blockers)


def test_missing_context_from_a_decision_table_is_unknown(local_aws: LocalAWS) -> None:
    undecided = {"decision": "implicitDeny", "missing": ["aws:SourceVpc"]}
    verdict = check(tabled_user(local_aws, {"*": ALLOWED, "iam:PassRole": undecided}), targets=(ABC,))
    assert (verdict.status, verdict.reason) == (Status.UNKNOWN, "UndecidedByAWS")
    assert "aws:SourceVpc" in verdict.message


# --- assumed roles, with trust decided as AWS decides it (the test ground's own trust rules) ---

def test_a_role_trusted_through_the_account_root_with_a_boundary_names_the_boundary(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, {"Effect": "Allow", "Resource": "*", "Action": [
        "sts:AssumeRole", "ec2:DescribeRegions"]})])
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": "iam:PassRole",
                                                        "Resource": "*"}]}
    role = local_aws.create_role("bounded-kkp", f"arn:aws:iam::{ACCOUNT}:root",
                                 [doc({"Effect": "Allow", "Action": "*", "Resource": "*"})], boundary=boundary)
    verdict = check(keys, assume_role=AssumeRole(role), targets=(ABC,))
    assert verdict.status is Status.INSUFFICIENT, verdict.message
    assert [(r.requirement.action, r.outcome) for r in verdict.missing_required] == [
        ("iam:PassRole", Outcome.DENIED_BY_BOUNDARY)]


def test_a_role_trusted_through_the_account_root_with_an_external_id_is_ready(local_aws: LocalAWS) -> None:
    user_arn, keys = local_aws.create_user(policies=[doc(SIMULATE, {"Effect": "Allow", "Resource": "*", "Action": [
        "sts:AssumeRole", "ec2:DescribeRegions"]})])
    role = local_aws.create_role("ext-kkp", f"arn:aws:iam::{ACCOUNT}:root",
                                 [doc({"Effect": "Allow", "Action": "*", "Resource": "*"})], external_id="kkp-77")
    ready = check(keys, assume_role=AssumeRole(role, "kkp-77"), targets=(ABC,))
    assert ready.status is Status.SUFFICIENT, ready.message
    assert check(keys, assume_role=AssumeRole(role, "nope"), targets=(ABC,)).reason == "AssumeRoleFailed"
    _, stranger = local_aws.create_user(policies=[doc(SIMULATE)])  # no identity grant: the root trust is not enough
    assert check(stranger, assume_role=AssumeRole(role, "kkp-77"), targets=(ABC,)).reason == "AssumeRoleFailed"
    assert user_arn.endswith("user/" + user_arn.rsplit("/", 1)[-1])


def test_delete_security_group_granted_only_on_kkp_tagged_groups_is_ready(local_aws: LocalAWS) -> None:
    """KKP deletes a group only when it carries its ownership tag (security_group.go:303-309), so a grant conditioned
    on that tag is enough; one on another tag can't be decided (the group may carry it): never Ready."""
    def tagged(tag: str) -> dict[str, Any]:
        return {"Effect": "Allow", "Action": "ec2:DeleteSecurityGroup", "Resource": "*",
                "Condition": {"StringLike": {f"aws:ResourceTag/{tag}": "*"}}}

    own = ABC.__class__(**{**ABC.__dict__, "security_group_id": "sg-0123456789abcdef0"})
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("ec2:DeleteSecurityGroup"),
                                                  tagged("owned-by.kubermatic.k8c.io/abc"))])
    assert (verdict := check(keys, targets=(own,))).status is Status.SUFFICIENT, verdict.message
    _, other = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("ec2:DeleteSecurityGroup"),
                                                   tagged("team"))])
    verdict = check(other, targets=(own,))
    assert verdict.status is not Status.SUFFICIENT
    undecided = [r for r in verdict.results if r.requirement.action == "ec2:DeleteSecurityGroup"
                 and role_of(r.requirement.principal) is None]
    assert [(r.outcome, r.missing_context) for r in undecided] == [(Outcome.MISSING_CONTEXT, ("aws:ResourceTag/team",))]


def _instance_profile(local_aws: LocalAWS, name: str, role: str, tags: dict[str, str] | None = None) -> str:
    iam = local_aws.client("iam")
    arn = str(iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})))["Role"]["Arn"])
    iam.create_instance_profile(InstanceProfileName=name,
                                Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    return arn


def test_passrole_is_asked_on_the_role_inside_the_admins_instance_profile(local_aws: LocalAWS) -> None:
    """RunInstances passes the role inside the Cluster's own instance profile; KKP manages no worker role in a
    profile it does not own (instance_profile.go:66), so CreateRole/DeleteRole on role/* are not asked."""
    unique = uuid.uuid4().hex[:8]
    role_arn = _instance_profile(local_aws, f"team-workers-{unique}", f"team-worker-{unique}")
    passrole = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, allow_all_but("iam:PassRole"), passrole)])
    own = replace(ABC, instance_profile=f"team-workers-{unique}")
    verdict = check(keys, targets=(own,))
    assert verdict.status is Status.SUFFICIENT, verdict.message
    asked = {(r.requirement.action, r.requirement.resource) for r in verdict.results
             if r.requirement.action in ("iam:PassRole", "iam:CreateRole", "iam:DeleteRole")}
    assert ("iam:PassRole", role_arn) in asked
    assert not any(resource.endswith("role/*") for _, resource in asked), asked
    assert verdict.aws_calls["iam:GetInstanceProfile"] == 1


def test_passrole_on_an_instance_profile_that_cant_be_read_is_undecided_never_missing(local_aws: LocalAWS) -> None:
    unique = uuid.uuid4().hex[:8]
    _instance_profile(local_aws, f"hidden-{unique}", f"hidden-worker-{unique}")
    deny = {"Effect": "Deny", "Action": ["iam:GetInstanceProfile", "iam:PassRole"], "Resource": "*"}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, {"Effect": "Allow", "Action": "*", "Resource": "*"}, deny)])
    verdict = check(keys, targets=(replace(ABC, instance_profile=f"hidden-{unique}"),))
    passrole = [r for r in verdict.results if r.requirement.action == "iam:PassRole"]
    assert [r.outcome for r in passrole] == [Outcome.MISSING_CONTEXT]
    assert "iam:PassRole" not in {r.requirement.action for r in verdict.missing_required}
    assert any(f"instance profile hidden-{unique}" in f and "iam:GetInstanceProfile failed" in f
               for f in verdict.findings), verdict.findings


NODES_ONLY = {"Effect": "Allow", "Action": ["ec2:DescribeInstances", "ec2:DescribeAvailabilityZones"], "Resource": "*"}
CCM_ALL = {"Effect": "Allow", "Action": ["ec2:*", "elasticloadbalancing:*", "iam:CreateServiceLinkedRole"],
           "Resource": "*"}


def _role_cluster(local_aws: LocalAWS, user_arn: str, role_policy: dict[str, Any], *, own: bool) -> Target:
    """A Cluster on Kubernetes 1.35 (CCM v1.35.2, assume-role mode) whose control-plane role trusts the keys."""
    name = f"team-cp-{uuid.uuid4().hex[:8]}"
    arn = local_aws.create_role(name, user_arn, [doc(role_policy)])
    return Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1", control_plane_role=arn,
                  disable_iam_reconciling=own)


def test_an_admins_control_plane_role_without_the_ccms_elb_calls_is_not_ready_naming_the_role_and_calls(
        local_aws: LocalAWS) -> None:
    """In assume-role mode the cloud-controller-manager makes its EC2/ELB calls as the control-plane role
    (cloud-provider-aws@v1.34.0 aws.go:508-514); with disableIAMReconciling KKP writes no policy on it."""
    user_arn, keys = local_aws.create_user(policies=[doc({"Effect": "Allow", "Action": "*", "Resource": "*"})])
    lacking = _role_cluster(local_aws, user_arn, NODES_ONLY, own=True)
    verdict = check(keys, targets=(lacking,))
    assert verdict.status is Status.INSUFFICIENT, verdict.message
    role = f"controlPlaneRole:{lacking.control_plane_role}"
    missing = {r.requirement.action for r in verdict.missing_required if r.requirement.principal == role}
    assert {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
            "ec2:AuthorizeSecurityGroupIngress"} <= missing
    assert "ec2:DescribeInstances" not in missing
    assert set(verdict.broken_features) == {"control-plane-role"}
    assert verdict.remediation is None, "the credential's own policy lacks nothing: the role's does"
    whole = _role_cluster(local_aws, user_arn, CCM_ALL, own=True)
    assert (ready := check(keys, targets=(whole,))).status is Status.SUFFICIENT, ready.message


def test_gaps_in_the_role_policy_kkp_writes_are_warnings_not_failures(local_aws: LocalAWS) -> None:
    user_arn, keys = local_aws.create_user(policies=[doc({"Effect": "Allow", "Action": "*", "Resource": "*"})])
    kkp_written = _role_cluster(local_aws, user_arn, NODES_ONLY, own=False)
    verdict = check(keys, targets=(kkp_written,))
    assert verdict.status is Status.SUFFICIENT, verdict.message
    warned = {r.requirement.action for r in verdict.missing_recommended
              if r.requirement.principal == f"controlPlaneRole:{kkp_written.control_plane_role}"}
    assert "elasticloadbalancing:CreateLoadBalancer" in warned


def test_a_listener_call_kkps_role_policy_conditions_on_request_tags_is_denied_not_undecided(
        local_aws: LocalAWS) -> None:
    """KKP's role policy allows classic-ELB listener calls only with aws:RequestTag/<cluster tag> (policy.go:300-316),
    but CreateLoadBalancerListeners carries no tags (cloud-provider-aws@v1.34.0 aws_loadbalancer.go:1279-1283): a
    denial KKP's own policy causes, reported as a warning."""
    user_arn, keys = local_aws.create_user(policies=[doc({"Effect": "Allow", "Action": "*", "Resource": "*"})])
    tag_only = {"Effect": "Allow", "Action": "elasticloadbalancing:CreateLoadBalancerListeners", "Resource": "*",
                "Condition": {"Null": {"aws:RequestTag/kubernetes.io/cluster/abc": "false"}}}
    cluster = _role_cluster(local_aws, user_arn, {**CCM_ALL, "Action": ["ec2:*"]}, own=False)
    iam = local_aws.client("iam")
    iam.put_role_policy(RoleName=str(cluster.control_plane_role).rsplit("/", 1)[1], PolicyName="listeners",
                        PolicyDocument=json.dumps(doc(tag_only)))
    verdict = check(keys, targets=(cluster,))
    listeners = [r for r in verdict.results if r.requirement.action == "elasticloadbalancing:CreateLoadBalancerListeners"
                 and role_of(r.requirement.principal)]
    assert [r.outcome for r in listeners] == [Outcome.IMPLICIT_DENY] * len(listeners) and listeners
    assert verdict.status is Status.SUFFICIENT, "KKP writes that policy: a warning, not a failure"


def test_an_organisation_guard_on_the_control_plane_role_is_not_a_trust_failure(local_aws: LocalAWS) -> None:
    """The common guard: Deny sts:AssumeRole unless aws:PrincipalOrgID is the organisation's (IAM User Guide,
    aws:PrincipalOrgID). The keys' organisation is read (organizations:DescribeOrganization) to decide it."""
    orgs = local_aws.client("organizations")
    try:
        org_id = orgs.describe_organization()["Organization"]["Id"]
    except orgs.exceptions.AWSOrganizationsNotInUseException:
        org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    _, keys = local_aws.create_user(policies=[doc({"Effect": "Allow", "Action": "*", "Resource": "*"})])
    name = f"guarded-{uuid.uuid4().hex[:8]}"
    iam = local_aws.client("iam")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    guard = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
             "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": org_id}}}
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        {**trust, "Statement": [*trust["Statement"], guard]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="ccm", PolicyDocument=json.dumps(doc(CCM_ALL)))
    target = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1", control_plane_role=role_arn)
    verdict = check(keys, targets=(target,))
    assert verdict.reason != "ControlPlaneRoleTrustMissing", verdict.message
    assert verdict.status is Status.SUFFICIENT, verdict.message
    other = {**guard, "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-someoneelse"}}}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(
        {**trust, "Statement": [*trust["Statement"], other]}))
    refused = check(keys, targets=(target,))
    assert refused.reason == "ControlPlaneRoleTrustMissing" and "Narrow that Deny" in refused.message


def test_a_checks_simulations_run_at_once_so_its_wall_time_is_well_under_the_sum(clean_faults: LocalAWS) -> None:
    """Every AWS request takes a second more (the test ground's latency fault, as a far region's round trip would).
    A re-check's simulate batches (the keys' own, the control-plane role's) are independent requests whose
    simulator is known from the first check, so they are sent together: the check takes about the slowest of them
    plus the calls that must come one after another (who the keys are, the role's trust policy): 4 s here for 12
    requests, where one after another they took their sum, 12 s."""
    everything = doc(SIMULATE, {"Effect": "Allow", "Action": "*", "Resource": "*"})
    _, keys = clean_faults.create_user(policies=[everything])
    cluster = f"fan{uuid.uuid4().hex[:8]}"
    clean_faults.create_role(f"kubernetes-{cluster}-control-plane", f"arn:aws:iam::{ACCOUNT}:root", [everything])
    target = Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.34.2")
    first = check(keys, targets=(target,))
    assert first.status is Status.SUFFICIENT, first.message
    clean_faults.set_faults(latency_ms=1000)
    started = time.monotonic()
    verdict = check(keys, targets=(target,))
    wall = time.monotonic() - started
    simulations = verdict.aws_calls["iam:SimulatePrincipalPolicy"]
    total = sum(verdict.aws_calls.values())
    assert verdict.status is Status.SUFFICIENT and simulations >= 8, verdict.aws_calls
    assert wall < 0.5 * total, f"{total} requests of 1 s each ({simulations} simulations) took {wall:.1f} s"


def test_the_getrole_of_a_temporary_role_credential_is_spent_from_the_accounts_budget(clean_faults: LocalAWS) -> None:
    """Keys of an assumed role (ASIA…, with a session token) are resolved to their role with iam:GetRole, an IAM
    call like any other: the account's budget pays for it (it used to go unbudgeted)."""
    from credcheck.engine.aws.ratelimit import RateLimiter  # noqa: PLC0415

    user_arn, user_keys = clean_faults.create_user(policies=[doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                  "Resource": "*"})])
    role = clean_faults.create_role(f"kkp-temporary-{uuid.uuid4().hex[:8]}", user_arn,
                                    [doc(SIMULATE, {"Effect": "Allow", "Action": "*", "Resource": "*"})])
    creds = clean_faults.client("sts", user_keys).assume_role(RoleArn=role, RoleSessionName="kkp")["Credentials"]
    limiter = RateLimiter(rate=0.0001, burst=100)  # no refill during the test
    verdict = run_check(Credential(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
                        CheckOptions(load_profile("kkp"), region="eu-central-1", limiter=limiter, aws=AWS,
                                     auditor_cache=AUDITORS))
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.aws_calls["iam:GetRole"] == 1, "no Cluster: only the role's own path was read"
    iam = sum(n for call, n in verdict.aws_calls.items() if call.startswith("iam:"))
    tokens, _ = limiter._buckets[ACCOUNT]
    assert round(100 - tokens) == iam, "every IAM call spent the account's budget, GetRole included"
    assert verdict.spent == {ACCOUNT: iam}, "and is what the scheduler paces this check by"
