"""Re-checks when due: one scheduler loop for all checks (not a kopf timer per object: timers cost a task and a
finalizer per object).

At the pace each called account's AWS budget allows (credcheck.controller.schedule, the table of due times), it runs
each due check itself — one read of the check (GET), then the same run kopf's handlers make
(credcheck.controller.checker: reconcile, a status-only write onto the version read, Events) — and reports the
re-check rounds. No annotation or other metadata is written, so kopf's update handler is not woken: a re-check
costs one read and one status write. A re-check that fails (the API away, the check changed between the read and
the write, a bug) is logged, with its traceback when unexpected, and is due again after --retry-base; one whose
check is gone (404) leaves the table. Every HOUSEKEEPING seconds the verdict cache and the rate limiter forget what
expired and the freed memory goes back to the system. The scheduler's table and the per-check metrics follow the
checks' informer (credcheck.controller.discovery.informer, through `record_of` and `keep_in_step`), which lists
the checks again after a watch gap: a check deleted meanwhile leaves both.

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
from typing import Any, Protocol

from credcheck.controller import metrics, rotation_service
from credcheck.controller.runtime import Runtime, trim_memory
from credcheck.controller.schedule import Schedule
from credcheck.controller.supervise import Health, Supervisor
from credcheck.engine.aws import calls as aws_calls
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.check_status import CheckStatus, ClusterStatus
from credcheck.kube.client import ApiError, Conflict
from credcheck.kube.contract import LABEL_DISCOVERED, parse_duration
from credcheck.kube.impact import broken_clusters
from credcheck.kube.spec import CheckSpec, parse_spec

SCHEDULER_TICK = 1.0  # how often the scheduler asks for the due re-checks the budget allows
HOUSEKEEPING = 15.0  # how often the verdict cache and the rate limiter forget what expired
LOG = logging.getLogger("credcheck.controller.recheck")
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


class Run(Protocol):
    """credcheck.controller.checker.Checker.run: one check's run, its status written onto `resource_version`."""

    async def __call__(self, body: Mapping[str, Any], logger: Any, *, trigger: str, fresh: bool = False,
                       resource_version: str | None = None) -> Any: ...


def _gone(schedule: Schedule, key: tuple[str, str]) -> None:
    """Deleted, and its DELETED event not seen (a watch gap): no ghost in the schedule or the metrics."""
    schedule.forget(key)
    metrics.forget(*key)
    rotation_service.forget(*key)


async def recheck(runtime: Runtime, schedule: Schedule, key: tuple[str, str], run: Run) -> None:
    """One due re-check: read the check, run it (status and Events written by `run`); on failure it is due again
    after --retry-base."""
    namespace, name = key
    logger = logging.LoggerAdapter(LOG, {"k8s_ref": {"namespace": namespace, "name": name}})
    again = runtime.now().timestamp() + runtime.settings.retry_base_seconds
    try:
        body = await asyncio.to_thread(runtime.kube.get_check, namespace, name)
        if body is None:
            _gone(schedule, key)
            logger.info("re-check of %s/%s not run: the check is gone", namespace, name)
            return
        version = str((body.get("metadata") or {}).get("resourceVersion") or "") or None
        await run(body, logger, trigger="schedule", resource_version=version)
    except Conflict:  # changed since the read (a spec edit, the handler's own status): its newer status counts
        schedule.retry(key, again)
        logger.info("re-check of %s/%s: the check changed meanwhile; due again unless its new status says "
                    "otherwise", namespace, name)
    except ApiError as err:
        if err.status == 404:
            _gone(schedule, key)
            logger.info("re-check of %s/%s not written: the check is gone", namespace, name)
            return
        metrics.SCHEDULER_SKIPPED.inc()
        schedule.retry(key, again)
        logger.warning("re-check of %s/%s failed (%s); trying again in %.0f s", namespace, name, err,
                       runtime.settings.retry_base_seconds)
    except Exception:  # the API briefly away, or a bug: logged with its traceback, due again
        metrics.SCHEDULER_SKIPPED.inc()
        schedule.retry(key, again)
        logger.exception("re-check of %s/%s failed; trying again in %.0f s", namespace, name,
                         runtime.settings.retry_base_seconds)


class Recheck:
    """The re-check scheduler: `start` paces the schedule to the operator's budget, arms SIGUSR2 and starts the loop
    under supervision; `stop` ends the loop and drops the checks still queued for the AWS pool (their objects are
    checked again on the next start)."""

    def __init__(self, runtime: Runtime, schedule: Schedule, health: Health, logger: logging.Logger,
                 run: Run) -> None:
        self.runtime = runtime
        self.schedule = schedule
        self.logger = logger
        self.run_check = run
        self._running: set[asyncio.Task[None]] = set()  # the re-checks under way
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
        for task in list(self._running):  # unwritten: their checks are still due on the next start
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
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
        """Start the due re-checks the budget allows now (each a task: the loop does not wait for AWS; the
        schedule's open limit bounds how many run at once), and follow the round."""
        now = self.runtime.now().timestamp()
        ready, waiting = self.schedule.release(now)
        metrics.RECHECK_BACKLOG.set(waiting)
        for key in ready:
            self.schedule.mark_requested(key, now)
            task = asyncio.create_task(recheck(self.runtime, self.schedule, key, self.run_check),
                                       name=f"re-check {key[0]}/{key[1]}")
            self._running.add(task)
            task.add_done_callback(self._running.discard)
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
