"""Caches that grew without bound (issue 33): CloudTrail reads, the re-check pace per account, parsed ConfigMap
profiles. Each is filled past its bound with plain values and must keep at most the bound."""

from typing import Any

from credcheck.controller.schedule import Schedule
from credcheck.engine.aws.cloudtrail import DenialReader, Query
from credcheck.engine.requirements import profiles


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Reader(DenialReader):
    def _pages(self, session: Any, query: Query) -> tuple[list[tuple[str, str, str, str]], bool]:
        return [], True  # no AWS: every read complete and empty


def test_cloudtrail_reads_are_kept_at_most_max_cached_and_expired_ones_dropped() -> None:
    clock = Clock()
    reader = Reader(clock=clock, max_cached=100)
    for i in range(1000):
        reader._read([object()], Query("123456789012", "eu-central-1", "AccessKeyId", f"AKIA{i:016d}"))  # type: ignore[list-item]
    assert len(reader._cache) == 100
    clock.now += reader.ttl + 1
    reader._read([object()], Query("123456789012", "eu-central-1", "AccessKeyId", "AKIAlast"))  # type: ignore[list-item]
    assert len(reader._cache) == 1, "the expired reads went with the next one"


def test_the_pace_forgets_an_account_once_its_bucket_is_full_again() -> None:
    schedule = Schedule()
    schedule.configure(calls_per_second=10.0, share=1.0)
    for i in range(500):
        key = ("kubermatic", f"c{i}")
        schedule.set(key, "2026-01-01T00:00:00Z", account=f"{i:012d}")
        schedule.cost(key, [(f"{i:012d}", 5)])
    released, _ = schedule.release(now=1767225600.0 + 10)
    assert len(released) == 500 and len(schedule._pace) == 500
    for key in released:
        schedule.mark_requested(key, 1767225600.0 + 10)
    schedule.release(now=1767225600.0 + 20)  # 10 s later every bucket (10 calls) is full again
    assert schedule._pace == {}


def test_parsed_configmap_profiles_are_kept_by_digest_at_most_sixteen() -> None:
    text = ("features: {f: {severity: required}}\nstatements:\n"
            "  - {feature: f, actions: ['ec2:DescribeInstances'], resources: ['*'], why: '%s'}\n")
    for i in range(40):
        profiles.parse_profile_cached(text % ("x" * 1000 + str(i)), "ConfigMap kubermatic/p")
    assert len(profiles._parsed) == profiles.PARSED == 16
    assert all(len(digest) == 64 for digest, _ in profiles._parsed), "no text is kept, only its digest"
    again = profiles.parse_profile_cached(text % ("x" * 1000 + "39"), "ConfigMap kubermatic/p")
    assert again is profiles._parsed[next(reversed(profiles._parsed))]
