"""Issue 31's round trips on the test ground: the verdicts a third read of KKP's code changed.

Each test states what KKP's code does (repository@tag:path:line) and asserts a hand-written expectation of the
verdict: a grant that passed before and must fail now, one that failed and must pass now, and the request context
KKP sends. IAM's answers come from the test ground's simulate extension; trust policies are judged by AWS's
documented condition operators, written out here as the expected answer.
"""

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from policy_edits import doc

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import CheckOptions, run_check
from credcheck.engine.model import Credential, Outcome, Status, role_of
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck_testground.aws import ACCOUNT, Keys, LocalAWS

pytestmark = pytest.mark.aws
AWS = AWSClients(honour_configured_endpoints=True)
AUDITORS = AuditorCache()
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
OWNED_BY = "owned-by.kubermatic.k8c.io/{}"  # kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/provider.go:36


@pytest.fixture(autouse=True)
def _endpoint(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def all_but(*actions: str) -> dict[str, Any]:
    return {"Effect": "Allow", "NotAction": list(actions), "Resource": "*"}


def check(keys: Keys, profile: str, *targets: Target, **kwargs: Any) -> Any:
    return run_check(Credential(keys.access_key_id, keys.secret_access_key),
                     CheckOptions(load_profile(profile), region="eu-central-1", aws=AWS, auditor_cache=AUDITORS,
                                  targets=targets, **kwargs))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


# --- (1) the nodes' security group carries the cluster tag with an EMPTY value ---------------------------------------
# cloud-provider-aws@v1.35.2 pkg/providers/v1/aws.go:2900-2915,2937-3040 finds the nodes' group by the tag KEY
# (tags.go:137-155) and authorizes/revokes ingress on it; KKP tags it kubernetes.io/cluster/<id> = ""
# (kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/tags.go:33-37,74-77).

def _ingress(condition: dict[str, Any]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            "Resource": "*", "Condition": condition}


def test_ingress_granted_only_on_groups_tagged_owned_is_not_ready_the_nodes_group_is_tagged_empty(
        local_aws: LocalAWS) -> None:
    direct = Target(cluster=unique("c"), region="eu-central-1", kubernetes_version="1.31.2")  # KKP 2.29: the keys
    tag = f"ec2:ResourceTag/kubernetes.io/cluster/{direct.cluster}"
    owned = _ingress({"StringEqualsIfExists": {tag: "owned"}})  # KKP's own provisioning call carries no tag
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, all_but("ec2:AuthorizeSecurityGroupIngress",
                                                                      "ec2:RevokeSecurityGroupIngress"), owned)])
    verdict = check(keys, "kkp-2.29", direct)
    assert verdict.status is Status.INSUFFICIENT, verdict.message
    assert verdict.broken_features == {"cloud-controller": ("ec2:AuthorizeSecurityGroupIngress",
                                                            "ec2:RevokeSecurityGroupIngress")}
    denied = [r for r in verdict.missing_required if r.requirement.action == "ec2:AuthorizeSecurityGroupIngress"]
    assert [r.requirement.context_dict()[tag] for r in denied] == [[""]], (
        "denied on the nodes' group, tagged with an empty value")
    present = _ingress({"StringEqualsIfExists": {tag: ["owned", ""]}})
    _, by_key = local_aws.create_user(policies=[doc(SIMULATE, all_but("ec2:AuthorizeSecurityGroupIngress",
                                                                        "ec2:RevokeSecurityGroupIngress"), present)])
    ready = check(by_key, "kkp-2.29", direct)
    assert ready.status is Status.SUFFICIENT, "a grant that admits the empty value too is enough"


# --- (2) cleanup of what KKP owns is gated on ownership, not on disableIAMReconciling ---------------------------------
# kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/provider.go:336-344, instance_profile.go:143-167,
# role.go:223-279 never read the flag; validation/cluster.go:907-913 lets it be set on a Cluster whose role and profile
# KKP created (it only requires their names, which KKP filled in).

