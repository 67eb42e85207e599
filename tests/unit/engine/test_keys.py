"""Key hygiene decided on plain values: ages and uses written as dates, the expected findings worked out by hand."""

from datetime import UTC, datetime, timedelta

from credcheck.engine.keyfacts import NOT_APPLICABLE, READ, UNKNOWN, AccessKeyFact, KeyFacts, LastUse
from credcheck.engine.keys import OLD, OTHER_IN_USE, UNUSED, KeyPolicy, findings, status_of

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DEFAULT = KeyPolicy()


def day(d: str) -> datetime:
    return datetime.fromisoformat(d).replace(tzinfo=UTC)


def key(created: str, last: str | None = None, service: str | None = "ec2", *, current: bool = True,
        status: str = "Active", key_id: str = "AKIA************ABCD") -> AccessKeyFact:
    return AccessKeyFact(key_id, status, day(created),
                         LastUse(day(last) if last else None, service if last else None,
                                 "eu-central-1" if last else None), current)


def facts(*keys: AccessKeyFact) -> KeyFacts:
    return KeyFacts(READ, user="kkp", keys=keys, read_by="self")


def kinds(found: tuple) -> list[str]:  # type: ignore[type-arg]
    return [f.kind for f in found]


def test_a_key_created_91_days_ago_is_old_and_one_of_89_days_is_not() -> None:
    old = findings(facts(key("2026-09-06", "2026-12-05")), now=NOW, policy=DEFAULT, used_by_clusters=True)
    young = findings(facts(key("2026-09-08", "2026-12-05")), now=NOW, policy=DEFAULT, used_by_clusters=True)
    assert kinds(old) == [OLD] and "91 days old" in old[0].message and "AKIA************ABCD" in old[0].message
    assert kinds(young) == []


def test_the_maximum_age_is_configurable() -> None:
    found = findings(facts(key("2026-10-01", "2026-12-05")), now=NOW, policy=KeyPolicy(max_age=timedelta(days=30)),
                     used_by_clusters=True)
    assert kinds(found) == [OLD] and "maximum is 30 days" in found[0].message


def test_a_key_no_cluster_uses_and_aws_saw_40_days_ago_is_unused() -> None:
    found = findings(facts(key("2026-09-20", "2026-10-27")), now=NOW, policy=DEFAULT, used_by_clusters=False)
    assert kinds(found) == [UNUSED] and "2026-10-27" in found[0].message


def test_a_key_used_2_days_ago_or_used_by_a_cluster_is_not_unused() -> None:
    recent = findings(facts(key("2026-09-20", "2026-12-04")), now=NOW, policy=DEFAULT, used_by_clusters=False)
    by_cluster = findings(facts(key("2026-09-20", "2026-10-27")), now=NOW, policy=DEFAULT, used_by_clusters=True)
    assert kinds(recent) == [] and kinds(by_cluster) == []


def test_a_latest_use_by_sts_counts_as_credchecks_own_and_never_used_is_unused() -> None:
    own = findings(facts(key("2026-09-20", "2026-12-06", "sts")), now=NOW, policy=DEFAULT, used_by_clusters=False)
    never = findings(facts(key("2026-09-20")), now=NOW, policy=DEFAULT, used_by_clusters=False)
    assert kinds(own) == [UNUSED] and "credcheck's own" in own[0].message
    assert kinds(never) == [UNUSED] and "never saw it used" in never[0].message
    # KKP's components call sts too (the CCM's AssumeRole, a Preset's Clusters): no plain "delete it" then
    assert "confirm in CloudTrail" in own[0].message and "delete it and the key" not in own[0].message
    assert "delete it and the key" in never[0].message


def test_a_key_younger_than_the_unused_period_is_never_unused() -> None:
    found = findings(facts(key("2026-11-30")), now=NOW, policy=DEFAULT, used_by_clusters=False)
    assert kinds(found) == []


def test_the_other_active_key_used_after_the_switch_is_still_in_use() -> None:
    current = key("2026-11-01", "2026-12-06")
    other = key("2026-01-01", "2026-12-01", current=False, key_id="AKIA************WXYZ")
    found = findings(facts(current, other), now=NOW, policy=DEFAULT, used_by_clusters=True,
                     seen_since=day("2026-11-10"))
    assert kinds(found) == [OTHER_IN_USE]
    assert "AKIA************WXYZ" in found[0].message and "2026-12-01" in found[0].message
    assert "2026-11-10" in found[0].message, "the switch is when credcheck saw the key in the Secret"


def test_the_other_key_used_before_the_switch_or_inactive_is_not_in_use() -> None:
    current = key("2026-11-01", "2026-12-06")
    before = key("2026-01-01", "2026-11-05", current=False)
    inactive = key("2026-01-01", "2026-12-01", current=False, status="Inactive")
    assert kinds(findings(facts(current, before), now=NOW, policy=DEFAULT, used_by_clusters=True,
                          seen_since=day("2026-11-10"))) == []
    assert kinds(findings(facts(current, inactive), now=NOW, policy=DEFAULT, used_by_clusters=True)) == []


def test_without_a_sighting_the_switch_is_the_keys_creation() -> None:
    current = key("2026-11-01", "2026-12-06")
    other = key("2026-01-01", "2026-11-05", current=False)
    assert kinds(findings(facts(current, other), now=NOW, policy=DEFAULT, used_by_clusters=True)) == [OTHER_IN_USE]


def test_unread_facts_give_no_findings() -> None:
    for state in (UNKNOWN, NOT_APPLICABLE):
        assert findings(KeyFacts(state, "why"), now=NOW, policy=DEFAULT, used_by_clusters=False) == ()


def test_the_status_holds_facts_and_masked_ids_only() -> None:
    current = key("2026-09-06", "2026-12-05")
    other = key("2026-01-01", None, current=False, key_id="AKIA************WXYZ")
    found = findings(facts(current, other), now=NOW, policy=DEFAULT, used_by_clusters=True)
    status = status_of(facts(current, other), found, now=NOW, seen_since=day("2026-09-07"))
    assert status["state"] == READ and status["user"] == "kkp" and status["readBy"] == "self"
    assert status["current"] == {"accessKeyId": "AKIA************ABCD", "status": "Active",
                                 "created": "2026-09-06T00:00:00Z", "ageDays": 91, "lastUsed": "2026-12-05T00:00:00Z",
                                 "lastUsedService": "ec2", "lastUsedRegion": "eu-central-1",
                                 "inSecretSince": "2026-09-07T00:00:00Z"}
    assert status["others"] == [{"accessKeyId": "AKIA************WXYZ", "status": "Active",
                                 "created": "2026-01-01T00:00:00Z", "ageDays": 339, "neverUsed": True}]
    assert [f["type"] for f in status["findings"]] == [OLD]


def test_unknown_facts_name_the_missing_permission_in_the_status() -> None:
    status = status_of(KeyFacts(UNKNOWN, "no", user="kkp", missing_permissions=("iam:ListAccessKeys",)), (),
                       now=NOW, seen_since=None)
    assert status == {"state": UNKNOWN, "message": "no", "user": "kkp",
                      "missingPermissions": ["iam:ListAccessKeys"], "findings": []}
