"""`requirements show kkp-2.31 --format policy` grants exactly what the profile requires: with it a credential is
sufficient, and without any one required action it is not. Decided in-process by the offline evaluator (the
policy comes from the profile's data, the decision from the IAM evaluator, pinned by tests/unit/iam/golden.yaml)."""

import fnmatch
import json

import pytest
from policy_edits import without_pair

from credcheck.cli.main import main
from credcheck.engine.iam.policy import parse_policy
from credcheck.engine.model import Severity, Status
from credcheck.engine.offline import check_policies
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target

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


def _pairs(doc: dict) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    out = []
    for st in doc["Statement"]:
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        resources = [st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"]
        out += [(a, r) for a in actions for r in resources]
    return out


def _targets(version: str) -> list[Target]:
    """One Cluster per Kubernetes minor the KKP version supports: each cloud-controller mode it runs."""
    return [Target(cluster="abc", region="eu-central-1", kubernetes_version=f"{minor}.1")
            for minor in load_profile(version).cloud_controllers]


@pytest.mark.parametrize("version", ["kkp-2.29", "kkp-2.30", "kkp-2.31"])
def test_the_printed_policy_without_any_one_required_pair_names_that_pair(
        version: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", version, "--format", "policy", "--account", ACCOUNT]) == 0
    doc = json.loads(capsys.readouterr().out)
    profile = load_profile(version)
    checked = 0
    for action, pattern in _pairs(doc):
        needing = [(t, r) for t in _targets(version) for r in profile.requirements(ACCOUNT, target=t)
                   if r.action == action and r.severity is Severity.REQUIRED and not r.proven_by_call
                   and fnmatch.fnmatchcase(r.resource, pattern)]
        if not needing:
            continue  # a recommended pair (spot instances, EBS encryption): its absence is a warning
        target = needing[0][0]
        result = check_policies([parse_policy(json.dumps(without_pair(doc, action, pattern)), "shown")], profile,
                                account=ACCOUNT, region="eu-central-1", target=target)
        assert result.status is Status.INSUFFICIENT, (action, pattern)
        assert any(r.requirement.action == action and fnmatch.fnmatchcase(r.requirement.resource, pattern)
                   for r in result.missing_required), (action, pattern)
        checked += 1
    for target in _targets(version):
        whole = check_policies([parse_policy(json.dumps(doc), "shown")], profile, account=ACCOUNT,
                               region="eu-central-1", target=target)
        assert whole.status is Status.SUFFICIENT, (target.kubernetes_version, whole.message)
    assert checked > 40
