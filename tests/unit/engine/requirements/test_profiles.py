import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from credcheck.engine.model import KEYS, OPERATING, Severity
from credcheck.engine.requirements.profiles import BUILTIN, ProfileError, load_profile, parse_profile_text
from credcheck.engine.target import Target

ACCOUNT = "111122223333"
ROOT = Path(__file__).resolve().parents[4]


def reqs_of(profile: str, target: Target | None = None, **kw: Any) -> dict[tuple[str, str], list]:  # type: ignore[type-arg]
    out: dict[tuple[str, str], list] = {}  # type: ignore[type-arg]
    for r in load_profile(profile).requirements(ACCOUNT, target=target, **kw):
        out.setdefault((r.action, r.resource), []).append(r)
    return out


def actions(profile: str, target: Target | None = None, severity: Severity = Severity.REQUIRED,
            **kw: Any) -> set[str]:
    return {r.action for rs in reqs_of(profile, target, **kw).values() for r in rs if r.severity is severity}


def test_kkp_docs_is_the_documented_policy_every_action_required() -> None:
    reqs = load_profile("kkp-docs-2.22").requirements(ACCOUNT)
    assert all(r.severity is Severity.REQUIRED for r in reqs)
    assert any(r.action == "iam:PassRole" and r.resource == f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*" for r in reqs)
    assert not any(r.action in ("elasticloadbalancing:AddTags", "iam:TagInstanceProfile") for r in reqs)
    assert len(reqs) > 800


def test_kkp_docs_is_todays_documented_policy_with_tag_instance_profile_and_add_tags() -> None:
    reqs = load_profile("kkp-docs").requirements(ACCOUNT)
    assert load_profile("kkp-docs").version == "2.31"
    assert any(r.action == "iam:TagInstanceProfile" and r.resource == f"arn:aws:iam::{ACCOUNT}:instance-profile/*"
               for r in reqs)
    assert any(r.action == "elasticloadbalancing:AddTags" and r.resource == "*" for r in reqs)
    assert all(r.severity is Severity.REQUIRED for r in reqs)


def test_kkp_means_the_newest_kkp_version() -> None:
    assert load_profile("kkp") is load_profile("kkp-2.31")
    assert load_profile("kkp").version == "2.31"


def test_kkp_231_ccm_assumes_the_control_plane_role_with_the_keys_not_elb() -> None:
    reqs = reqs_of("kkp-2.31", Target(cluster="abc", kubernetes_version="1.34.2"))
    assume = reqs[("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/kubernetes-abc-control-plane")]
    assert [(r.principal, r.features, r.severity) for r in assume] == [(KEYS, ("cloud-controller",),
                                                                        Severity.REQUIRED)]
    assert "assumes arn:aws:iam::111122223333:role/kubernetes-abc-control-plane" in assume[0].why
    assert not any(a.startswith("elasticloadbalancing:") for a in actions("kkp-2.31", Target(cluster="abc")))


def test_kkp_229_ccm_uses_the_keys_directly_for_ec2_and_elb() -> None:
    required = actions("kkp-2.29", Target(cluster="abc", kubernetes_version="1.34.1"))
    assert {"elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:RegisterTargets",
            "ec2:RevokeSecurityGroupIngress"} <= required
    assert "sts:AssumeRole" not in required
    elb = reqs_of("kkp-2.29")[("elasticloadbalancing:CreateLoadBalancer", "arn:aws:elasticloadbalancing:us-east-1:"
                                                                          f"{ACCOUNT}:loadbalancer/*")]
    assert elb[0].principal == KEYS


def test_a_hybrid_ccm_needs_the_keys_for_elb_and_assumes_the_role_only_for_topology() -> None:
    """CCM v1.32.1 / v1.33.0: the keys first in the chain for EC2/ELB, the SDK-v2 topology client assumes the role
    (cloud-provider-aws@v1.33.0 aws.go:491-510,596,629); a topology denial is only logged (topology.go:101-106)."""
    target = Target(cluster="abc", kubernetes_version="1.33.4")
    assert (ccm := load_profile("kkp-2.29").cloud_controller(target)) is not None and ccm.mode == "hybrid"
    assert "elasticloadbalancing:CreateLoadBalancer" in actions("kkp-2.29", target)
    assert "sts:AssumeRole" not in actions("kkp-2.29", target)
    assert "sts:AssumeRole" in actions("kkp-2.29", target, Severity.RECOMMENDED)


@pytest.mark.parametrize(("ccm", "mode"), [("v1.31.1", "direct"), ("v1.31.8", "hybrid"), ("v1.31.9", "assume-role"),
                                           ("v1.32.1", "hybrid"), ("v1.32.4", "assume-role"), ("v1.33.0", "hybrid"),
                                           ("v1.33.1", "assume-role"), ("v1.30.10", "assume-role"),
                                           ("v1.35.2", "assume-role")])
def test_the_ccm_mode_follows_the_exact_release_backports_included(ccm: str, mode: str) -> None:
    spec = importlib.util.spec_from_file_location("generate_profiles", ROOT / "hack" / "generate_profiles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._mode(ccm) == mode


@pytest.mark.parametrize(("version", "mode"), [("1.32.9", "hybrid"), ("v1.33.2", "assume-role"),
                                               ("1.35", "assume-role"), (None, "assume-role")])
def test_kkp_230_cloud_controller_mode_follows_the_kubernetes_version(version: str | None, mode: str) -> None:
    profile = load_profile("kkp-2.30")
    ccm = profile.cloud_controller(Target(kubernetes_version=version))
    assert ccm is not None and ccm.mode == mode
    assert ccm.assumed is (version is None)
    required = actions("kkp-2.30", Target(cluster="c", kubernetes_version=version))
    assert ("sts:AssumeRole" in required) is (mode == "assume-role")
    assert ("elasticloadbalancing:CreateLoadBalancer" in required) is (mode == "hybrid")


def test_without_a_cluster_the_newest_kubernetes_is_assumed() -> None:
    ccm = load_profile("kkp-2.31").cloud_controller(Target())
    assert ccm is not None and (ccm.minor, ccm.ccm, ccm.assumed) == ("1.36", "v1.35.2", True)


def test_disable_iam_reconciling_keeps_the_deletion_calls() -> None:
    off = Target(cluster="abc", disable_iam_reconciling=True)
    required = actions("kkp-2.31", off)
    assert {"iam:GetInstanceProfile", "iam:GetRole", "iam:DeleteRolePolicy"} <= required
    assert not {"iam:CreateRole", "iam:PutRolePolicy"} & required
    assert "iam:PassRole" in required, "machines still pass the worker role"
    assert {"iam:CreateRole", "iam:DetachRolePolicy"} <= actions("kkp-2.31", Target(cluster="abc"))


OWNED_CLEANUP = {"iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile", "iam:ListRolePolicies",
                 "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy", "iam:DeleteRole"}


def test_cleanup_of_what_kkp_owns_is_gated_on_ownership_not_on_disable_iam_reconciling() -> None:
    """issue 31 (2): KKP's cleanup never reads disableIAMReconciling (provider.go:336-344, role.go:223-279); the flag
    may be set after KKP created the role and profile, so their deletion stays required while KKP owns them."""
    for profile in ("kkp-2.29", "kkp-2.30", "kkp-2.31"):
        kkps = Target(cluster="abc", disable_iam_reconciling=True, control_plane_role="kubernetes-abc-control-plane",
                      instance_profile="kubernetes-abc", instance_profile_owned=True, control_plane_role_owned=True)
        assert actions(profile, kkps) >= OWNED_CLEANUP, profile
        admins = Target(cluster="abc", disable_iam_reconciling=True, control_plane_role="team-cp",
                        instance_profile="team-nodes", instance_profile_owned=False, control_plane_role_owned=False)
        assert not OWNED_CLEANUP & actions(profile, admins), profile


def test_instance_profile_creation_only_for_a_missing_or_kkp_owned_profile() -> None:
    """issue 31 (4): Create/Tag/AddRoleToInstanceProfile only for a missing or KKP-owned profile
    (instance_profile.go:60-92)."""
    made = {"iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile"}
    assert made <= actions("kkp-2.31", Target(cluster="abc", instance_profile="nodes", instance_profile_owned=True))
    assert not made & actions("kkp-2.31", Target(cluster="abc", instance_profile="nodes",
                                                  instance_profile_owned=False))
    unread = reqs_of("kkp-2.31", Target(cluster="abc", instance_profile="nodes",
                                         instance_profile_unread="iam:GetInstanceProfile failed (AccessDenied)"))
    create = unread[("iam:CreateInstanceProfile", f"arn:aws:iam::{ACCOUNT}:instance-profile/nodes")][0]
    assert create.undecided_because and "AccessDenied" in create.undecided_because


def test_delete_security_group_only_for_a_kkp_owned_group_and_undecided_when_unread() -> None:
    """issue 31 (7): KKP deletes the group only when it carries its ownership tag (security_group.go:303-309)."""
    group = f"arn:aws:ec2:eu-central-1:{ACCOUNT}:security-group/sg-1"
    mine = Target(cluster="abc", region="eu-central-1", security_group_id="sg-1", security_group_owned=True)
    assert ("ec2:DeleteSecurityGroup", group) in reqs_of("kkp-2.31", mine)
    admins = Target(cluster="abc", region="eu-central-1", security_group_id="sg-1", security_group_owned=False)
    assert ("ec2:DeleteSecurityGroup", group) not in reqs_of("kkp-2.31", admins)
    unread = Target(cluster="abc", region="eu-central-1", security_group_id="sg-1",
                    security_group_unread="ec2:DescribeSecurityGroups failed (AccessDenied)")
    [req] = reqs_of("kkp-2.31", unread)[("ec2:DeleteSecurityGroup", group)]
    assert req.undecided_because and "sg-1" in req.undecided_because


def test_documented_but_never_called_is_recommended_and_only_on_request() -> None:
    assert "sts:GetFederationToken" not in actions("kkp-2.31", severity=Severity.RECOMMENDED)
    asked = actions("kkp-2.31", severity=Severity.RECOMMENDED, include_on_request=True)
    assert {"sts:GetFederationToken", "iam:ListInstanceProfiles", "ec2:CreateVpc"} <= asked
    assert "ec2:DescribeInstanceTypeOfferings" not in actions("kkp-2.31"), "only the EKS credential calls it"


def test_conditional_features_are_recommended() -> None:
    recommended = actions("kkp-2.31", severity=Severity.RECOMMENDED)
    assert {"iam:CreateServiceLinkedRole", "kms:CreateGrant", "ec2:CancelSpotInstanceRequests"} <= recommended


def test_a_clusters_own_names_are_the_resources_asked_about() -> None:
    own = Target(cluster="abc", region="eu-central-1", control_plane_role="arn:aws:iam::111122223333:role/team/cp",
                 instance_profile="team-nodes", security_group_id="sg-0123", vpc_id="vpc-9")
    reqs = reqs_of("kkp-2.31", own)
    assert ("iam:PutRolePolicy", "arn:aws:iam::111122223333:role/team/cp") in reqs
    assert ("iam:GetInstanceProfile", "arn:aws:iam::111122223333:instance-profile/team-nodes") in reqs
    assert ("ec2:AuthorizeSecurityGroupIngress", "arn:aws:ec2:eu-central-1:111122223333:security-group/sg-0123") in reqs
    assert ("ec2:CreateSecurityGroup", "arn:aws:ec2:eu-central-1:111122223333:vpc/vpc-9") in reqs
    assert ("sts:AssumeRole", "arn:aws:iam::111122223333:role/team/cp") in reqs
    # a named role (not an ARN) is a role in the account KKP acts in
    named = reqs_of("kkp-2.31", Target(cluster="abc", control_plane_role="my-cp"))
    assert ("iam:PutRolePolicy", "arn:aws:iam::111122223333:role/my-cp") in named


def test_request_context_is_what_kkps_calls_carry() -> None:
    reqs = reqs_of("kkp-2.31", Target(cluster="abc", region="eu-central-1"))
    passrole = reqs[("iam:PassRole", "arn:aws:iam::111122223333:role/kubernetes-abc-worker")][0]
    assert passrole.context_dict() == {"aws:RequestedRegion": ["us-east-1"], "iam:PassedToService": ["ec2.amazonaws.com"]}
    on_instance = [r.context_dict() for r in reqs[("ec2:CreateTags", "arn:aws:ec2:eu-central-1:111122223333:instance/*")]]
    tag_keys = ["Name", "Machine-UID", "system/cluster", "system/project", "kubernetes.io/cluster/abc"]
    assert {"aws:RequestedRegion": ["eu-central-1"], "ec2:CreateAction": ["RunInstances"], "aws:TagKeys": tag_keys,
            "aws:RequestTag/kubernetes.io/cluster/abc": [""], "aws:RequestTag/system/cluster": ["abc"]} in on_instance, (
        "issue 31 (5): machine-controller's TagSpecifications (provider.go:703-719, KKP's aws.go:199-208)")
    assert {"aws:RequestedRegion": ["eu-central-1"], "aws:TagKeys": ["Machine-UID"]} in on_instance
    retag = [r.context_dict() for r in reqs[("ec2:CreateTags", "arn:aws:ec2:eu-central-1:111122223333:subnet/*")]]
    assert {"aws:RequestedRegion": ["eu-central-1"], "aws:TagKeys": ["kubernetes.io/cluster/abc"],
            "aws:RequestTag/kubernetes.io/cluster/abc": [""]} in retag, "KKP's re-tagging (tags.go:33-37,74-77)"
    untag = [r.context_dict() for r in reqs[("ec2:DeleteTags",
                                             "arn:aws:ec2:eu-central-1:111122223333:security-group/*")]]
    assert untag == [{"aws:RequestedRegion": ["eu-central-1"], "aws:TagKeys": ["kubernetes.io/cluster/abc"]}], (
        "DeleteTags reaches every group in the VPC carrying the cluster tag (tags.go:98-146)")
    for tagged in ("subnet/*", "route-table/*", "security-group/*"):
        plain = reqs[("ec2:CreateTags", f"arn:aws:ec2:eu-central-1:111122223333:{tagged}")]
        assert [r for r in plain if "ec2:CreateAction" not in r.context_dict()], (
            "KKP also tags existing subnets, route table and security group (tags.go:74)")
    role = reqs[("iam:CreateRole", "arn:aws:iam::111122223333:role/kubernetes-abc-control-plane")][0]
    assert role.context_dict()["aws:TagKeys"] == ["owned-by.kubermatic.k8c.io/abc"]
    regions = reqs[("ec2:DescribeRegions", "*")]
    assert {r.context_dict()["aws:RequestedRegion"][0] for r in regions} == {"eu-central-1", "us-east-2"}


def test_every_generated_requirement_names_the_kkp_code_that_calls_it() -> None:
    evidence = re.compile(r"^kubermatic/[a-z-]+@v[0-9][^:]*:[^:]+:\d+|^kubernetes/cloud-provider-aws@v")
    for name in ("kkp-2.29", "kkp-2.30", "kkp-2.31", "eks"):
        for req in load_profile(name).requirements(ACCOUNT, target=Target(cluster="c", assume_role_arn="arn:aws:iam::1:role/r")):
            assert req.evidence, (name, req.action)
            assert any(evidence.match(e) for e in req.evidence), (name, req.action, req.evidence)


def test_eks_profile_is_for_imported_eks_clusters() -> None:
    required = actions("eks")
    assert {"eks:ListClusters", "eks:DescribeCluster", "eks:UpdateClusterVersion", "eks:CreateNodegroup"} <= required
    wizard = actions("eks", severity=Severity.RECOMMENDED)
    assert {"iam:ListRoles", "iam:ListAttachedRolePolicies", "ec2:DescribeRegions", "ec2:DescribeSubnets",
            "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups", "ec2:DescribeInstanceTypeOfferings"} <= wizard
    assert "ec2:RunInstances" not in required
    polled = [r for r in load_profile("eks").requirements(ACCOUNT, region="eu-central-1")
              if r.action == "eks:DescribeCluster" and r.principal == KEYS]
    assert polled and polled[0].resource == f"arn:aws:eks:eu-central-1:{ACCOUNT}:cluster/*", (
        "the kubeconfig refresh calls DescribeCluster with the static keys (eks/provider.go:76-87)")
    status = [r for r in load_profile("eks").requirements(ACCOUNT, region="eu-central-1")
              if r.action == "eks:DescribeCluster" and r.principal == OPERATING]
    assert status and "static keys" not in status[0].why, (
        "issue 31 (5): the 5-minute status poll uses the assumed role (eks/provider.go:203-214)")


def test_custom_profile_with_unknown_action_names_the_closest() -> None:
    text = """
name: custom
features: {x: {severity: required}}
statements:
  - feature: x
    actions: [iam:PasRole, ec2:DescribeVpcs]
"""
    with pytest.raises(ProfileError, match="did you mean 'iam:PassRole'"):
        parse_profile_text(text, "custom.yaml")


@pytest.mark.parametrize(("text", "problem"), [
    ("name: [unclosed", "not valid YAML at line 1"),
    ("- a list", "must be a mapping"),
    ("name: x\nfeatures: {x: {severity: critical}}\nstatements: []", "severity must be required or recommended"),
    ("name: x\nfeatures: {}\nstatements: [{feature: y, actions: [ec2:DescribeVpcs]}]", "not declared"),
    ("name: x\nfeatures: {x: {}}\nstatements: [{feature: x, actions: ['ec2:Nothing*']}]", "matches no known action"),
    ("name: x\nfeatures: {x: {}}\nstatements: [{feature: x, actions: [ec2:DescribeVpcs], resources: ['{bogus}']}]",
     "unknown placeholder"),
    ("name: x\nfeatures: {x: {}}\nstatements: [{feature: x, actions: [ec2:DescribeVpcs], principal: root}]",
     "principal must be"),
    ("name: x\nfeatures: {x: {skippedWhen: always}}\nstatements: [{feature: x, actions: [ec2:DescribeVpcs]}]",
     "skippedWhen must be"),
])
def test_invalid_profiles_are_explained(text: str, problem: str) -> None:
    with pytest.raises(ProfileError, match=problem):
        parse_profile_text(text, "p.yaml")


def test_unknown_profile_name() -> None:
    with pytest.raises(ProfileError, match=r"use one of kkp, kkp-2\.31"):
        load_profile("kkp-2099")
    assert set(BUILTIN) >= {"kkp-2.29", "kkp-2.30", "kkp-2.31", "kkp-docs", "kkp-docs-2.22", "eks"}
    assert OPERATING != KEYS


def test_a_control_plane_role_arn_of_another_account_is_looked_up_by_name_in_the_acting_account() -> None:
    """KKP keeps only the role's name and path and asks IAM in the account it acts in (role.go:133-146); the CCM
    assumes the ARN as written (cloudconfig.go:41)."""
    target = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1",
                    control_plane_role="arn:aws:iam::999988887777:role/kkp/team-cp")
    reqs = load_profile("kkp-2.31").requirements(ACCOUNT, target=target)
    put = {r.resource for r in reqs if r.action == "iam:PutRolePolicy"}
    assert f"arn:aws:iam::{ACCOUNT}:role/kkp/team-cp" in put
    assume = {r.resource for r in reqs if r.action == "sts:AssumeRole"}
    assert assume == {"arn:aws:iam::999988887777:role/kkp/team-cp"}
