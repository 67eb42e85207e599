"""Leader election on a coordination.k8s.io Lease, with the operator's own Kubernetes client.

client-go's algorithm, on its record: a replica holds the Lease while it renews it every retry period; a standby
takes it over once the record it observed has not changed for the lease duration, measured on its own clock
(clocks of different nodes are never compared), or at once when the holder released it (an empty holder). Every
write names the resourceVersion it was computed from, so of two replicas racing for it one wins and the other
sees a Conflict. A leader that could not renew for the renew deadline (shorter than the lease duration) stops
before any standby may take over — whatever the API server does: the deadline counts from when the last successful
renewal was *sent* (the API server may have stored it at any moment after), a renewal in flight is abandoned when
the deadline passes (`hold` waits for it only that long), and a watchdog thread (`guard`), which needs neither the
event loop nor the API, ends the process at the deadline even if the loop is busy. Lease calls go through a client
of their own (`lease_client`: short timeout, one attempt, no Retry-After sleeps, its own connections) in a pool of
their own threads, never queued behind the operator's other Kubernetes calls.
On a graceful stop the leader releases the Lease (empty holder, one second), so
a standby takes over within one retry period instead of a lease duration.

kopf's peering is not leader election: operators of equal priority all pause. The operator therefore starts kopf
only once it holds the Lease, and exits when it loses it (its replacement starts as a standby).
"""

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import urllib3
from prometheus_client import Gauge

from credcheck.controller.metrics import REGISTRY
from credcheck.kube.client import Conflict, Kube
from credcheck.kube.ports import LeaseKeeper

LOG = logging.getLogger("credcheck.controller.leader")
MICROTIME = "%Y-%m-%dT%H:%M:%S.%fZ"
LEADER = Gauge("credcheck_leader", "1 while this replica holds the Lease and runs the handlers, else 0",
               registry=REGISTRY)


def lease_client(renew_deadline: float) -> Kube:
    """The Lease's own Kubernetes client: each call ends within half the renew deadline (1-5 s), is tried once
    (the elector tries again next retry period, instead of sleeping out a 429's Retry-After), and has two
    connections of its own."""
    seconds = max(1.0, min(5.0, renew_deadline / 2))
    return Kube(timeout=urllib3.Timeout(connect=seconds, read=seconds), attempts=1, connections=2)


def default_identity() -> str:
    """The pod's name in a cluster (unique among live pods, kept across container restarts), else host and pid."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class Record:
    """What the Lease says; `version` is its resourceVersion."""

    holder: str
    duration: float
    renewed: str
    transitions: int
    version: str
    acquired: str = ""

    @classmethod
    def of(cls, lease: dict[str, Any]) -> "Record":
        spec = lease.get("spec") or {}
        return cls(str(spec.get("holderIdentity") or ""), float(spec.get("leaseDurationSeconds") or 0),
                   str(spec.get("renewTime") or ""), int(spec.get("leaseTransitions") or 0),
                   str((lease.get("metadata") or {}).get("resourceVersion", "")), str(spec.get("acquireTime") or ""))

    def observed(self) -> tuple[str, str, str]:
        """What changes when the holder renews (or anyone writes): the standby's reason to keep waiting."""
        return self.holder, self.renewed, self.version


class Action(Enum):
    CREATE = "create"  # no Lease yet
    RENEW = "renew"  # ours
    TAKE = "take"  # released, or expired by our own clock
    WAIT = "wait"  # another replica's, alive


def decide(record: Record | None, me: str, unchanged_for: float) -> Action:
    """What a replica does with the Lease it read, `unchanged_for` seconds after it first saw this record."""
    if record is None:
        return Action.CREATE
    if record.holder == me:
        return Action.RENEW
    if not record.holder or unchanged_for >= record.duration:
        return Action.TAKE
    return Action.WAIT


