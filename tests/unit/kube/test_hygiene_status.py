"""status.keys, status.excessPermissions and their findings, from a verdict (plain values): informational only."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from credcheck.engine.keyfacts import READ, UNKNOWN, AccessKeyFact, Excess, ExcessPermission, KeyFacts, LastUse
from credcheck.engine.keys import KeyPolicy
from credcheck.engine.model import Principal, Status, Verdict
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.hygiene import with_hygiene
from credcheck.kube.status import build_status

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PRINCIPAL = Principal("arn:aws:iam::123456789012:user/kkp", "arn:aws:iam::123456789012:user/kkp", "123456789012",
                      "aws", "user")
OLD_KEY = AccessKeyFact("AKIA************ABCD", "Active", NOW - timedelta(days=200),
                        LastUse(NOW - timedelta(hours=1), "ec2", "eu-central-1"), True)
OTHER = AccessKeyFact("AKIA************WXYZ", "Active", NOW - timedelta(days=400),
                      LastUse(NOW - timedelta(hours=2), "ec2", "eu-west-1"), False)
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeRegions", "Resource": "*"}]}


def _verdict(**extra: Any) -> Verdict:
    return Verdict(Status.SUFFICIENT, "AllRequiredAllowed", "all 3 required actions are allowed", PRINCIPAL,
                   **extra)


def _status(verdict: Verdict, previous: dict | None = None, now: datetime = NOW) -> dict:  # type: ignore[type-arg]
    """The status as written (its dict), from the previous one as stored."""
    before = CheckStatus.from_dict(previous)
    built = build_status(verdict, before, now=now, next_check=now, generation=1,
                         masked_key_id="AKIA************ABCD", clusters=["abc"], profile="kkp", failures=0)
    return with_hygiene(built, verdict, before, now=now, policy=KeyPolicy(), used_by_clusters=True).to_dict()


def test_findings_and_facts_appear_and_ready_stays_true() -> None:
    verdict = _verdict(key_facts=KeyFacts(READ, user="kkp", keys=(OLD_KEY, OTHER), read_by="self"),
                       excess=Excess((ExcessPermission("iam:CreateUser", "arn:aws:iam::123456789012:user/x",
                                                       ("IAMFullAccess (IAM Policy)",)),), 15, POLICY))
    status = _status(verdict)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "AllRequiredAllowed")
    assert [f["type"] for f in status["keys"]["findings"]] == ["OldKey"], "the other key's use predates the sighting"
    assert status["keys"]["current"]["inSecretSince"] == "2026-12-06T12:00:00Z", "first sighting: now"
    assert any("200 days old" in f for f in status["findings"])
    assert status["excessPermissions"] == [{"action": "iam:CreateUser", "resource": "arn:aws:iam::123456789012:user/x",
                                            "allowedBy": ["IAMFullAccess (IAM Policy)"]}]
    assert json.loads(status["leastPrivilegePolicy"]) == POLICY


def test_the_first_sighting_of_a_key_is_kept_across_checks_and_reset_by_a_new_key() -> None:
    facts = KeyFacts(READ, user="kkp", keys=(OLD_KEY,), read_by="self")
    first = _status(_verdict(key_facts=facts))
    later = _status(_verdict(key_facts=facts), first, NOW + timedelta(days=3))
    assert later["keys"]["current"]["inSecretSince"] == "2026-12-06T12:00:00Z"
    rotated = KeyFacts(READ, user="kkp", keys=(AccessKeyFact("AKIA************EFGH", "Active", NOW, None, True),),
                       read_by="self")
    after = _status(_verdict(key_facts=rotated), later, NOW + timedelta(days=4))
    assert after["keys"]["current"]["inSecretSince"] == "2026-12-10T12:00:00Z"


def test_the_other_key_used_after_credcheck_saw_the_switch_is_still_in_use() -> None:
    first = _status(_verdict(key_facts=KeyFacts(READ, user="kkp", keys=(OLD_KEY, OTHER), read_by="self")))
    used_again = AccessKeyFact(OTHER.key_id, "Active", OTHER.created, LastUse(NOW + timedelta(days=1), "ec2", "x"),
                               False)
    later = _status(_verdict(key_facts=KeyFacts(READ, user="kkp", keys=(OLD_KEY, used_again), read_by="self")),
                    first, NOW + timedelta(days=2))
    assert [f["type"] for f in later["keys"]["findings"]] == ["OldKey", "OtherKeyInUse"]
    assert "AKIA************WXYZ" in later["keys"]["findings"][1]["message"]


def test_the_findings_clear_when_the_facts_do() -> None:
    old = _status(_verdict(key_facts=KeyFacts(READ, user="kkp", keys=(OLD_KEY, OTHER), read_by="self")))
    fresh = AccessKeyFact("AKIA************ABCD", "Active", NOW - timedelta(days=2), LastUse(NOW, "ec2", "x"), True)
    retired = AccessKeyFact("AKIA************WXYZ", "Inactive", NOW - timedelta(days=400), OTHER.last_use, False)
    clean = _status(_verdict(key_facts=KeyFacts(READ, user="kkp", keys=(fresh, retired), read_by="self")), old)
    assert clean["keys"]["findings"] == [] and clean["findings"] == []


def test_unknown_facts_name_the_permission_and_never_fail_the_check() -> None:
    status = _status(_verdict(key_facts=KeyFacts(UNKNOWN, "the keys may not call iam:ListAccessKeys", user="kkp",
                                                 missing_permissions=("iam:ListAccessKeys",))))
    assert status["keys"]["state"] == "Unknown" and status["keys"]["missingPermissions"] == ["iam:ListAccessKeys"]
    assert next(c for c in status["conditions"] if c["type"] == "Ready")["status"] == "True"


def test_nothing_asked_leaves_the_fields_empty() -> None:
    status = _status(_verdict())
    assert status["keys"] is None and status["excessPermissions"] is None and status["leastPrivilegePolicy"] is None


def test_a_transient_failure_keeps_the_last_keys() -> None:
    before = _status(_verdict(key_facts=KeyFacts(READ, user="kkp", keys=(OLD_KEY,), read_by="self")))
    throttled = Verdict(Status.UNKNOWN, "Throttled", "AWS throttled the check")
    kept = _status(throttled, before)
    assert kept["keys"] == before["keys"]
