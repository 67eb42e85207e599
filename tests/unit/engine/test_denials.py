"""CloudTrail events to refused calls, and where AWS and the simulation disagree (plain values)."""

import json

from credcheck.engine.denials import aggregate, denial_of, disagreements
from credcheck.engine.model import ActionResult, ObservedDenials, Outcome, Requirement, Severity


def entry(code: str | None, *, source: str = "ec2.amazonaws.com", name: str = "RunInstances",
          issuer: str | None = None, when: str = "2026-11-30T01:00:00Z") -> dict[str, str]:
    rec: dict[str, object] = {"eventSource": source, "eventName": name, "awsRegion": "eu-central-1",
                              "eventTime": when, "requestParameters": {"userData": "secret"}}
    if code:
        rec["errorCode"] = code
    if issuer:
        rec["userIdentity"] = {"sessionContext": {"sessionIssuer": {"arn": issuer}}}
    return {"CloudTrailEvent": json.dumps(rec)}


def test_only_refusals_are_kept_with_action_region_code_and_time_never_parameters() -> None:
    assert denial_of(entry("Client.UnauthorizedOperation")) == (
        "ec2:RunInstances", "eu-central-1", "Client.UnauthorizedOperation", "2026-11-30T01:00:00Z")
    assert denial_of(entry("AccessDenied", source="elasticloadbalancing.amazonaws.com", name="CreateLoadBalancer")
                     )[0] == "elasticloadbalancing:CreateLoadBalancer"  # type: ignore[index]
    assert denial_of(entry(None)) is None
    assert denial_of(entry("InvalidParameterValue")) is None, "a failure that is not a refusal"
    assert denial_of({"CloudTrailEvent": "not json"}) is None


def test_a_roles_refusals_are_those_of_its_sessions() -> None:
    role = "arn:aws:iam::111122223333:role/kubernetes-abc-control-plane"
    assert denial_of(entry("AccessDenied", issuer=role), role) is not None
    assert denial_of(entry("AccessDenied", issuer="arn:aws:iam::111122223333:role/other"), role) is None


def test_counts_and_last_seen_per_action_region_and_code() -> None:
    refused = [("ec2:RunInstances", "eu-central-1", "Client.UnauthorizedOperation", t)
               for t in ("2026-11-30T01:00:00Z", "2026-11-30T03:00:00Z", "2026-11-30T02:00:00Z")]
    (one,) = aggregate(refused)
    assert (one.count, one.last_seen) == (3, "2026-11-30T03:00:00Z")


def test_a_refusal_of_an_allowed_action_is_a_disagreement_and_of_a_missing_one_is_not() -> None:
    def result(action: str, outcome: Outcome) -> ActionResult:
        return ActionResult(Requirement(action, "*", Severity.REQUIRED, ("machines",), action), outcome)

    observed = ObservedDenials("Observed", "", 24, ("eu-central-1",), aggregate([
        ("ec2:RunInstances", "eu-central-1", "Client.UnauthorizedOperation", "t1"),
        ("ec2:TerminateInstances", "eu-central-1", "Client.UnauthorizedOperation", "t2")]))
    found = disagreements(observed, [result("ec2:RunInstances", Outcome.IMPLICIT_DENY),
                                     result("ec2:TerminateInstances", Outcome.ALLOWED)])
    assert len(found) == 1 and "AWS refused ec2:TerminateInstances 1 time(s)" in found[0]
    assert disagreements(ObservedDenials("NotPermitted", "", 24, ()), []) == ()