def _kkp_made(local_aws: LocalAWS, cluster: str, *, owned: bool) -> Target:
    iam = local_aws.client("iam")
    tags = [{"Key": OWNED_BY.format(cluster), "Value": ""}] if owned else []
    role, profile = f"kubernetes-{cluster}-control-plane", f"kubernetes-{cluster}"
    iam.create_role(RoleName=role, Tags=tags, AssumeRolePolicyDocument=json.dumps(doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})))
    iam.create_role(RoleName=f"kubernetes-{cluster}-worker", Tags=tags, AssumeRolePolicyDocument=json.dumps(doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})))
    iam.create_instance_profile(InstanceProfileName=profile, Tags=tags)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=f"kubernetes-{cluster}-worker")
    return Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.31.2", disable_iam_reconciling=True,
                  control_plane_role=role, instance_profile=profile)


def test_disable_iam_reconciling_set_after_kkp_made_the_role_and_profile_still_needs_their_deletion(
        local_aws: LocalAWS) -> None:
    deletion = ("iam:DeleteRole", "iam:DeleteInstanceProfile")
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, all_but(*deletion))])
    kkps = _kkp_made(local_aws, unique("k"), owned=True)
    verdict = check(keys, "kkp-2.29", kkps)
    assert verdict.status is Status.INSUFFICIENT, verdict.message
    assert verdict.broken_features == {"cluster-deletion-owned": ("iam:DeleteInstanceProfile", "iam:DeleteRole")}
    admins = _kkp_made(local_aws, unique("a"), owned=False)
    assert (theirs := check(keys, "kkp-2.29", admins)).status is Status.SUFFICIENT, theirs.message
    assert theirs.aws_calls["iam:GetRole"] == 1, "the role's tags are read as KKP reads them (role.go:213,223)"


# --- (3) KKP 2.29 on Kubernetes 1.33/1.34: CCM v1.33.0 needs the role for some instance families --------------------
# kubernetes/cloud-provider-aws@v1.33.0:pkg/providers/v1/instances_v2.go:87-93, pkg/resourcemanagers/topology.go:48,
# 96-120: a refused AssumeRole is STS AccessDenied (not UnauthorizedOperation) and fails node initialisation for
# instance types matching ^(hpc|trn|p|inf)[0-9]+; v1.32.1 swallows it (instances_v2.go:86-90).

def test_kkp_2_29_on_kubernetes_1_33_without_the_assume_role_is_a_finding_naming_the_instance_families(
        local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, all_but("sts:AssumeRole"))])
    hybrid = check(keys, "kkp-2.29", Target(cluster=unique("h"), region="eu-central-1", kubernetes_version="1.33.4"))
    assert hybrid.status is Status.SUFFICIENT, "credcheck can't see instance types: never a failure"
    [finding] = [f for f in hybrid.findings if "instance types" in f]
    assert "v1.33.0" in finding and "^(hpc|trn|p|inf)[0-9]+" in finding and "hpc, trn, p and inf" in finding
    assert "does not allow it" in finding
    logged = check(keys, "kkp-2.29", Target(cluster=unique("l"), region="eu-central-1", kubernetes_version="1.32.3"))
    assert not [f for f in logged.findings if "instance types" in f], "v1.32.1 only logs the refusal"


# --- (4) Create/Tag/AddRoleToInstanceProfile: only for a missing or KKP-owned profile --------------------------------
# kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/instance_profile.go:60-92,100-124

def test_an_admins_instance_profile_needs_no_instance_profile_creation(local_aws: LocalAWS) -> None:
    made = ("iam:CreateInstanceProfile", "iam:TagInstanceProfile", "iam:AddRoleToInstanceProfile")
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, all_but(*made))])
    iam = local_aws.client("iam")
    cluster, name = unique("p"), unique("team-nodes-")
    iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})))
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=f"{name}-role")
    admins = Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.34.1", instance_profile=name)
    assert (verdict := check(keys, "kkp-2.31", admins)).status is Status.SUFFICIENT, verdict.message
    missing = replace(admins, instance_profile=unique("not-yet-"))  # KKP creates it, with its tag
    verdict = check(keys, "kkp-2.31", missing)
    assert verdict.status is Status.INSUFFICIENT
    assert set(verdict.broken_features["iam-reconciling"]) == set(made)


