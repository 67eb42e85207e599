"""Writing the Events on KKP Clusters, off the handler's path and rate-bounded: the one writer of them, for the ones
kube.cluster_events decides from a verdict and for rotation's (controller.rotation_service: a Cluster left on old or
refused keys), all of one type (kube.cluster_events.ClusterEvent).

A handler hands over a check's Events (`publish`); they are written in a background task, one at a time through one
token bucket for the whole operator (WRITES_PER_SECOND, BURST), so a credential that 2,000 Clusters use costs the
apiserver at most WRITES_PER_SECOND Event writes a second and never holds the check's status. Each Event is read
first (get; KKP's Cluster IDs are random, so a name is never a second Cluster's), then created or updated (count +
1), or left when unchanged and written lately (kube.cluster_events.write_plan). A Cluster's uid is read once (the
ClusterRole's get on clusters) and remembered; a Cluster that is gone is skipped. A failed write is logged with its
traceback and left to the next verdict, which decides its Events again from the status (level-triggered).

RBAC: get, create and patch on Events in the namespace `default` (a Role there), nothing else.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from credcheck.kube.client import Conflict, ReadFailure
from credcheck.kube.cluster_events import (
    NAMESPACE,
    ClusterEvent,
    fixed_since,
    manifest,
    update,
    warning_names,
    write_plan,
)
from credcheck.kube.ports import ClusterEventWriter

WRITES_PER_SECOND = 5.0
BURST = 25

log = logging.getLogger(__name__)


class Bucket:
    """A token bucket on the event loop's clock: `take` waits (asynchronously) for a token."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate, float(burst), clock
        self._tokens, self._at = float(burst), clock()
        self._lock = asyncio.Lock()

    def wait_for_token(self) -> float:
        """Seconds until a token is there (0: take it now)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        return 0.0 if self._tokens >= 1 - 1e-9 else (1 - self._tokens) / self._rate  # 1e-9: float rounding

    async def take(self) -> None:
        async with self._lock:
            while (wait := self.wait_for_token()) > 0:
                await asyncio.sleep(wait)
            self._tokens -= 1


class ClusterEvents:
    def __init__(self, kube: ClusterEventWriter, now: Callable[[], datetime], *, rate: float = WRITES_PER_SECOND,
                 burst: int = BURST) -> None:
        self._kube, self._now = kube, now
        self._bucket = Bucket(rate, burst)
        self._uids: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def publish(self, events: list[ClusterEvent]) -> None:
        """Write these Events in the background (the caller does not wait)."""
        if events:
            task = asyncio.get_running_loop().create_task(self._write_all(events))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write_all(self, events: list[ClusterEvent]) -> None:
        for event in events:
            try:
                await self._write(event)
            except Exception:
                log.exception("could not write the %s Event %s about Cluster %s", event.type, event.reason,
                              event.cluster)

    async def _uid(self, cluster: str) -> str | None:
        uid = self._uids.get(cluster)
        if uid is None:
            found = await asyncio.to_thread(self._kube.cluster, cluster)
            if isinstance(found, ReadFailure):
                log.info("no Event about Cluster %s: %s", cluster, found.reason)
                return None
            uid = str((found.get("metadata") or {}).get("uid") or "")
            self._uids[cluster] = uid
        return uid

    async def _write(self, event: ClusterEvent) -> None:
        existing = await asyncio.to_thread(self._kube.get_event, NAMESPACE, event.name)
        if event.type == "Normal":  # only after a Warning: a Cluster never broken gets no Event at all
            warnings = [await asyncio.to_thread(self._kube.get_event, NAMESPACE, name)
                        for name in warning_names(event.cluster)]
            if not fixed_since(warnings, existing):
                return
        if write_plan(event, existing, self._now()) == "skip":
            return
        uid = await self._uid(event.cluster)
        if uid is None:
            return
        await self._bucket.take()
        if existing is None:
            try:
                await asyncio.to_thread(self._kube.create_event, manifest(event, uid, self._now()))
                return
            except Conflict:  # another writer made it meanwhile: update that one
                existing = await asyncio.to_thread(self._kube.get_event, NAMESPACE, event.name)
                if existing is None:
                    return
        await asyncio.to_thread(self._kube.patch_event, NAMESPACE, event.name, update(event, existing, self._now()))
