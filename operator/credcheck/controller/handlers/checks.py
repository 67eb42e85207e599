"""AWSCredentialCheck handlers: check on create and on spec or source change (the re-checks the scheduler asks for
land there too): the object parsed once, reconciled, its status and Event written."""

import time
from typing import Any

import kopf

from credcheck.controller.cluster_events import ClusterEvents
from credcheck.controller.reconcile import Reconciled, reconcile
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import Schedule
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.cluster_events import decide
from credcheck.kube.contract import GROUP, PLURAL, VERSION
from credcheck.kube.spec import CheckObject, parse_check


async def _apply(runtime: Runtime, schedule: Schedule, check: CheckObject, *, body: kopf.Body, patch: kopf.Patch,
                 logger: Any, memo: kopf.Memo) -> None:
    started = time.monotonic()
    outcome: Reconciled = await reconcile(runtime, check, body.get("status") or {})
    duration = time.monotonic() - started
    schedule.cost((check.namespace, check.name), outcome.spent.items())
    status = outcome.status
    patch.status.update(status.to_dict())
    if outcome.event:
        kind, reason, message = outcome.event
        kopf.event(body, type=kind, reason=reason, message=message)
    for kind, reason, message in outcome.rotation_events:
        kopf.event(body, type=kind, reason=reason, message=message)
    # where KKP's users look: Events on the Clusters the verdict breaks (a discovered check's own: a check written
    # by hand may name any Cluster) and on those rotation left behind, through the one writer
    if "cluster_events" not in memo:
        memo.cluster_events = ClusterEvents(runtime.kube, runtime.now)
    verdict_events = decide(status) if runtime.settings.cluster_events and check.discovered else []
    memo.cluster_events.publish([*verdict_events, *outcome.cluster_events])
    ready = status.ready
    logger.info("check result: Ready=%s reason=%s principal=%s key=%s missingRequired=%s duration=%.2fs",
                ready and ready.status, ready and ready.reason, status.principal and status.principal.arn,
                status.access_key_id, status.summary and status.summary.missing_required, duration)


@kopf.on.create(GROUP, VERSION, PLURAL, id="check-on-create")
async def check_on_create(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    check = parse_check(body, BUILTIN)  # the one place a check's object is read
    if check.spec is None or not check.spec.suspend:
        await _apply(memo.runtime, memo.schedule, check, body=body, patch=patch, logger=logger, memo=memo)


@kopf.on.update(GROUP, VERSION, PLURAL, id="check-on-change")
async def check_on_change(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, logger: Any, **_: Any) -> None:
    """Spec edits, a new source version (rotation) and the scheduler's re-check requests all land here."""
    check = parse_check(body, BUILTIN)  # the one place a check's object is read
    if check.spec is None or not check.spec.suspend:
        await _apply(memo.runtime, memo.schedule, check, body=body, patch=patch, logger=logger, memo=memo)
