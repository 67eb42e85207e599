"""Re-checks when due: one scheduler loop for all checks (not a kopf timer per object: timers cost a task and a
finalizer per object).

It asks for a re-check by touching the credcheck.io/recheck annotation (stamped with the runtime's clock), at the
pace each called account's AWS budget allows (credcheck.controller.schedule, the table of due times), and reports the
re-check rounds. Every HOUSEKEEPING seconds the verdict cache and the rate limiter forget what expired and the freed
memory goes back to the system. The scheduler's table and the per-check metrics follow the checks' informer
(credcheck.controller.discovery.informer, through `record_of` and `keep_in_step`), which lists the checks again after a
watch gap: a check deleted meanwhile leaves both; one the scheduler finds gone (404) too.

Fault injection for tests and drills: SIGUSR2 makes the scheduler loop fail once, as a bug would (its supervisor
restarts it, and /readyz fails meanwhile).
"""

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from credcheck.controller import metrics, rotation_service
from credcheck.controller.runtime import Runtime, trim_memory
from credcheck.controller.schedule import Schedule
from credcheck.controller.supervise import Health, Supervisor
from credcheck.engine.aws import calls as aws_calls
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.check_status import CheckStatus, ClusterStatus
from credcheck.kube.client import ApiError
from credcheck.kube.contract import ANNOTATION_RECHECK, LABEL_DISCOVERED, parse_duration, timestamp
from credcheck.kube.impact import broken_clusters
from credcheck.kube.spec import CheckSpec, parse_spec

SCHEDULER_TICK = 1.0  # how often the scheduler asks for the due re-checks the budget allows
HOUSEKEEPING = 15.0  # how often the verdict cache and the rate limiter forget what expired
LOOP = "scheduler"  # the loop's name: in Health (/readyz) and credcheck_background_restarts_total{loop=…}


@dataclass(frozen=True)
class CheckRecord:
    """What the scheduler and the metrics keep of a check, made from its body in the informer's thread."""

    next_check: str | None
    suspended: bool
    account: str | None
    status: CheckStatus  # the conditions, summary and lastCheckTime the metrics read
    interval: float


def _kept(status: CheckStatus, discovered: bool = True) -> CheckStatus:
    """The conditions, summary and lastCheckTime the metrics read, and of `clusters` only the names of those the
    verdict breaks (kube.impact reads the same answer from this as from the whole status) — only for a discovered
    check: a check someone wrote by hand may name any Cluster, and must not raise alerts about it."""
    broken = broken_clusters(status) if discovered else ()
    return CheckStatus(conditions=status.conditions, summary=status.summary, last_check_time=status.last_check_time,
                       clusters=tuple(ClusterStatus(b.cluster, "False") for b in broken),
                       **metrics.hygiene_fields(status))


def record_of(default_interval: str) -> Callable[[Mapping[str, Any]], CheckRecord]:
    def record(body: Mapping[str, Any]) -> CheckRecord:
        status = CheckStatus.from_dict(body.get("status"))
        labels = (body.get("metadata") or {}).get("labels") or {}
        spec = parse_spec(body.get("spec") or {}, BUILTIN)  # as the handlers read it: unusable is not suspended
        usable = spec if isinstance(spec, CheckSpec) else None
        interval = (usable.interval_seconds if usable else None) or parse_duration(default_interval)
        return CheckRecord(status.next_check_time, bool(usable and usable.suspend),
                           status.principal.account if status.principal is not None else None,
                            _kept(status, labels.get(LABEL_DISCOVERED) == "true"), interval)
    return record


def keep_in_step(schedule: Schedule) -> Callable[[tuple[str, str], CheckRecord | None], None]:
    """Keeps the scheduler's table of due times and the metrics in step with what is stored (no API calls)."""
    def observe(key: tuple[str, str], found: CheckRecord | None) -> None:
        if found is None:
            schedule.forget(key)
            metrics.forget(*key)
            rotation_service.forget(*key)
            return
        if found.suspended:
            schedule.forget(key)
        else:
            schedule.set(key, found.next_check, found.account)
        metrics.record_status(*key, found.status, found.interval)
    return observe


