"""`requirements show kkp-2.31 --format policy` grants exactly what the profile requires: with it a credential is
sufficient, and without any one required action it is not. Decided in-process by the offline evaluator (the
policy comes from the profile's data, the decision from the IAM evaluator, pinned by tests/unit/iam/golden.yaml)."""

import json

import pytest

from credcheck.cli import main
from credcheck.iam.policy import parse_policy
from credcheck.model import Severity, Status
from credcheck.offline import check_policies
from credcheck.requirements.profiles import load_profile
from credcheck.target import Target

ACCOUNT = "111122223333"
CLUSTER = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1")


def shown_policy(capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["requirements", "show", "kkp-2.31", "--format", "policy", "--account", ACCOUNT]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def without(doc: dict, action: str) -> dict:  # type: ignore[type-arg]
    statements = []
    for st in doc["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        kept = [a for a in actions if a != action]
        if kept:
            statements.append({**st, "Action": kept})
    return {**doc, "Statement": statements}


def verdict(doc: dict):  # type: ignore[no-untyped-def,type-arg]
    return check_policies([parse_policy(json.dumps(doc), "shown")], load_profile("kkp-2.31"), account=ACCOUNT,
                          region="eu-central-1", target=CLUSTER)


def test_the_shown_policy_is_sufficient(capsys: pytest.CaptureFixture[str]) -> None:
    result = verdict(shown_policy(capsys))
    assert result.status is Status.SUFFICIENT, result.message


def test_removing_any_one_required_action_makes_it_insufficient(capsys: pytest.CaptureFixture[str]) -> None:
    doc = shown_policy(capsys)
    required = sorted({r.action for r in load_profile("kkp-2.31").requirements(ACCOUNT, target=CLUSTER)
                       if r.severity is Severity.REQUIRED and not r.proven_by_call})
    assert len(required) > 30
    for action in required:
        result = verdict(without(doc, action))
        assert result.status is Status.INSUFFICIENT, action
        assert action in {r.requirement.action for r in result.missing_required}, action
