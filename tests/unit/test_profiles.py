import pytest

from credcheck.model import Severity
from credcheck.requirements.profiles import ProfileError, load_profile, parse_profile_text


def test_kkp_docs_is_the_documented_policy_every_action_required() -> None:
    reqs = load_profile("kkp-docs").requirements("111122223333")
    assert all(r.severity is Severity.REQUIRED for r in reqs)
    assert any(r.action == "iam:PassRole" and r.resource == "arn:aws:iam::111122223333:role/kubernetes-*" for r in reqs)
    assert not any(r.action in ("elasticloadbalancing:AddTags", "iam:TagInstanceProfile") for r in reqs)
    assert len(reqs) > 800


def test_kkp_severities_follow_kkps_code() -> None:
    reqs = {(r.action, r.resource): r for r in load_profile("kkp").requirements("111122223333", "aws-cn")}
    run = reqs[("ec2:RunInstances", "*")]
    assert run.severity is Severity.REQUIRED and run.features == ("machines",)
    assert reqs[("ec2:CreateVpc", "*")].severity is Severity.RECOMMENDED
    assert reqs[("sts:GetFederationToken", "*")].severity is Severity.RECOMMENDED
    tags = reqs[("ec2:CreateTags", "*")]
    assert set(tags.features) == {"cluster-provisioning", "machines", "load-balancers"}
    passrole = reqs[("iam:PassRole", "arn:aws-cn:iam::111122223333:role/kubernetes-*")]
    assert passrole.severity is Severity.REQUIRED
    assert ("elasticloadbalancing:AddTags", "*") in reqs
    assert reqs[("iam:TagInstanceProfile", "arn:aws-cn:iam::111122223333:instance-profile/kubernetes-*")]


def test_disable_iam_reconciling_drops_that_feature_only() -> None:
    reqs = load_profile("kkp").requirements("111122223333", skip_features=["iam-reconciling"])
    actions = {r.action for r in reqs if r.severity is Severity.REQUIRED}
    assert "iam:CreateRole" not in actions
    assert "iam:PassRole" in actions, "machines still pass the worker role"


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
])
def test_invalid_profiles_are_explained(text: str, problem: str) -> None:
    with pytest.raises(ProfileError, match=problem):
        parse_profile_text(text, "p.yaml")


def test_unknown_profile_name() -> None:
    with pytest.raises(ProfileError, match="use one of kkp, kkp-docs"):
        load_profile("kkp-2099")
