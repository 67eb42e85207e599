"""The re-check scheduler out of the handlers: it runs a due check itself — one read, then the handlers' own run,
whose status goes through the status subresource onto the version read — and writes no annotation or other
metadata; a failed re-check is due again after --retry-base; SIGUSR2 makes its loop fail once (fault injection),
which its supervisor restarts while readiness shows it down. An admin's re-check request is a new value of the
re-check annotation."""

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fakes import FakeKube

from credcheck.controller import metrics, recheck
from credcheck.controller.checker import Checker, recheck_asked
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import Schedule
from credcheck.controller.settings import Settings
from credcheck.controller.supervise import Health
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine.model import Status, Verdict
from credcheck.kube.client import ApiError, Conflict
from credcheck.kube.contract import ANNOTATION_RECHECK, GROUP, KIND, VERSION, timestamp

LOG = logging.getLogger("test.recheck")
NOW = datetime(2031, 5, 17, 8, 30, 0, tzinfo=UTC)
RETRY = Settings().retry_base_seconds


def body(name: str, version: str = "41") -> dict[str, Any]:
    """A stored check whose spec has no source: its run needs no Secret and no AWS (InvalidSource)."""
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
            "metadata": {"namespace": "kubermatic", "name": name, "uid": "u-1", "resourceVersion": version,
                         "generation": 3},
            "spec": {}}


def runtime(kube: FakeKube) -> Runtime:
    return Runtime(Settings(), kube, VerdictCache(60), ThreadPoolExecutor(1), now=lambda: NOW)


def stored(*checks: dict[str, Any], status_error: Exception | None = None) -> FakeKube:
    kube = FakeKube(*checks)
    if status_error is not None:
        kube.fail("patch_check_status", status_error)
    return kube


def run_ticks(service: recheck.Recheck) -> None:
    async def scenario() -> None:
        await service.tick()
        await asyncio.gather(*service._running)  # the re-checks the tick started
        await asyncio.gather(*(asyncio.all_tasks() - {asyncio.current_task()}))  # and the Events they post

    asyncio.run(scenario())


def test_a_due_check_is_run_by_the_scheduler_with_one_read_and_a_status_only_write() -> None:
    kube, schedule = stored(body("due-unit")), Schedule()
    key = ("kubermatic", "due-unit")
    schedule.set(key, timestamp(NOW), "111122223333")
    schedule.set(("kubermatic", "later-unit"), "2031-05-17T09:30:00Z", "111122223333")
    rt = runtime(kube)
    service = recheck.Recheck(rt, schedule, Health(), LOG, Checker(rt, schedule).run)
    run_ticks(service)
    assert kube.called("get_check") == [key], "one read of the due check, none of the later one"
    assert kube.called("patch_check") == [], "no annotation, label or spec written: kopf's update handler stays asleep"
    [(namespace, name, status, version)] = kube.statuses
    assert (namespace, name) == ("kubermatic", "due-unit")
    assert version is not None and version == str(int(kube.stored[key]["metadata"]["resourceVersion"]) - 1), \
        "onto the version read"
    assert status["lastCheckTime"] == timestamp(NOW)
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSource")
    [event] = kube.events.values()
    assert (event["type"], event["reason"]) == ("Warning", "InvalidSource"), "the transition's Event, on the check"
    assert event["involvedObject"]["name"] == "due-unit" and event["involvedObject"]["uid"] == "u-1"
    assert schedule.due(NOW.timestamp()) == [], "under way: not started again"


def test_a_check_gone_when_read_leaves_the_schedule_and_is_not_run() -> None:
    kube, schedule = stored(), Schedule()
    key = ("kubermatic", "gone-unit")
    schedule.set(key, timestamp(NOW), "111122223333")
    rt = runtime(kube)
    run_ticks(recheck.Recheck(rt, schedule, Health(), LOG, Checker(rt, schedule).run))
    assert len(schedule) == 0 and kube.statuses == []


