"""List, then watch, one kind of object into a Store: client-go's informer, keeping only what discovery needs.

A list replaces the store exactly (objects it lacks are gone, whatever events were missed); the watch goes on from
the list's resourceVersion, bookmarks keeping that version fresh. When the API server answers 410 (the version is
too old: the events in between are lost, as after a long disconnection or an API server restart) the informer
lists again, and so it does every `relist_every` seconds whatever happened: the store never trusts a missed event.

Secrets are listed and watched as metadata only (`PartialObjectMetadata`): their data never reaches the operator
through a watch, and a Secret costs its name and resourceVersion. Each list or watch request runs in a daemon thread
of its own (the Kubernetes client blocks); events are applied on the event loop, in order, and an event of a watch
that an newer list has superseded is dropped.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from credcheck.controller import metrics
from credcheck.controller.discovery.store import ObjectId, Store, object_id
from credcheck.kube.client import ApiError, Expired
from credcheck.kube.ports import Watcher

LOG = logging.getLogger("credcheck.controller.discovery")
WATCH_SECONDS = 300.0  # the longest one watch request lasts (the API server ends it then)
NOT_SERVED_RETRY = 60.0  # a kind the API server does not serve (its CRD is not installed): looked for again then
GONE = object()  # a DELETED event's entry
# objects per list page, what one page costs while it is read: metadata is small; a check with its status is not
METADATA_PAGE, FULL_PAGE = 500, 100

Entry = Callable[[Mapping[str, Any]], tuple[Hashable, Any] | None]
T = TypeVar("T")


@dataclass
class Informer:
    """One kind (in one namespace, or cluster-wide) kept in `store`; `changed` hears the keys whose values changed.

    `project`, when set, is computed from each object in the request's thread and handed to `observe` on the loop
    (None when the object is gone): the AWSCredentialChecks' informer feeds the scheduler and the metrics so."""

    name: str
    kube: Watcher
    path: str
    entry: Entry
    changed: Callable[[list[Hashable]], None]
    metadata_only: bool = False
    scope: str | None = None  # the namespace it lists (its store may hold other namespaces' objects too)
    relist_every: float = 600.0
    project: Callable[[Mapping[str, Any]], Any] | None = None
    observe: Callable[[ObjectId, Any], None] | None = None
    store: Store[Any, Any] = field(default_factory=Store)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    relists: int = 0
    expired: int = 0
    _generation: int = 0  # bumped by every list: events of an older watch are dropped
    _response: Any = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        reason = "start"
        try:
            while True:
                version = await self._relist(reason)
                if version is None:  # not served: nothing of this kind exists
                    await asyncio.sleep(NOT_SERVED_RETRY)
                    continue
                reason = "resync"
                deadline, failures = loop.time() + self.relist_every, 0
                while (left := deadline - loop.time()) > 0:
                    try:
                        version = await _in_thread(f"watch {self.name}", self._watch, version,
                                                   min(left, WATCH_SECONDS), self._generation, loop)
                        failures = 0
                    except Expired:
                        self.expired += 1
                        LOG.info("the watch of %s expired (410 Gone): listing again", self.name)
                        reason = "expired"
                        break
                    except Exception as err:  # refused, or cut: the API server away, the connection dropped
                        failures += 1
                        LOG.warning("the watch of %s failed (%s); %s", self.name,
                                    err if isinstance(err, ApiError) else type(err).__name__,
                                    "listing again" if failures >= 4 else "watching again")
                        if failures >= 4:
                            reason = "failures"
                            break
                        await asyncio.sleep(min(30.0, 0.5 * 2.0 ** failures))
        finally:
            self._shut()

    async def _relist(self, reason: str) -> str | None:
        """List everything (in pages) and make the store exactly that; the list's resourceVersion, or None when
        the API server does not serve the kind."""
        try:
            listed, projections, version = await _in_thread(f"list {self.name}", self._list)
        except ApiError as err:
            if err.status != 404:
                raise
            LOG.info("%s: not served by the API server (404): none, looking again in %.0f s", self.name,
                     NOT_SERVED_RETRY)
            listed, projections, version = {}, {}, None
        self._generation += 1
        changed, gone = self.store.replace(listed, self.scope)
        if self.observe is not None:
            for oid in gone:
                self.observe(oid, None)
            for oid, projection in projections.items():
                self.observe(oid, projection)
        self.relists += 1
        metrics.RELISTS.labels(self.name.split(" ", 1)[0], reason).inc()
        if changed:
            self.changed(changed)
        self.synced.set()
        return version

    def _list(self) -> tuple[dict[ObjectId, Any], dict[ObjectId, Any], str]:
        listed: dict[ObjectId, Any] = {}
        projections: dict[ObjectId, Any] = {}
        cont: str | None = None
        while True:
            try:
                items, version, cont = self.kube.list_page(self.path, metadata_only=self.metadata_only, cont=cont,
                                                           limit=METADATA_PAGE if self.metadata_only else FULL_PAGE)
            except Expired:
                if cont is None:
                    raise
                listed.clear()  # the continue token expired between pages: from the start again
                projections.clear()
                cont = None
                continue
            for item in items:
                oid = object_id(item)
                listed[oid] = self.entry(item)
                if self.project is not None:
                    projections[oid] = self.project(item)
            del items
            if cont is None:
                return listed, projections, version

    def _watch(self, version: str, seconds: float, generation: int, loop: asyncio.AbstractEventLoop) -> str:
        for event in self.kube.watch(self.path, version, seconds, metadata_only=self.metadata_only,
                                     opened=self._opened):
            obj = event.get("object") or {}
            version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
            kind = event.get("type")
            if kind == "DELETED":
                loop.call_soon_threadsafe(self._apply, generation, object_id(obj), GONE, None)
            elif kind in ("ADDED", "MODIFIED"):
                loop.call_soon_threadsafe(self._apply, generation, object_id(obj), self.entry(obj),
                                          self.project(obj) if self.project is not None else None)
        return version

    def _apply(self, generation: int, oid: ObjectId, entry: Any, projection: Any) -> None:
        if generation != self._generation:
            return  # a watch a newer list superseded: the list already holds what it would say
        gone = entry is GONE
        changed = self.store.delete(oid) if gone else self.store.put(oid, entry)
        if self.observe is not None:
            self.observe(oid, None if gone else projection)
        if changed:
            self.changed(changed)

    def _opened(self, response: Any) -> None:
        self._response = response

    def _shut(self) -> None:
        """Unblock the watch thread (cancellation): its read fails and the thread ends."""
        response, self._response = self._response, None
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()


def _in_thread(name: str, fn: Callable[..., T], *args: Any) -> "asyncio.Future[T]":
    """`fn(*args)` in a daemon thread of its own (a watch may block for minutes; the process must not wait for it
    at exit), its result as a future of the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            result, error = fn(*args), None
        except BaseException as err:  # handed to the awaiting coroutine
            result, error = None, err
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown)
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
