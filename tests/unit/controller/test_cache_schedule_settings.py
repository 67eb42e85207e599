import argparse
import asyncio

import pytest

from credcheck.controller.schedule import Schedule
from credcheck.controller.settings import Settings, add_arguments, from_arguments
from credcheck.controller.verdict_cache import VerdictCache, freeze, thaw
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.model import ActionResult, Outcome, Requirement, Severity, Status, Verdict
from credcheck.kube.contract import parse_duration, parse_timestamp


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_cache_shares_within_ttl_and_not_unknown() -> None:
    clock, calls = Clock(), []
    cache = VerdictCache(ttl=300, clock=clock)

    async def compute(status: Status) -> Verdict:
        calls.append(status)
        return Verdict(status, "r", "m")

    async def scenario() -> None:
        assert (await cache.get_or_compute("a", lambda: compute(Status.SUFFICIENT))).status is Status.SUFFICIENT
        await cache.get_or_compute("a", lambda: compute(Status.SUFFICIENT))
        assert len(calls) == 1 and cache.hits == 1
        clock.now = 301
        await cache.get_or_compute("a", lambda: compute(Status.INSUFFICIENT))
        assert calls == [Status.SUFFICIENT, Status.INSUFFICIENT]
        await cache.get_or_compute("u", lambda: compute(Status.UNKNOWN))
        await cache.get_or_compute("u", lambda: compute(Status.UNKNOWN))
        assert calls.count(Status.UNKNOWN) == 2, "Unknown is never served from the cache"
        clock.now = 1000
        cache.prune()
        assert len(cache) == 0

    asyncio.run(scenario())


def test_concurrent_askers_await_one_computation_and_survive_a_cancelled_asker() -> None:
    cache = VerdictCache(ttl=300)
    calls: list[int] = []

    async def scenario() -> list[Verdict]:
        release = asyncio.Event()

        async def slow() -> Verdict:
            calls.append(1)
            await release.wait()
            return Verdict(Status.SUFFICIENT, "r", "m")

        askers = [asyncio.ensure_future(cache.get_or_compute("k", slow)) for _ in range(5)]
        while cache.hits < 4:  # until the four others wait on the first one's computation
            await asyncio.sleep(0)
        askers[0].cancel()  # e.g. a handler timed out: the others still get the verdict
        release.set()
        done = await asyncio.gather(*askers[1:])
        assert all(v is done[0] for v in done), "the askers of one computation get its verdict itself"
        assert await cache.get_or_compute("k", slow) == done[0]  # now served from the cache (a copy)
        return done

    verdicts = asyncio.run(scenario())
    assert calls == [1] and {v.status for v in verdicts} == {Status.SUFFICIENT}
    assert cache.misses == 1 and cache.hits == 5


def test_a_failed_computation_reaches_every_asker_and_is_not_cached() -> None:
    cache = VerdictCache(ttl=300)

    async def boom() -> Verdict:
        await asyncio.sleep(0.01)
        raise RuntimeError("no route")

    async def scenario() -> list[BaseException | Verdict]:
        return await asyncio.gather(*(cache.get_or_compute("k", boom) for _ in range(3)), return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert all(isinstance(o, RuntimeError) for o in outcomes) and len(cache) == 0


def test_schedule_requests_each_due_time_once() -> None:
    schedule = Schedule()
    schedule.set(("ns", "a"), "2026-01-01T00:00:00Z")
    schedule.set(("ns", "b"), "2099-01-01T00:00:00Z")
    schedule.set(("ns", "c"), None)  # never checked: its create handler's, not the scheduler's
    now = parse_timestamp("2026-06-01T00:00:00Z").timestamp()
    assert schedule.due(now) == [("ns", "a")]
    schedule.mark_requested(("ns", "a"))
    assert schedule.due(now) == [], "asked once per due time"
    schedule.set(("ns", "a"), "2026-01-01T06:00:00Z")  # its new status arrived
    assert schedule.due(now) == [("ns", "a")]
    schedule.forget(("ns", "a"))
    assert len(schedule) == 2


def test_durations() -> None:
    assert parse_duration("6h") == 21600 and parse_duration("1h30m") == 5400 and parse_duration("90s") == 90
    for bad in ("6", "h", "6d", "-1h"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)
    assert Settings().interval_seconds == 21600


def test_rate_limiter_reserves_a_checks_calls_and_never_sleeps() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=10.0, clock=clock)
    assert limiter.reserve("111122223333", 7) == 0.0, "a check's calls fit the burst"
    assert limiter.reserve("111122223333", 7) == 2.0, "the next waits (4 s of budget missing at 2/s: 2 s)"
    assert limiter.reserve("444455556666", 7) == 0.0, "another account has its own budget"
    clock.now += 2.0
    assert limiter.reserve("111122223333", 7) == 0.0
    limiter.spend("111122223333")  # a botocore retry: one more attempt, into debt
    limiter.spend("111122223333")
    clock.now += 3.5
    assert limiter.reserve("111122223333", 7) == 1.0, "the retries' debt is waited out by the next check"
    assert RateLimiter(rate=0).reserve("x", 100) == 0.0, "0 disables the cap"


def test_settings_from_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDCHECK_INTERVAL", "12h")
    monkeypatch.setenv("CREDCHECK_PRESETS", "false")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    settings = from_arguments(parser.parse_args(["--namespaces", "kubermatic,seed-2", "--aws-calls-per-second", "2.5"]))
    assert settings.namespaces == ("kubermatic", "seed-2") and settings.interval == "12h"
    assert settings.presets is False and settings.aws_calls_per_second == 2.5
    with pytest.raises(ValueError, match="webhook-mode"):
        from_arguments(parser.parse_args(["--webhook-mode", "strict"]))


def test_the_seeds_egress_cidrs_are_a_setting_refused_when_not_addresses() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    settings = from_arguments(parser.parse_args(["--seed-egress-cidrs", "203.0.113.5, 198.51.100.0/30"]))
    assert settings.seed_egress_cidrs == ("203.0.113.5", "198.51.100.0/30")
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        from_arguments(parser.parse_args(["--seed-egress-cidrs", "the-nat-gateway"]))
    with pytest.raises(ValueError, match="more than 256 addresses"):
        from_arguments(parser.parse_args(["--seed-egress-cidrs", "10.0.0.0/16"]))


def test_the_cache_keeps_a_verdict_compressed_and_serves_an_equal_one() -> None:
    missing = tuple(ActionResult(Requirement(f"ec2:Action{i}", f"arn:aws:ec2:eu-central-1:123456789012:instance/i-{i}",
                                             Severity.REQUIRED, ("feature",), "ec2:*", cluster="c1",
                                             why=f"the cloud-controller-manager of cluster c1 calls it ({i})"),
                                 Outcome.IMPLICIT_DENY) for i in range(50))
    verdict = Verdict(Status.INSUFFICIENT, "MissingRequired", "50 required actions are missing", results=missing)
    kept = freeze(verdict)
    assert isinstance(kept, bytes) and len(kept) < 4096
    assert thaw(kept) == verdict and thaw(kept) is not verdict
    odd = Verdict(Status.SUFFICIENT, "r", "m", remediation={"made by": lambda: None})  # cannot be pickled: kept as is
    assert thaw(freeze(odd)) is odd