async def request(runtime: Runtime, schedule: Schedule, key: tuple[str, str], logger: logging.Logger) -> None:
    """Ask for one re-check: touch the check's re-check annotation (its update handler checks it)."""
    namespace, name = key
    stamp = timestamp(runtime.now())
    try:
        await asyncio.to_thread(runtime.kube.patch_check, namespace, name,
                                {"metadata": {"annotations": {ANNOTATION_RECHECK: stamp}}})
    except ApiError as err:
        if err.status == 404:  # deleted, and its DELETED event not seen (a watch gap): no ghost in the schedule
            schedule.forget(key)
            metrics.forget(namespace, name)
            rotation_service.forget(namespace, name)
            logger.info("re-check of %s/%s not requested: the check is gone", namespace, name)
            return
        metrics.SCHEDULER_SKIPPED.inc()
        logger.warning("re-check of %s/%s not requested (%s); trying again next round", namespace, name, err)
        return
    except Exception as err:  # the API briefly away: it stays due, next round
        metrics.SCHEDULER_SKIPPED.inc()
        logger.warning("re-check of %s/%s not requested (%s); trying again next round", namespace, name,
                       type(err).__name__)
        return
    schedule.mark_requested(key, runtime.now().timestamp())


class Recheck:
    """The re-check scheduler: `start` paces the schedule to the operator's budget, arms SIGUSR2 and starts the loop
    under supervision; `stop` ends the loop and drops the checks still queued for the AWS pool (their objects are
    checked again on the next start)."""

    def __init__(self, runtime: Runtime, schedule: Schedule, health: Health, logger: logging.Logger) -> None:
        self.runtime = runtime
        self.schedule = schedule
        self.logger = logger
        self._loops = Supervisor(health, logger)
        self._crash = asyncio.Event()
        self._housekeeping = 0.0  # time.monotonic() of the last housekeeping

    def start(self) -> None:
        settings = self.runtime.settings
        self.schedule.configure(settings.aws_calls_per_second, open_limit=max(8, 4 * settings.concurrency))
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, self._crash.set)
        self._loops.start(LOOP, self.run)

    async def stop(self) -> None:
        await self._loops.stop_all()
        self.runtime.checks.shutdown(wait=False, cancel_futures=True)  # queued checks: their objects re-check on start

    async def run(self) -> None:
        """The loop: every SCHEDULER_TICK seconds a tick, and housekeeping when its time came; a crash requested
        (SIGUSR2) fails it."""
        self._housekeeping = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._crash.wait(), SCHEDULER_TICK)
                self._crash.clear()
                raise RuntimeError("scheduler crash requested (SIGUSR2: fault injection)")
            await self.tick()
            if time.monotonic() - self._housekeeping >= HOUSEKEEPING:
                self._housekeeping = time.monotonic()
                await self.housekeeping()

    async def tick(self) -> None:
        """Ask for the due re-checks the budget allows now, and follow the round."""
        ready, waiting = self.schedule.release(self.runtime.now().timestamp())
        metrics.RECHECK_BACKLOG.set(waiting)
        if ready:
            await asyncio.gather(*(request(self.runtime, self.schedule, key, self.logger) for key in ready))
        done = self.schedule.advance_round(time.monotonic(), aws_calls.aws_requests())
        metrics.ROUND_PROGRESS.set(self.schedule.pending())
        if done is not None:
            metrics.ROUND_DURATION.set(done.duration)
            metrics.ROUND_CALLS.set(done.calls)
            metrics.ROUND_CHECKS.set(done.checks)
            self.logger.info("re-check round: %d checks in %.0f s, %d AWS requests", done.checks, done.duration,
                             done.calls)

    async def housekeeping(self) -> None:
        self.runtime.cache.prune()
        if self.runtime.limiter is not None:
            self.runtime.limiter.prune()
        await asyncio.to_thread(trim_memory)
        metrics.SCHEDULER_ROUNDS.inc()
