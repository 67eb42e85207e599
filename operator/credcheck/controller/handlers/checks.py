"""AWSCredentialCheck handlers: check on create and on spec or source change; re-check when due.

Re-checks come from one scheduler task for all checks (not a kopf timer per object: timers cost a task and a finalizer
per object). It asks for a re-check by touching the credcheck.io/recheck annotation, at the pace each called account's
AWS budget allows (credcheck.controller.schedule). The scheduler's table and the per-check metrics follow the checks'
informer (credcheck.controller.discovery.informer), which lists the checks again after a watch gap: a check deleted
meanwhile leaves both; one the scheduler finds gone (404) too.
"""

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kopf

from credcheck.controller import metrics
from credcheck.controller.reconcile import Outcome, reconcile
from credcheck.controller.runtime import Runtime, trim_memory
from credcheck.controller.schedule import Schedule
from credcheck.controller.settings import parse_duration
from credcheck.controller.supervise import supervise
from credcheck.engine.aws import calls as aws_calls
from credcheck.kube.client import ApiError
from credcheck.kube.contract import ANNOTATION_RECHECK, GROUP, PLURAL, VERSION, timestamp

SCHEDULER_TICK = 1.0  # how often the scheduler asks for the due re-checks the budget allows
HOUSEKEEPING = 15.0  # how often the verdict cache and the rate limiter forget what expired


async def _apply(runtime: Runtime, schedule: Schedule, body: kopf.Body, patch: kopf.Patch, logger: Any) -> None:
    started = time.monotonic()
    outcome: Outcome = await reconcile(runtime, dict(body))
    duration = time.monotonic() - started
    meta = body.get("metadata", {})
    schedule.cost((str(meta.get("namespace")), str(meta.get("name"))), outcome.spent.items())
    patch.status.update(outcome.status)
    if outcome.event:
        kind, reason, message = outcome.event
        kopf.event(body, type=kind, reason=reason, message=message)
    ready: dict[str, Any] = next((c for c in outcome.status.get("conditions", []) if c["type"] == "Ready"), {})
    logger.info("check result: Ready=%s reason=%s principal=%s key=%s missingRequired=%s duration=%.2fs",
                ready.get("status"), ready.get("reason"), (outcome.status.get("principal") or {}).get("arn"),
                outcome.status.get("accessKeyId"), (outcome.status.get("summary") or {}).get("missingRequired"),
                duration)


@kopf.on.create(GROUP, VERSION, PLURAL, id="check-on-create")
async def check_on_create(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    if not body.get("spec", {}).get("suspend"):
        await _apply(memo.runtime, memo.schedule, body, patch, logger)


@kopf.on.update(GROUP, VERSION, PLURAL, id="check-on-change")
async def check_on_change(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Spec edits, a new source version (rotation) and the scheduler's re-check requests all land here."""
    if not body.get("spec", {}).get("suspend"):
        await _apply(memo.runtime, memo.schedule, body, patch, logger)


@dataclass(frozen=True)
class CheckSummary:
    """What the scheduler and the metrics keep of a check, made from its body in the informer's thread."""

    next_check: str | None
    suspended: bool
    account: str | None
    status: dict[str, Any]  # the conditions, summary and lastCheckTime the metrics read
    interval: float


def summarize(default_interval: str) -> Callable[[Mapping[str, Any]], CheckSummary]:
    def summary(body: Mapping[str, Any]) -> CheckSummary:
        spec, status = body.get("spec") or {}, body.get("status") or {}
        try:
            interval = parse_duration(str(spec.get("interval") or default_interval))
        except ValueError:
            interval = parse_duration(default_interval)
        return CheckSummary(status.get("nextCheckTime"), bool(spec.get("suspend")),
                            (status.get("principal") or {}).get("account"),
                            {k: status.get(k) for k in ("conditions", "summary", "lastCheckTime")}, interval)
    return summary


def observer(schedule: Schedule) -> Callable[[tuple[str, str], CheckSummary | None], None]:
    """Keeps the scheduler's table of due times and the metrics in step with what is stored (no API calls)."""
    def observe(key: tuple[str, str], found: CheckSummary | None) -> None:
        if found is None:
            schedule.forget(key)
            metrics.forget(*key)
            return
        if found.suspended:
            schedule.forget(key)
        else:
            schedule.set(key, found.next_check, found.account)
        metrics.record_status(*key, found.status, found.interval)
    return observe


async def _request(runtime: Runtime, schedule: Schedule, key: tuple[str, str], logger: Any) -> None:
    namespace, name = key
    stamp = timestamp(datetime.now(UTC))
    try:
        await asyncio.to_thread(runtime.kube.patch_check, namespace, name,
                                {"metadata": {"annotations": {ANNOTATION_RECHECK: stamp}}})
    except ApiError as err:
        if err.status == 404:  # deleted, and its DELETED event not seen (a watch gap): no ghost in the schedule
            schedule.forget(key)
            metrics.forget(namespace, name)
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


async def _scheduler(runtime: Runtime, schedule: Schedule, logger: Any, crash: asyncio.Event) -> None:
    housekeeping = 0.0
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(crash.wait(), SCHEDULER_TICK)
            crash.clear()
            raise RuntimeError("scheduler crash requested (SIGUSR2: fault injection)")
        ready, waiting = schedule.release(runtime.now().timestamp())
        metrics.RECHECK_BACKLOG.set(waiting)
        if ready:
            await asyncio.gather(*(_request(runtime, schedule, key, logger) for key in ready))
        done = schedule.advance_round(time.monotonic(), aws_calls.aws_requests())
        metrics.ROUND_PROGRESS.set(schedule.pending())
        if done is not None:
            metrics.ROUND_DURATION.set(done.duration)
            metrics.ROUND_CALLS.set(done.calls)
            metrics.ROUND_CHECKS.set(done.checks)
            logger.info("re-check round: %d checks in %.0f s, %d AWS requests", done.checks, done.duration,
                        done.calls)
        if time.monotonic() - housekeeping >= HOUSEKEEPING:
            housekeeping = time.monotonic()
            runtime.cache.prune()
            if runtime.limiter is not None:
                runtime.limiter.prune()
            await asyncio.to_thread(trim_memory)
            metrics.SCHEDULER_ROUNDS.inc()


@kopf.on.startup()
async def start_scheduler(memo: kopf.Memo, logger: Any, **_: Any) -> None:
    memo.schedule.configure(memo.runtime.settings.aws_calls_per_second,
                            open_limit=max(8, 4 * memo.runtime.settings.concurrency))
    crash = asyncio.Event()
    # fault injection for tests and drills: SIGUSR2 makes the scheduler fail once, as a bug would
    with contextlib.suppress(NotImplementedError, RuntimeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR2, crash.set)
    memo.scheduler = asyncio.create_task(
        supervise("scheduler", lambda: _scheduler(memo.runtime, memo.schedule, logger, crash), memo.health, logger))


@kopf.on.cleanup()
async def stop_scheduler(memo: kopf.Memo, **_: Any) -> None:
    task = memo.get("scheduler")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    memo.runtime.checks.shutdown(wait=False, cancel_futures=True)  # queued checks: their objects re-check on start
