"""Excess access: the high-risk list stays outside every KKP profile, rides in the check's own calls, and is
reported only for what AWS allowed."""

import fnmatch

import pytest

from credcheck.engine import excess
from credcheck.engine.batches import plan, request_key
from credcheck.engine.model import Principal, SimulationResult
from credcheck.engine.requirements.profiles import BUILTIN, load_profile
from credcheck.engine.target import Target

PRINCIPAL = Principal("arn:aws:iam::123456789012:user/kkp", "arn:aws:iam::123456789012:user/kkp", "123456789012",
                      "aws", "user")
CLUSTER = Target(cluster="abc123", region="eu-central-1")


def _profile_requirements(name: str) -> list:  # type: ignore[type-arg]
    return list(load_profile(name).requirements("123456789012", "aws", target=CLUSTER, region="eu-central-1",
                                                include_on_request=True, keys_are_operating=True))


@pytest.mark.parametrize("name", BUILTIN)
def test_no_high_risk_question_is_something_a_kkp_profile_needs(name: str) -> None:
    """A KKP credential that has exactly what its profile asks never gets the excess finding."""
    needed = _profile_requirements(name)
    for asked in excess.requirements(PRINCIPAL):
        clash = [r for r in needed if r.action.lower() == asked.action.lower()
                 and fnmatch.fnmatchcase(asked.resource, r.resource)]
        assert not clash, f"{asked.action} on {asked.resource} is what {name} needs: {clash[0]}"


def test_the_list_names_the_documented_high_risk_actions() -> None:
    actions = {r.action for r in excess.HIGH_RISK}
    assert {"iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreatePolicyVersion",
            "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AttachRolePolicy", "iam:PutRolePolicy",
            "cloudtrail:DeleteTrail", "kms:ScheduleKeyDeletion"} <= actions
    assert any(a.startswith("organizations:") for a in actions) and any(a.startswith("account:") for a in actions)
    role = next(r for r in excess.requirements(PRINCIPAL) if r.action == "iam:PutRolePolicy")
    assert role.resource == "arn:aws:iam::123456789012:role/credcheck-not-kkp", "not one of KKP's kubernetes-* roles"


def test_the_questions_cost_at_most_one_more_simulate_call() -> None:
    needed = _profile_requirements("kkp")
    without = plan(needed)
    with_excess = plan(needed + excess.requirements(PRINCIPAL))
    assert len(with_excess) - len(without) <= 1
    asked = {request_key(r) for r in excess.requirements(PRINCIPAL)}
    planned = {key for batch in with_excess for key in batch.answers}
    assert asked <= planned, "every question is in some call"


def _result(req, decision: str, by: tuple[str, ...] = ()) -> SimulationResult:  # type: ignore[no-untyped-def]
    return SimulationResult(req.action, req.resource, decision, matched_statements=by)


def test_only_allowed_actions_are_reported_with_the_statement_that_allows_them() -> None:
    asked = excess.requirements(PRINCIPAL)
    simulated = {request_key(r): _result(r, "implicitDeny") for r in asked}
    create_user = next(r for r in asked if r.action == "iam:CreateUser")
    simulated[request_key(create_user)] = _result(create_user, "allowed", ("IAMFullAccess (IAM Policy)",))
    found = excess.found(asked, simulated, {"Version": "2012-10-17", "Statement": []})
    assert [(e.action, e.allowed_by) for e in found.found] == [("iam:CreateUser", ("IAMFullAccess (IAM Policy)",))]
    assert found.replacement is not None
    text = excess.finding(found)
    assert text is not None and text.startswith("this credential can do more than KKP needs: iam:CreateUser")
    assert "IAMFullAccess" in text and "requirements show" in text


def test_everything_allowed_is_reported_as_star_on_star() -> None:
    asked = excess.requirements(PRINCIPAL)
    simulated = {request_key(r): _result(r, "allowed", ("AdministratorAccess (IAM Policy)",)) for r in asked}
    found = excess.found(asked, simulated)
    assert found.found[-1].action == "*" and len(found.found) == len(asked) + 1
    assert "as good as * on *" in (excess.finding(found) or "")


def test_nothing_allowed_means_no_finding_and_no_replacement() -> None:
    asked = excess.requirements(PRINCIPAL)
    simulated = {request_key(r): _result(r, "explicitDeny") for r in asked}
    found = excess.found(asked, simulated, {"Version": "2012-10-17", "Statement": []})
    assert found.found == () and found.replacement is None and excess.finding(found) is None
    assert found.asked == len(excess.HIGH_RISK)


def test_an_undecided_or_absent_answer_is_not_reported() -> None:
    asked = excess.requirements(PRINCIPAL)
    simulated = {request_key(asked[0]): _result(asked[0], "implicitDeny")}
    assert excess.found(asked, simulated).found == ()