# --- (5) the request context KKP sends ---------------------------------------------------------------------------------
# kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/tags.go:33-37,74-77 (re-tagging: kubernetes.io/cluster/<id> = ""),
# tags.go:98-146 (DeleteTags of that key on every tagged group in the VPC)

def test_retagging_carries_the_cluster_tag_key_with_an_empty_value(local_aws: LocalAWS) -> None:
    cluster = unique("t")
    tag = f"kubernetes.io/cluster/{cluster}"
    exact = {"Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:DeleteTags"], "Resource": "*", "Condition": {
        "ForAllValues:StringEquals": {"aws:TagKeys": [tag, OWNED_BY.format(cluster), "Name", "Machine-UID",
                                                      "system/cluster", "system/project"]},
        "Null": {"aws:TagKeys": "false"}}}
    target = Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.34.1")
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, all_but("ec2:CreateTags", "ec2:DeleteTags"), exact)])
    assert (verdict := check(keys, "kkp-2.31", target)).status is Status.SUFFICIENT, verdict.message
    valued = {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
              "Condition": {"StringEquals": {f"aws:RequestTag/{tag}": "owned"}}}
    _, owned_only = local_aws.create_user(policies=[doc(SIMULATE, all_but("ec2:CreateTags"), valued)])
    verdict = check(owned_only, "kkp-2.31", target)
    assert verdict.status is Status.INSUFFICIENT, "KKP's request carries the value \"\", not owned"
    kinds = {r.requirement.resource.rsplit(":", 1)[-1] for r in verdict.missing_required
             if role_of(r.requirement.principal) is None}
    assert {"subnet/*", "route-table/*"} <= kinds
    assert all(r.outcome is Outcome.IMPLICIT_DENY for r in verdict.missing_required)


# --- (6) a trust-policy condition credcheck cannot know: Unknown, then decided from the seed's egress ------------------
# AWS's IpAddress operator on aws:SourceIp (IAM User Guide, "Condition operators"; "AWS global condition context keys")

def test_a_source_ip_trust_condition_is_unknown_until_the_seeds_egress_is_given(local_aws: LocalAWS) -> None:
    user_arn, keys = local_aws.create_user(policies=[doc(SIMULATE, EVERYTHING)])
    cluster = unique("s")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole",
                 "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/28"}}})
    local_aws.client("iam").create_role(RoleName=f"kubernetes-{cluster}-control-plane",
                                        AssumeRolePolicyDocument=json.dumps(trust))
    target = Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.34.1")
    unknown = check(keys, "kkp-2.31", target)
    assert (unknown.status, unknown.reason) == (Status.UNKNOWN, "ControlPlaneRoleTrustUndecided"), unknown.message
    assert "aws:SourceIp" in unknown.message and unknown.clusters[0].status is Status.UNKNOWN
    inside = check(keys, "kkp-2.31", target, seed_egress=("203.0.113.5", "203.0.113.6/31"))
    assert inside.status is Status.SUFFICIENT, inside.message
    outside = check(keys, "kkp-2.31", target, seed_egress=("198.51.100.7",))
    assert (outside.status, outside.reason) == (Status.INSUFFICIENT, "ControlPlaneRoleTrustMissing")
    assert user_arn in outside.message


# --- (7) DeleteSecurityGroup only for a KKP-owned group -----------------------------------------------------------------
# kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/security_group.go:289-309 (DescribeSecurityGroups, then the
# ownership tag decides)

def test_an_admins_security_group_needs_no_delete_security_group(local_aws: LocalAWS) -> None:
    ec2 = local_aws.client("ec2", region="eu-central-1")
    vpc = ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"]
    cluster = unique("g")
    admins = ec2.create_security_group(GroupName=unique("team-"), Description="the admin's", VpcId=vpc)["GroupId"]
    kkps = ec2.create_security_group(GroupName=f"kubernetes-{cluster}", Description="KKP's", VpcId=vpc,
                                     TagSpecifications=[{"ResourceType": "security-group", "Tags": [
                                         {"Key": OWNED_BY.format(cluster), "Value": ""}]}])["GroupId"]
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, all_but("ec2:DeleteSecurityGroup"))])
    theirs = Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.34.1", security_group_id=admins,
                    vpc_id=vpc)
    verdict = check(keys, "kkp-2.31", theirs)
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.aws_calls["ec2:DescribeSecurityGroups"] == 1
    ours = check(keys, "kkp-2.31", replace(theirs, security_group_id=kkps))
    assert ours.status is Status.INSUFFICIENT
    assert ours.broken_features == {"cluster-deletion": ("ec2:DeleteSecurityGroup",)}


