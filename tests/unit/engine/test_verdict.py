from typing import Any

from credcheck.engine.batches import plan, probe_resource, request_key
from credcheck.engine.model import KEYS, OPERATING, Outcome, Principal, Requirement, Severity, SimulationResult, Status
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck.engine.verdict import (
    MissingSimulationResult,
    TargetSummary,
    action_results,
    classify,
    decide,
    remediation,
)

PRINCIPAL = Principal("arn:aws:iam::1:user/kkp", "arn:aws:iam::1:user/kkp", "1", "aws", "user")
ROLE = "arn:aws:iam::1:role/kubernetes-*"
REGION = (("aws:RequestedRegion", ("eu-west-1",)),)


def req(action: str, resource: str = "*", severity: Severity = Severity.REQUIRED, feature: str = "machines",
        pattern: str | None = None, context: tuple = REGION, cluster: str | None = None) -> Requirement:  # type: ignore[type-arg]
    return Requirement(action, resource, severity, (feature,), pattern or action, context=context, cluster=cluster)


def sim(action: str, resource: str, decision: str, **kw: Any) -> SimulationResult:
    return SimulationResult(action, probe_resource(resource), decision, **kw)


def answered(reqs: list[Requirement], decision: str = "implicitDeny", **overrides: str) -> dict:  # type: ignore[type-arg]
    return {request_key(r): sim(r.action, r.resource, overrides.get(r.action, decision)) for r in reqs}


def test_classify_names_scp_and_boundary_before_generic_denies() -> None:
    assert classify(sim("a:B", "*", "allowed")) is Outcome.ALLOWED
    assert classify(sim("a:B", "*", "explicitDeny", allowed_by_organizations=False)) is Outcome.DENIED_BY_SCP
    assert classify(sim("a:B", "*", "implicitDeny", allowed_by_boundary=False)) is Outcome.DENIED_BY_BOUNDARY
    assert classify(sim("a:B", "*", "explicitDeny")) is Outcome.EXPLICIT_DENY
    assert classify(sim("a:B", "*", "implicitDeny", missing_context=("x",))) is Outcome.MISSING_CONTEXT
    assert classify(sim("a:B", "*", "implicitDeny")) is Outcome.IMPLICIT_DENY


def test_plan_groups_by_principal_resources_and_region() -> None:
    reqs = [req("ec2:RunInstances"), req("iam:PassRole", ROLE), req("iam:GetRole", ROLE), req("ec2:CreateTags")]
    batches = plan(reqs)
    assert [(b.resources, b.actions) for b in batches] == [
        (("*",), ("ec2:CreateTags", "ec2:RunInstances")),
        (("arn:aws:iam::1:role/kubernetes-credcheck-probe",), ("iam:GetRole", "iam:PassRole"))]
    assert {b.region for b in batches} == {"eu-west-1"}


def test_plain_and_tag_on_create_createtags_never_share_a_call() -> None:
    on_create = (*REGION, ("ec2:CreateAction", ("RunInstances",)))
    reqs = [req("ec2:CreateTags"), req("ec2:CreateTags", context=on_create), req("ec2:DescribeVpcs")]
    batches = plan(reqs)
    assert len(batches) == 2
    with_key = next(b for b in batches if dict(b.context).get("ec2:CreateAction"))
    assert request_key(reqs[1]) in with_key.answers
    assert request_key(reqs[0]) not in with_key.answers, "plain CreateTags must not ride with ec2:CreateAction"
    without = next(b for b in batches if not dict(b.context).get("ec2:CreateAction"))
    assert without.answers == (request_key(reqs[0]),)


def test_a_key_only_rides_along_with_actions_it_never_applies_to() -> None:
    passed = (*REGION, ("iam:PassedToService", ("ec2.amazonaws.com",)))
    reqs = [req("iam:PassRole", ROLE, context=passed), req("iam:GetRole", ROLE)]
    assert len(plan(reqs)) == 1, "GetRole is never sent with iam:PassedToService: one call serves both"
    twice = [*reqs, req("iam:PassRole", "arn:aws:iam::1:role/other")]  # a PassRole KKP sends without the key
    assert len(plan(twice)) == 2


def test_keys_and_operating_identities_are_simulated_separately() -> None:
    a = req("sts:AssumeRole", ROLE)
    b = Requirement("iam:GetRole", ROLE, Severity.REQUIRED, ("x",), "iam:GetRole", REGION, KEYS)
    assert {p.principal for p in plan([a, b])} == {OPERATING, KEYS}


def test_kkp_231_one_cluster_needs_nine_simulate_calls() -> None:
    """Nine request contexts that can't share a call: the unscoped calls, DescribeRegions pinned to us-east-2, IAM,
    and the six tag sets KKP's ec2:CreateTags/DeleteTags requests carry (issue 31: aws:TagKeys and aws:RequestTag):
    tag-on-create of the instance (machine-controller's tags) and of the security group (the ownership tag), the
    re-tagging of the existing subnets, route table and security group (and DeleteTags of that tag), the legacy
    ownership back-fill, machine-controller's Machine-UID re-tag, and the deletion of a KKP-owned security group."""
    reqs = load_profile("kkp-2.31").requirements("1", target=Target(cluster="c", region="eu-central-1"),
                                                 keys_are_operating=True)
    batches = plan(reqs)
    assert len([b for b in batches if b.principal == OPERATING]) == 9
    # the CCM's calls as the control-plane role (assume-role mode): five request contexts (describes, untagged
    # creates, resources tagged owned, the nodes' group tagged with an empty value (issue 31), the service-linked role)
    assert len([b for b in batches if b.principal.startswith("controlPlaneRole:")]) == 5
    assert sum(len(b.actions) * len(b.resources) for b in batches if b.principal == OPERATING) < 300  # every type AWS requires
    assert all(len(b.actions) * len(b.resources) <= 1000 for b in batches)


