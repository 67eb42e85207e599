"""The re-check scheduler out of the handlers: it asks for a due re-check stamped with the runtime's clock, and
SIGUSR2 makes its loop fail once (fault injection), which its supervisor restarts while readiness shows it down."""

import asyncio
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from fakes import FakeKube

from credcheck.controller import metrics, recheck
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import Schedule
from credcheck.controller.settings import Settings
from credcheck.controller.supervise import Health
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.kube.contract import ANNOTATION_RECHECK, timestamp

LOG = logging.getLogger("test.recheck")
NOW = datetime(2031, 5, 17, 8, 30, 0, tzinfo=UTC)


def runtime(kube: FakeKube) -> Runtime:
    return Runtime(Settings(), kube, VerdictCache(60), ThreadPoolExecutor(1),
                   now=lambda: NOW)


def test_a_due_check_is_asked_for_with_the_runtimes_clock() -> None:
    kube, schedule = FakeKube({"metadata": {"namespace": "kubermatic", "name": "due-unit"}}), Schedule()
    key = ("kubermatic", "due-unit")
    schedule.set(key, timestamp(NOW), "111122223333")
    schedule.set(("kubermatic", "later-unit"), "2031-05-17T09:30:00Z", "111122223333")
    service = recheck.Recheck(runtime(kube), schedule, Health(), LOG)
    asyncio.run(service.tick())
    assert kube.called("patch_check") == [("kubermatic", "due-unit", "")]
    assert kube.patches == [{"metadata": {"annotations": {ANNOTATION_RECHECK: "2031-05-17T08:30:00Z"}}}]
    assert schedule.due(NOW.timestamp()) == [], "asked for: not asked again while open"


def test_sigusr2_fails_the_scheduler_once_and_its_supervisor_restarts_it() -> None:
    kube, health = FakeKube(), Health()
    rt = runtime(kube)
    before = metrics.REGISTRY.get_sample_value("credcheck_background_restarts_total", {"loop": "scheduler"}) or 0.0

    async def scenario() -> list[bool]:
        service = recheck.Recheck(rt, Schedule(), health, LOG)
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
