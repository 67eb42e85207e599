from dataclasses import replace
from datetime import UTC, datetime, timedelta

from statuses import conditions

from credcheck.cli.report import verdict_to_dict
from credcheck.engine.action_result import ACTION_FIELDS
from credcheck.engine.model import (
    ActionResult,
    ClusterVerdict,
    Outcome,
    Principal,
    Requirement,
    Severity,
    Status,
    Verdict,
)
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.status import build_status, consecutive_failures, retry_delay, transition_event

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
PRINCIPAL = Principal("arn:aws:iam::1:user/kkp", "arn:aws:iam::1:user/kkp", "1", "aws", "user")
PASSROLE = Requirement("iam:PassRole", "arn:aws:iam::1:role/kubernetes-*", Severity.REQUIRED, ("machines",), "iam:PassRole")


def insufficient() -> Verdict:
    return Verdict(Status.INSUFFICIENT, "MissingPermissions", "machines: missing iam:PassRole", PRINCIPAL,
                   (ActionResult(PASSROLE, Outcome.IMPLICIT_DENY),), {"machines": ("iam:PassRole",)},
                   {"Version": "2012-10-17", "Statement": []})


def sufficient() -> Verdict:
    return Verdict(Status.SUFFICIENT, "AllRequiredAllowed", "ok", PRINCIPAL, (ActionResult(PASSROLE, Outcome.ALLOWED),))


def build(verdict: Verdict, previous: dict, now: datetime = NOW) -> dict:  # type: ignore[type-arg]
    """The status written (its dict), from the previous one as stored."""
    before = CheckStatus.from_dict(previous)
    return build_status(verdict, before, now=now, next_check=now + timedelta(hours=6), generation=3,
                        masked_key_id="AKIA************ABCD", clusters=["c1"], profile="kkp",
                        failures=consecutive_failures(before, verdict)).to_dict()


def event(before: dict, after: dict) -> tuple[str, str, str] | None:  # type: ignore[type-arg]
    return transition_event(CheckStatus.from_dict(before), CheckStatus.from_dict(after))


def test_insufficient_status() -> None:
    status = build(insufficient(), {})
    assert conditions(status, "lastTransitionTime") == {
        "CredentialsValid": ("True", "Valid", "2026-11-27T12:00:00Z"),
        "PermissionsSufficient": ("False", "MissingPermissions", "2026-11-27T12:00:00Z"),
        "Ready": ("False", "MissingPermissions", "2026-11-27T12:00:00Z")}
    assert status["summary"] == {"checked": 1, "allowed": 0, "missingRequired": 1, "missingRecommended": 0,
                                 "undecided": 0}
    assert status["missing"] == [{"action": "iam:PassRole", "resource": "arn:aws:iam::1:role/kubernetes-*",
                                  "reason": "implicitDeny", "severity": "required", "features": ["machines"]}]
    assert status["observedGeneration"] == 3 and status["clusters"] == [{"name": "c1"}]
    assert status["principal"] == {"arn": "arn:aws:iam::1:user/kkp", "account": "1", "type": "user",
                                   "policySource": "arn:aws:iam::1:user/kkp", "partition": "aws"}
    assert status["verdict"] == "Insufficient"


def test_last_transition_time_kept_while_status_unchanged() -> None:
    first = build(insufficient(), {})
    again = build(insufficient(), first, now=LATER)
    assert conditions(again, "lastTransitionTime")["Ready"][2] == "2026-11-27T12:00:00Z"
    assert again["lastCheckTime"] == "2026-11-27T13:00:00Z"
    recovered = build(sufficient(), again, now=LATER)
    assert conditions(recovered, "lastTransitionTime")["Ready"] == ("True", "AllRequiredAllowed", "2026-11-27T13:00:00Z")
    assert conditions(recovered, "lastTransitionTime")["CredentialsValid"][2] == "2026-11-27T12:00:00Z"


def test_invalid_and_unknown_are_never_true() -> None:
    invalid = build(Verdict(Status.INVALID, "InvalidCredentials", "rejected"), {})
    assert conditions(invalid)["CredentialsValid"][:2] == ("False", "InvalidCredentials")
    assert conditions(invalid)["PermissionsSufficient"][:2] == ("Unknown", "CredentialsInvalid")
    assert invalid["summary"] is None
    unknown = build(Verdict(Status.UNKNOWN, "SimulationNotPermitted", "add …", PRINCIPAL), {})
    assert conditions(unknown)["Ready"][:2] == ("Unknown", "SimulationNotPermitted")
    assert conditions(unknown)["CredentialsValid"][:2] == ("True", "Valid")
    assert unknown["consecutiveFailures"] == 1
    misconfigured = build(Verdict(Status.MISCONFIGURED, "InvalidProfile", "unknown profile"), {})
    assert conditions(misconfigured)["Ready"][:2] == ("False", "InvalidProfile")


def test_throttling_keeps_the_last_verdict_with_a_note() -> None:
    before = build(insufficient(), {})
    after = build(Verdict(Status.UNKNOWN, "Throttled", "AWS throttled"), before, now=LATER)
    assert conditions(after, "lastTransitionTime") == conditions(before, "lastTransitionTime")
    ready = next(c for c in after["conditions"] if c["type"] == "Ready")
    assert "AWS throttled" in ready["message"] and "showing the last verdict" in ready["message"]
    assert after["consecutiveFailures"] == 1 and after["lastCheckTime"] == before["lastCheckTime"]