def test_verdict_names_broken_features_and_remediates() -> None:
    reqs = [req("ec2:RunInstances"), req("iam:PassRole", ROLE), req("ec2:CreateVpc", severity=Severity.RECOMMENDED,
                                                                    feature="ec2-full-access", pattern="ec2:*")]
    verdict = decide(PRINCIPAL, reqs, answered(reqs, **{"ec2:RunInstances": "allowed"}))
    assert verdict.status is Status.INSUFFICIENT
    assert verdict.broken_features == {"machines": ("iam:PassRole",)}
    assert "machines: missing iam:PassRole" in verdict.message
    assert verdict.remediation == {"Version": "2012-10-17", "Statement": [
        {"Sid": "CredcheckGrant1", "Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE}]}


def test_missing_context_is_unknown_never_missing_nor_sufficient() -> None:
    reqs = [req("ec2:RunInstances"), req("iam:PassRole", ROLE)]
    simulated = answered(reqs, "allowed")
    simulated[request_key(reqs[1])] = sim("iam:PassRole", ROLE, "implicitDeny", missing_context=("aws:SourceVpc",))
    verdict = decide(PRINCIPAL, reqs, simulated)
    assert verdict.status is Status.UNKNOWN and verdict.reason == "UndecidedByAWS"
    assert "aws:SourceVpc" in verdict.message and "iam:PassRole" in verdict.message
    assert verdict.tally().missing_required == 0 and verdict.tally().undecided == 1
    assert verdict.remediation is None
    simulated[request_key(reqs[0])] = sim("ec2:RunInstances", "*", "implicitDeny")
    worse = decide(PRINCIPAL, reqs, simulated)
    assert worse.status is Status.INSUFFICIENT and worse.tally().missing_required == 1
    assert any("aws:SourceVpc" in f for f in worse.findings)


def test_per_cluster_verdicts_say_which_cluster_breaks() -> None:
    reqs = [req("iam:PassRole", "arn:aws:iam::1:role/kubernetes-a-worker", cluster="a"),
            req("iam:PassRole", "arn:aws:iam::1:role/kubernetes-b-worker", cluster="b")]
    simulated = answered(reqs, "allowed")
    simulated[request_key(reqs[1])] = sim("iam:PassRole", reqs[1].resource, "implicitDeny")
    verdict = decide(PRINCIPAL, reqs, simulated, targets=[TargetSummary("a", "eu-central-1"),
                                                          TargetSummary("b", "us-east-1")])
    assert [(c.cluster, c.status, c.missing) for c in verdict.clusters] == [
        ("a", Status.SUFFICIENT, ()), ("b", Status.INSUFFICIENT, ("iam:PassRole",))]
    assert "Cluster(s) b" in verdict.message


def test_a_trust_policy_problem_fails_an_otherwise_sufficient_check() -> None:
    reqs = [req("ec2:RunInstances", cluster="a")]
    verdict = decide(PRINCIPAL, reqs, answered(reqs, "allowed"),
                     targets=[TargetSummary("a", "eu-central-1", trust_problem="trust does not admit")])
    assert (verdict.status, verdict.reason) == (Status.INSUFFICIENT, "ControlPlaneRoleTrustMissing")
    assert verdict.clusters[0].status is Status.INSUFFICIENT


def test_a_missing_simulation_result_is_an_error_not_a_verdict() -> None:
    reqs = [req("ec2:RunInstances")]
    try:
        decide(PRINCIPAL, reqs, {})
    except MissingSimulationResult as err:
        assert "ec2:RunInstances" in str(err)
    else:
        raise AssertionError("a missing result must not be decided")


def test_recommended_gaps_never_fail_a_check() -> None:
    reqs = [req("ec2:RunInstances"), req("ec2:CreateVpc", severity=Severity.RECOMMENDED, pattern="ec2:*")]
    verdict = decide(PRINCIPAL, reqs, answered(reqs, **{"ec2:RunInstances": "allowed"}))
    assert verdict.status is Status.SUFFICIENT
    assert "1 recommended action(s) denied" in verdict.message
    assert len(verdict.missing_recommended) == 1


def test_remediation_keeps_a_wildcard_when_all_of_it_is_missing() -> None:
    reqs = [req(a, pattern="ec2:*") for a in ("ec2:A", "ec2:B")] + [req("elasticloadbalancing:X")]
    policy = remediation(action_results(reqs, answered(reqs)))
    assert policy is not None
    assert policy["Statement"] == [{"Sid": "CredcheckGrant1", "Effect": "Allow",
                                    "Action": ["ec2:*", "elasticloadbalancing:X"], "Resource": "*"}]


def test_remediation_lists_actions_when_only_part_of_a_wildcard_is_missing() -> None:
    reqs = [req(a, pattern="ec2:*") for a in ("ec2:A", "ec2:B")]
    policy = remediation(action_results(reqs, answered(reqs, **{"ec2:A": "allowed"})))
    assert policy is not None and policy["Statement"][0]["Action"] == "ec2:B"  # type: ignore[index]
