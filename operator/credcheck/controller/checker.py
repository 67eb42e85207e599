"""One check run: a check's object reconciled, its status written through the status subresource, its Events
posted, its result logged — the one path kopf's handlers (create, a spec or source change, an admin's re-check
request) and the re-check scheduler (a check due) all take.

A status-only write changes no metadata, spec or annotation, so kopf's update handler, which acts on those alone,
is not woken by it: a scheduled re-check costs one read of the check and one status write. The Events on the check
are written here (kopf's own event poster serves only code running in its per-object tasks, the scheduler's is not).
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from credcheck.controller.cluster_events import ClusterEvents
from credcheck.controller.reconcile import Reconciled, reconcile
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import Schedule
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.client import ApiError
from credcheck.kube.cluster_events import decide
from credcheck.kube.contract import ANNOTATION_RECHECK
from credcheck.kube.events import event_manifest
from credcheck.kube.spec import parse_check

LOG = logging.getLogger("credcheck.controller.checker")


def recheck_asked(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Whether an update set a new value on the re-check annotation (an admin's `credcheck recheck` or
    `kubectl annotate … credcheck.io/recheck=…`): that re-check goes past the verdict cache (pure)."""
    def value(body: Mapping[str, Any] | None) -> str | None:
        found = ((body or {}).get("metadata") or {}).get("annotations") or {}
        return found.get(ANNOTATION_RECHECK) if isinstance(found, Mapping) else None

    wanted = value(new)
    return wanted is not None and wanted != value(old)


def check_event(body: Mapping[str, Any], kind: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """An Event about the check itself (involvedObject: the check, as kopf would name it)."""
    meta = body.get("metadata") or {}
    involved = {"apiVersion": body.get("apiVersion", ""), "kind": body.get("kind", ""), "name": meta.get("name", ""),
                "namespace": meta.get("namespace", ""), "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", "")}
    return event_manifest(namespace=meta.get("namespace", ""), involved=involved, type_=kind, reason=reason,
                          message=message, now=now)


@dataclass
class Checker:
    """`run` checks one check and writes what it found; shared by the handlers and the scheduler (made at startup,
    kept in kopf's memo)."""

    runtime: Runtime
    schedule: Schedule
    cluster_events: ClusterEvents | None = field(default=None, repr=False)  # made on the loop, at first use
    _posting: set["asyncio.Task[None]"] = field(default_factory=set, repr=False)  # Events being posted

    async def run(self, body: Mapping[str, Any], logger: Any, *,
                  trigger: str, fresh: bool = False, resource_version: str | None = None) -> Reconciled | None:
        """Reconcile the check `body` and write its status (with `resource_version`: only onto that version,
        Conflict otherwise) and Events; None when it is suspended or was deleted meanwhile. Raises what the status
        write raises otherwise (the handler's retry or the scheduler's next try)."""
        runtime = self.runtime
        check = parse_check(body, BUILTIN)  # the one place a check's object is read
        if check.spec is not None and check.spec.suspend:
            return None
        started = time.monotonic()
        outcome = await reconcile(runtime, check, body.get("status") or {}, fresh=fresh)
        duration = time.monotonic() - started
        self.schedule.cost((check.namespace, check.name), outcome.spent.items())
        try:
            await asyncio.to_thread(runtime.kube.patch_check_status, check.namespace, check.name,
                                    outcome.status.to_dict(), resource_version)
        except ApiError as err:
            if err.status != 404:
                raise
            logger.info("%s/%s was deleted while it was checked: no status written", check.namespace, check.name)
            return None  # its DELETED event takes it out of the schedule and the metrics
        said = ([outcome.event] if outcome.event else []) + list(outcome.rotation_events)
        events = [check_event(body, kind, reason, message, runtime.now()) for kind, reason, message in said]
        if events:  # in the background, as kopf posted them: the run (and its handler's place) ends with the status
            task = asyncio.get_running_loop().create_task(self._post(events, logger))
            self._posting.add(task)
            task.add_done_callback(self._posting.discard)
        # where KKP's users look: Events on the Clusters the verdict breaks (a discovered check's own: a check
        # written by hand may name any Cluster) and on those rotation left behind, through the one writer
        if self.cluster_events is None:
            self.cluster_events = ClusterEvents(runtime.kube, runtime.now)
        status = outcome.status
        verdict_events = decide(status) if runtime.settings.cluster_events and check.discovered else []
        self.cluster_events.publish([*verdict_events, *outcome.cluster_events])
        ready = status.ready
        logger.info("check result: Ready=%s reason=%s principal=%s key=%s missingRequired=%s duration=%.2fs "
                    "trigger=%s%s", ready and ready.status, ready and ready.reason,
                    status.principal and status.principal.arn, status.access_key_id,
                    status.summary and status.summary.missing_required, duration, trigger, " fresh" if fresh else "")
        return outcome

    async def _post(self, events: list[dict[str, Any]], logger: Any) -> None:
        for event in events:
            try:
                await asyncio.to_thread(self.runtime.kube.create_event, event)
            except Exception:  # the status says it too; the next transition posts again
                logger.exception("the %s Event %s on %s/%s could not be posted", event["type"], event["reason"],
                                 event["involvedObject"]["namespace"], event["involvedObject"]["name"])
