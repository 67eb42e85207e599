from credcheck.model import Outcome, Principal, Requirement, Severity, SimulationResult, Status
from credcheck.plan import plan, probe_resource
from credcheck.verdict import action_results, classify, decide, remediation

PRINCIPAL = Principal("arn:aws:iam::1:user/kkp", "arn:aws:iam::1:user/kkp", "1", "aws", "user")
ROLE = "arn:aws:iam::1:role/kubernetes-*"


def req(action: str, resource: str = "*", severity: Severity = Severity.REQUIRED, feature: str = "machines",
        pattern: str | None = None) -> Requirement:
    return Requirement(action, resource, severity, (feature,), pattern or action)


def sim(action: str, resource: str, decision: str, **kw: object) -> SimulationResult:
    return SimulationResult(action, probe_resource(resource), decision, **kw)  # type: ignore[arg-type]


def test_classify_names_scp_and_boundary_before_generic_denies() -> None:
    assert classify(sim("a:B", "*", "allowed")) is Outcome.ALLOWED
    assert classify(sim("a:B", "*", "explicitDeny", allowed_by_organizations=False)) is Outcome.DENIED_BY_SCP
    assert classify(sim("a:B", "*", "implicitDeny", allowed_by_boundary=False)) is Outcome.DENIED_BY_BOUNDARY
    assert classify(sim("a:B", "*", "explicitDeny")) is Outcome.EXPLICIT_DENY
    assert classify(sim("a:B", "*", "implicitDeny", missing_context=("x",))) is Outcome.MISSING_CONTEXT
    assert classify(sim("a:B", "*", "implicitDeny")) is Outcome.IMPLICIT_DENY


def test_plan_groups_by_probe_resource() -> None:
    reqs = [req("ec2:RunInstances"), req("iam:PassRole", ROLE), req("iam:GetRole", ROLE), req("ec2:CreateTags")]
    batches = plan(reqs, "eu-west-1")
    assert [(b.resource, b.actions) for b in batches] == [
        ("*", ("ec2:RunInstances", "ec2:CreateTags")),
        ("arn:aws:iam::1:role/kubernetes-credcheck-probe", ("iam:PassRole", "iam:GetRole"))]
    assert {b.region for b in batches} == {"eu-west-1"}


def test_verdict_names_broken_features_and_remediates() -> None:
    reqs = [req("ec2:RunInstances"), req("iam:PassRole", ROLE), req("ec2:CreateVpc", severity=Severity.RECOMMENDED,
                                                                    feature="ec2-full-access", pattern="ec2:*")]
    simulated = {(r.action, probe_resource(r.resource)): sim(r.action, r.resource, "implicitDeny") for r in reqs}
    simulated[("ec2:RunInstances", "*")] = sim("ec2:RunInstances", "*", "allowed")
    verdict = decide(PRINCIPAL, reqs, simulated)
    assert verdict.status is Status.INSUFFICIENT
    assert verdict.broken_features == {"machines": ("iam:PassRole",)}
    assert "machines: missing iam:PassRole" in verdict.message
    assert verdict.remediation == {"Version": "2012-10-17", "Statement": [
        {"Sid": "CredcheckGrant1", "Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE}]}


def test_recommended_gaps_never_fail_a_check() -> None:
    reqs = [req("ec2:RunInstances"), req("ec2:CreateVpc", severity=Severity.RECOMMENDED, pattern="ec2:*")]
    simulated = {("ec2:RunInstances", "*"): sim("ec2:RunInstances", "*", "allowed"),
                 ("ec2:CreateVpc", "*"): sim("ec2:CreateVpc", "*", "implicitDeny")}
    verdict = decide(PRINCIPAL, reqs, simulated)
    assert verdict.status is Status.SUFFICIENT
    assert "1 recommended action(s) denied" in verdict.message
    assert len(verdict.missing_recommended) == 1


def test_remediation_keeps_a_wildcard_when_all_of_it_is_missing() -> None:
    reqs = [req(a, pattern="ec2:*") for a in ("ec2:A", "ec2:B")] + [req("elasticloadbalancing:X")]
    results = action_results(reqs, {(r.action, "*"): sim(r.action, "*", "implicitDeny") for r in reqs})
    policy = remediation(results)
    assert policy is not None
    assert policy["Statement"] == [{"Sid": "CredcheckGrant1", "Effect": "Allow",
                                    "Action": ["ec2:*", "elasticloadbalancing:X"], "Resource": "*"}]


def test_remediation_lists_actions_when_only_part_of_a_wildcard_is_missing() -> None:
    reqs = [req(a, pattern="ec2:*") for a in ("ec2:A", "ec2:B")]
    simulated = {("ec2:A", "*"): sim("ec2:A", "*", "allowed"), ("ec2:B", "*"): sim("ec2:B", "*", "implicitDeny")}
    policy = remediation(action_results(reqs, simulated))
    assert policy is not None and policy["Statement"][0]["Action"] == "ec2:B"  # type: ignore[index]
