"""AWSCredentialCheck handlers: check on create and on spec or source change; re-check when due.

Re-checks come from one scheduler task for all checks (not a kopf timer per object: timers cost a task and a
finalizer per object). It asks for a re-check by touching the credcheck.io/recheck annotation.
"""

import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime
from typing import Any

import kopf

from credcheck import metrics
from credcheck.contract import ANNOTATION_RECHECK, GROUP, PLURAL, VERSION, timestamp
from credcheck.reconcile import Outcome, is_due, reconcile
from credcheck.runtime import Runtime
from credcheck.schedule import Schedule
from credcheck.settings import parse_duration
from credcheck.supervise import supervise

SCHEDULER_PERIOD = 15.0


async def _apply(runtime: Runtime, body: kopf.Body, patch: kopf.Patch, logger: Any) -> None:
    started = time.monotonic()
    outcome: Outcome = await reconcile(runtime, dict(body))
    duration = time.monotonic() - started
    if outcome.delete:
        meta = body.get("metadata", {})
        await asyncio.to_thread(runtime.kube.delete_check, meta["namespace"], meta["name"])
        logger.info("deleted the discovered check: its source is gone")
        return
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
        await _apply(memo.runtime, body, patch, logger)


@kopf.on.update(GROUP, VERSION, PLURAL, id="check-on-change")
async def check_on_change(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Spec edits, a new source version (rotation) and the scheduler's re-check requests all land here."""
    if not body.get("spec", {}).get("suspend"):
        await _apply(memo.runtime, body, patch, logger)


@kopf.on.event(GROUP, VERSION, PLURAL)
async def track_check(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """Keeps the scheduler's table of due times and the metrics in step with what is stored (no API calls)."""
    meta = body.get("metadata", {})
    key = (str(meta.get("namespace")), str(meta.get("name")))
    schedule: Schedule = memo.schedule
    if event.get("type") == "DELETED":
        schedule.forget(key)
        metrics.forget(*key)
        return
    if body.get("spec", {}).get("suspend"):
        schedule.forget(key)
    else:
        schedule.set(key, (body.get("status") or {}).get("nextCheckTime"))
    try:
        interval = parse_duration(str(body.get("spec", {}).get("interval") or memo.runtime.settings.interval))
    except ValueError:
        interval = memo.runtime.settings.interval_seconds
    metrics.record_status(*key, body.get("status") or {}, interval)


async def _scheduler(runtime: Runtime, schedule: Schedule, logger: Any, crash: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(crash.wait(), SCHEDULER_PERIOD)
            crash.clear()
            raise RuntimeError("scheduler crash requested (SIGUSR2: fault injection)")
        now = runtime.now()

        def due_now(when: str | None, now: datetime = now) -> bool:
            # a check never checked yet is its create handler's (kopf retries that one), not the scheduler's
            return when is not None and is_due({"nextCheckTime": when}, now)

        for namespace, name in schedule.due(due_now):
            stamp = timestamp(datetime.now(UTC))
            try:
                await asyncio.to_thread(runtime.kube.patch_check, namespace, name,
                                        {"metadata": {"annotations": {ANNOTATION_RECHECK: stamp}}})
            except Exception as err:  # gone meanwhile, or the API is briefly away: it stays due, next round
                metrics.SCHEDULER_SKIPPED.inc()
                logger.warning("re-check of %s/%s not requested (%s); trying again next round", namespace, name,
                               err, exc_info=True)
                continue
            schedule.mark_requested((namespace, name))
        runtime.cache.prune()
        metrics.SCHEDULER_ROUNDS.inc()


@kopf.on.startup()
async def start_scheduler(memo: kopf.Memo, logger: Any, **_: Any) -> None:
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