def test_events_only_on_transitions() -> None:
    first = build(insufficient(), {})
    assert event({}, first) == ("Warning", "MissingPermissions", "machines: missing iam:PassRole")
    assert event(first, build(insufficient(), first, now=LATER)) is None
    recovered = build(sufficient(), first, now=LATER)
    assert event(first, recovered) == ("Normal", "PermissionsSufficient", "ok")


def test_retry_backoff_is_bounded() -> None:
    assert [retry_delay(n, 3600) for n in (1, 2, 3, 10)] == [60, 120, 240, 3600]


def test_a_compacted_verdict_builds_the_same_status() -> None:
    """The operator keeps only compacted verdicts in memory; the status must not notice."""
    allowed = [ActionResult(Requirement(f"ec2:Action{i:03d}", "*", Severity.REQUIRED, ("machines",), "ec2:*"),
                            Outcome.ALLOWED) for i in range(700)]
    denied = [ActionResult(Requirement(f"ec2:Denied{i:03d}", "*", severity, ("machines",), "ec2:*"), outcome)
              for i, (severity, outcome) in enumerate([(Severity.RECOMMENDED, Outcome.IMPLICIT_DENY)] * 40
                                                      + [(Severity.REQUIRED, Outcome.DENIED_BY_SCP)] * 30)]
    full = Verdict(Status.INSUFFICIENT, "MissingPermissions", "m", PRINCIPAL, tuple(denied + allowed),
                   {"machines": ("ec2:Denied040",)}, {"Version": "2012-10-17", "Statement": []},
                   aws_calls={"iam:SimulatePrincipalPolicy": 4})
    compact = full.compact(50)
    assert len(compact.results) == 50 and not compact.aws_calls
    assert compact.tally() == full.tally()
    assert full.tally().checked == 770 and full.tally().missing_required == 30
    assert build(compact, {}) == build(full, {})
    assert [m["severity"] for m in build(compact, {})["missing"]] == ["required"] * 30 + ["recommended"] * 20


def test_per_cluster_entries_and_upgrade_readiness() -> None:
    cluster = ClusterVerdict("c1", Status.INSUFFICIENT, "eu-central-1", "1.34", "assume-role (CCM v1.34.0)",
                             ("iam:PassRole",))
    verdict = replace(sufficient(), clusters=(cluster,), profile_version="2.30",
                      upgrade=replace(insufficient(), profile_version="2.31"))
    status = build_status(verdict, CheckStatus(), now=NOW, next_check=LATER, generation=1, masked_key_id=None,
                          clusters=["c1"], profile="kkp-2.30", upgrade_profile="kkp-2.31", failures=0).to_dict()
    assert status["clusters"] == [{"name": "c1", "ready": "False", "region": "eu-central-1", "kubernetes": "1.34",
                                   "cloudController": "assume-role (CCM v1.34.0)", "missing": ["iam:PassRole"]}]
    assert status["kkpVersion"] == "2.30"
    upgrade = next(c for c in status["conditions"] if c["type"] == "UpgradeReady")
    assert (upgrade["status"], upgrade["reason"]) == ("False", "MissingForTargetVersion")
    assert upgrade["message"].startswith("KKP 2.31 (kkp-2.31): machines: missing iam:PassRole")
    assert status["upgrade"]["missingRequired"] == 1 and status["upgrade"]["kkpVersion"] == "2.31"
    ready = build_status(replace(verdict, upgrade=replace(sufficient(), profile_version="2.31")), CheckStatus(),
                         now=NOW, next_check=LATER, generation=1, masked_key_id=None, clusters=[], profile="kkp-2.30",
                         failures=0, upgrade_profile="kkp-2.31").to_dict()
    assert next(c for c in ready["conditions"] if c["type"] == "UpgradeReady")["status"] == "True"
    none = build(sufficient(), {})
    assert "UpgradeReady" not in conditions(none), "no target version set, no condition"


def test_the_status_and_the_cli_json_name_an_action_alike() -> None:
    """One shape for `status.missing` and `credcheck check --output json`: same keys, same values."""
    undecided = ActionResult(replace(PASSROLE, action="ec2:RunInstances", cluster="c1", principal="keys",
                                     why="machines are EC2 instances"), Outcome.MISSING_CONTEXT,
                             ("p#OnlyFromTheVpc",), ("aws:SourceVpc",))
    denied = ActionResult(PASSROLE, Outcome.IMPLICIT_DENY, (), ("ec2:CreateAction",))
    verdict = replace(insufficient(), results=(denied, undecided))
    entries = {e["action"]: e for e in build(verdict, {})["missing"]}
    assert entries["ec2:RunInstances"] == {
        "action": "ec2:RunInstances", "resource": "arn:aws:iam::1:role/kubernetes-*", "reason": "missingContext",
        "severity": "required", "features": ["machines"], "cluster": "c1", "identity": "keys",
        "why": "machines are EC2 instances", "missingContextKeys": ["aws:SourceVpc"],
        "matchedStatements": ["p#OnlyFromTheVpc"]}
    assert entries["iam:PassRole"]["missingContextKeys"] == ["ec2:CreateAction"], "why the Allow did not match"
    assert verdict_to_dict(verdict, profile="kkp")["missing"] == build(verdict, {})["missing"]
    assert list(entries["ec2:RunInstances"]) == [k for k in ACTION_FIELDS if k in entries["ec2:RunInstances"]]