@pytest.mark.parametrize(("error", "skipped"), [
    (ApiError("PATCH", "/status", 503), 1.0),
    (Conflict("PATCH", "/status", 409), 0.0),
    (RuntimeError("a bug"), 1.0),
], ids=["api-refused", "changed-meanwhile", "unexpected"])
def test_a_failed_re_check_is_due_again_after_the_retry_base(error: Exception, skipped: float,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    kube, schedule = stored(body("failing-unit"), status_error=error), Schedule()
    key = ("kubermatic", "failing-unit")
    schedule.set(key, timestamp(NOW), "111122223333")
    before = metrics.REGISTRY.get_sample_value("credcheck_scheduler_skipped_total") or 0.0
    rt = runtime(kube)
    run_ticks(recheck.Recheck(rt, schedule, Health(), LOG, Checker(rt, schedule).run))
    assert metrics.REGISTRY.get_sample_value("credcheck_scheduler_skipped_total") == before + skipped
    assert schedule.due(NOW.timestamp() + RETRY - 5) == [], "not retried at once, every tick"
    assert schedule.due(NOW.timestamp() + RETRY) == [key], "due again after --retry-base"
    if isinstance(error, RuntimeError):
        [record] = [r for r in caplog.records if "re-check of kubermatic/failing-unit failed" in r.getMessage()]
        assert record.exc_info is not None, "logged with its traceback"


def test_a_check_deleted_while_it_was_checked_is_no_failure() -> None:
    kube, schedule = stored(body("deleted-unit"), status_error=ApiError("PATCH", "/status", 404)), Schedule()
    key = ("kubermatic", "deleted-unit")
    schedule.set(key, timestamp(NOW), "111122223333")
    before = metrics.REGISTRY.get_sample_value("credcheck_scheduler_skipped_total") or 0.0
    rt = runtime(kube)
    run_ticks(recheck.Recheck(rt, schedule, Health(), LOG, Checker(rt, schedule).run))
    assert metrics.REGISTRY.get_sample_value("credcheck_scheduler_skipped_total") == before
    assert kube.events == {}, "no Event about a check that is gone"


def test_a_new_status_meanwhile_wins_over_the_retry() -> None:
    schedule, key = Schedule(), ("ns", "c")
    schedule.set(key, timestamp(NOW))
    schedule.mark_requested(key, NOW.timestamp())
    later = timestamp(NOW + timedelta(hours=6))
    schedule.set(key, later)  # the handler wrote a new status meanwhile
    schedule.retry(key, NOW.timestamp() + 60)
    assert schedule.due(NOW.timestamp() + 60) == [], "the new status says when"


def test_a_new_value_of_the_recheck_annotation_is_an_admins_request() -> None:
    def annotated(value: str | None) -> dict[str, Any]:
        return {"metadata": {"annotations": {} if value is None else {ANNOTATION_RECHECK: value}}}

    assert recheck_asked(annotated(None), annotated("2031-05-17T08:30:00Z"))
    assert recheck_asked(annotated("a"), annotated("b"))
    assert recheck_asked(None, annotated("now")), "kopf's first diff-base may lack it"
    assert not recheck_asked(annotated("a"), annotated("a")), "a spec or source change is not a request"
    assert not recheck_asked(annotated("a"), annotated(None)), "removing it asks for nothing"
    assert not recheck_asked({"metadata": {}}, {"metadata": {"annotations": None}})


def test_sigusr2_fails_the_scheduler_once_and_its_supervisor_restarts_it() -> None:
    kube, health = FakeKube(), Health()
    rt = runtime(kube)
    before = metrics.REGISTRY.get_sample_value("credcheck_background_restarts_total", {"loop": "scheduler"}) or 0.0

    async def scenario() -> list[bool]:
        schedule = Schedule()
        service = recheck.Recheck(rt, schedule, health, LOG, Checker(rt, schedule).run)
        service.start()
        await asyncio.sleep(0.05)
        seen = [health.running["scheduler"]]
        os.kill(os.getpid(), signal.SIGUSR2)
        await asyncio.sleep(0.2)
        seen.append(health.running["scheduler"])
        for _ in range(40):  # restarted after 1 s
            await asyncio.sleep(0.05)
            if health.running["scheduler"]:
                break
        seen.append(health.running["scheduler"])
        await service.stop()
        seen.append(health.running["scheduler"])
        return seen

    assert asyncio.run(scenario()) == [True, False, True, False], "up, down after the crash, up again, stopped"
    after = metrics.REGISTRY.get_sample_value("credcheck_background_restarts_total", {"loop": "scheduler"})
    assert after == before + 1
    assert rt.checks._shutdown, "stop drops the checks queued for the AWS pool"  # type: ignore[attr-defined]


def test_an_admins_re_check_goes_past_the_cached_verdict_and_replaces_it_for_the_others() -> None:
    cache, answers = VerdictCache(ttl=300, clock=lambda: 0.0), iter([Status.INSUFFICIENT, Status.SUFFICIENT])
    asked: list[Status] = []

    async def compute() -> Verdict:
        asked.append(next(answers))
        return Verdict(asked[-1], "r", "m")

    async def scenario() -> list[Status]:
        first = await cache.get_or_compute("k", compute)
        cached = await cache.get_or_compute("k", compute)
        fresh = await cache.get_or_compute("k", compute, fresh=True)  # the policy was fixed meanwhile
        after = await cache.get_or_compute("k", compute)
        return [first.status, cached.status, fresh.status, after.status]

    assert asyncio.run(scenario()) == [Status.INSUFFICIENT, Status.INSUFFICIENT, Status.SUFFICIENT,
                                       Status.SUFFICIENT]
    assert len(asked) == 2, "one computation for the first ask, one for the fresh one; the others from the cache"


def test_a_fresh_ask_does_not_join_a_computation_already_running() -> None:
    cache = VerdictCache(ttl=300)
    release = asyncio.Event()
    started: list[str] = []

    async def slow() -> Verdict:
        started.append("before the fix")
        await release.wait()
        return Verdict(Status.INSUFFICIENT, "r", "m")

    async def quick() -> Verdict:
        started.append("after the fix")
        return Verdict(Status.SUFFICIENT, "r", "m")

    async def scenario() -> tuple[Status, Status, Status]:
        old = asyncio.ensure_future(cache.get_or_compute("k", slow))
        await asyncio.sleep(0)
        fresh = await cache.get_or_compute("k", quick, fresh=True)
        release.set()
        stale = await old
        kept = await cache.get_or_compute("k", slow)
        return stale.status, fresh.status, kept.status

    assert asyncio.run(scenario()) == (Status.INSUFFICIENT, Status.SUFFICIENT, Status.SUFFICIENT), \
        "the old computation's askers get its answer; the cache keeps the fresh one"
    assert started == ["before the fix", "after the fix"]