class LeaderElector:
    def __init__(self, kube: LeaseKeeper, namespace: str, name: str, identity: str, *, lease_duration: float,
                 renew_deadline: float, retry_period: float, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.kube, self.namespace, self.name, self.identity = kube, namespace, name, identity
        self.lease_duration, self.renew_deadline, self.retry_period = lease_duration, renew_deadline, retry_period
        self._clock, self._now = clock, now
        self._record: Record | None = None  # the last record read or written
        self._observed: tuple[tuple[str, str, str], float] | None = None  # (record seen, when first seen)
        self.leading = False
        self.renewed_at = 0.0  # our clock, when the last successful write as holder was sent
        self._threads = ThreadPoolExecutor(2, thread_name_prefix="lease")  # Lease calls only

    def expired(self) -> bool:
        """Leading, and the renew deadline has passed since the last successful renewal was sent."""
        return self.leading and self._clock() - self.renewed_at >= self.renew_deadline

    def _left(self) -> float:
        return self.renew_deadline - (self._clock() - self.renewed_at)

    def _spec(self, record: Record | None, *, release: bool = False) -> dict[str, Any]:
        stamp = self._now().strftime(MICROTIME)
        ours = record is not None and record.holder == self.identity
        transitions = 0 if record is None else record.transitions + (0 if ours or release else 1)
        return {"holderIdentity": "" if release else self.identity,
                "leaseDurationSeconds": 1 if release else max(1, round(self.lease_duration)),
                "acquireTime": record.acquired if ours and record and record.acquired else stamp,
                "renewTime": stamp, "leaseTransitions": transitions}

    def try_once(self) -> bool:
        """One attempt (blocking): read the Lease, and create, renew or take it when due. True when we hold it."""
        sent = self._clock()  # a write of ours may be stored from this moment on: our lease counts from here
        lease = self.kube.get_lease(self.namespace, self.name)
        record = None if lease is None else Record.of(lease)
        now = self._clock()
        if record is not None and (self._observed is None or self._observed[0] != record.observed()):
            self._observed = (record.observed(), now)
        action = decide(record, self.identity, now - self._observed[1] if self._observed else 0.0)
        if action is Action.WAIT:
            self.leading = False
            return False
        try:
            if action is Action.CREATE:
                stored = self.kube.create_lease(self.namespace, self.name, self._spec(None))
            else:
                assert record is not None
                stored = self.kube.update_lease(self.namespace, self.name, self._spec(record), record.version)
        except Conflict:
            return False  # another replica wrote first: read again next time
        self._record = Record.of(stored)
        self._observed = (self._record.observed(), now)
        if not self.leading:
            how = {Action.CREATE: "created it", Action.RENEW: "it was ours already"}.get(
                action, f"taken over from {(record.holder if record else '') or 'nobody (released)'}")
            LOG.info("became the leader (Lease %s/%s, identity %s: %s)", self.namespace, self.name, self.identity,
                     how)
        self.leading, self.renewed_at = True, sent
        return True

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Until we hold the Lease (True) or `stop` is set (False); API errors are logged and retried."""
        waiting_logged = False
        while not stop.is_set():
            try:
                if await asyncio.get_running_loop().run_in_executor(self._threads, self.try_once):
                    LEADER.set(1)
                    return True
            except Exception as err:  # the API is away: keep trying, never lead on a guess
                LOG.warning("leader election: could not read or write the Lease (%s); retrying", err)
            if not waiting_logged and self._observed is not None:
                LOG.info("standing by: Lease %s/%s is held by %s", self.namespace, self.name,
                         self._observed[0][0] or "nobody")
                waiting_logged = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.retry_period)
        return False

    async def hold(self) -> None:
        """Renew every retry period; returns when the Lease is lost: another holder, or the renew deadline passed
        without a successful renewal (a renewal still in flight then is not waited for)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.0, min(self.retry_period, self._left())))
            if self._left() <= 0:
                break
            try:
                renewal = loop.run_in_executor(self._threads, self._renew)
                if await asyncio.wait_for(renewal, self._left()):
                    continue
                LOG.error("lost the Lease %s/%s to %s", self.namespace, self.name,
                          self._observed[0][0] if self._observed else "another replica")
                self.leading = False
                LEADER.set(0)
                return
            except TimeoutError:
                break
            except Exception as err:
                LOG.warning("could not renew the Lease (%s)", err)
            if self._left() <= 0:
                break
        LOG.error("could not renew the Lease for %.1f s (the renew deadline): stepping down",
                  self._clock() - self.renewed_at)
        self.leading = False
        LEADER.set(0)

    def guard(self, on_expiry: Callable[[], None], poll: float = 0.1) -> threading.Thread:
        """A daemon thread that calls `on_expiry` (the operator: exit at once) when the renew deadline passes while
        leading: it needs neither the event loop (which a long handler may hold) nor the API server."""
        def watch() -> None:
            while True:
                if self.expired():
                    on_expiry()
                    return
                time.sleep(poll)

        thread = threading.Thread(target=watch, name="lease-guard", daemon=True)
        thread.start()
        return thread

    def _renew(self) -> bool:
        """Write our renewal on the version we last wrote; on a Conflict read it again and decide."""
        if self._record is not None and self._record.holder == self.identity:
            sent = self._clock()
            try:
                stored = self.kube.update_lease(self.namespace, self.name, self._spec(self._record),
                                                self._record.version)
            except Conflict:
                pass
            else:
                self._record = Record.of(stored)
                self.renewed_at = max(self.renewed_at, sent)
                return True
        return self.try_once()

    async def release(self) -> None:
        """On a graceful stop: give the Lease up so that a standby takes over at once."""
        if not self.leading or self._record is None:
            return
        self.leading = False
        LEADER.set(0)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(
                self._threads, self.kube.update_lease, self.namespace, self.name,
                self._spec(self._record, release=True), self._record.version), self.renew_deadline)
            LOG.info("released the Lease %s/%s", self.namespace, self.name)
        except Exception as err:  # it expires on its own after the lease duration
            LOG.warning("could not release the Lease (%s); it expires in %.0f s", err, self.lease_duration)