# --- a KKP version no profile covers -----------------------------------------------------------------------------------
# a Seed's status.versions.kubermatic (kubermatic/kubermatic@v2.31.0:sdk/apis/kubermatic/v1/datacenter.go:249,259-263)

def test_check_warns_when_the_seed_reports_a_kkp_version_no_profile_covers(
        local_aws: LocalAWS, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from credcheck.cli.main import main  # noqa: PLC0415 - the CLI's own output is what is asserted
    from credcheck_testground import kkp  # noqa: PLC0415

    _, keys = local_aws.create_user(policies=[doc(SIMULATE, EVERYTHING)])
    seed = {**kkp.seed(), "status": {"versions": {"kubermatic": "v2.32.1"}}}
    (tmp_path / "seed.yaml").write_text(json.dumps(seed))
    (tmp_path / "cluster.yaml").write_text(json.dumps(kkp.cluster(unique("v"), "credential-aws-x")))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_access_key)
    main(["check", "--cluster", str(tmp_path / "cluster.yaml"), "--seed", str(tmp_path / "seed.yaml"),
          "--output", "json"])
    verdict = json.loads(capsys.readouterr().out)
    assert any("Seed kubermatic reports KKP v2.32.1, which no profile covers" in f for f in verdict["findings"]), (
        verdict["findings"])


# --- (5) the EKS profile asks about the EKS cluster KKP manages ---------------------------------------------------------
# kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/eks/provider.go:203-214 (DescribeCluster of cloudSpec.eks.name in
# cloudSpec.eks.region); discovery makes that name and region the check's cluster entry

def test_an_eks_grant_scoped_to_the_imported_cluster_is_ready_for_that_cluster(local_aws: LocalAWS) -> None:
    name = unique("prod-eks-")
    eks = f"arn:aws:eks:eu-west-1:{ACCOUNT}"
    scoped = {"Effect": "Allow", "Action": "eks:*", "Resource": [f"{eks}:cluster/{name}",
                                                                 f"{eks}:nodegroup/{name}/*/*"]}
    listing = {"Effect": "Allow", "Action": ["eks:ListClusters", "iam:PassRole", "sts:GetCallerIdentity"],
               "Resource": "*"}
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, listing, scoped)])
    imported = check(keys, "eks", Target(cluster=name, region="eu-west-1"))
    assert imported.status is Status.SUFFICIENT, imported.message
    asked = {r.requirement.resource for r in imported.results if r.requirement.action == "eks:DescribeCluster"}
    assert asked == {f"{eks}:cluster/{name}"}
    unnamed = check(keys, "eks")
    assert unnamed.status is Status.INSUFFICIENT, "without the name, cluster/* is asked: the scoped grant fails"


def test_a_named_control_plane_role_is_read_once_for_its_ownership_and_its_trust(local_aws: LocalAWS) -> None:
    """KKP fills in roleARN: the role's tags (ownership) and trust policy come from one iam:GetRole."""
    _, keys = local_aws.create_user(policies=[doc(SIMULATE, EVERYTHING)])
    cluster = unique("r")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    local_aws.client("iam").create_role(RoleName=f"kubernetes-{cluster}-control-plane",
                                        AssumeRolePolicyDocument=json.dumps(trust),
                                        Tags=[{"Key": OWNED_BY.format(cluster), "Value": ""}])
    named = Target(cluster=cluster, region="eu-central-1", kubernetes_version="1.34.1",
                   control_plane_role=f"arn:aws:iam::{ACCOUNT}:role/kubernetes-{cluster}-control-plane")
    verdict = check(keys, "kkp-2.31", named)
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.aws_calls["iam:GetRole"] == 1
    assert "iam:DeleteRole" in {r.requirement.action for r in verdict.results}, "KKP owns it: its deletion is asked"
