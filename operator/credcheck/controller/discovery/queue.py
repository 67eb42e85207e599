"""Level-triggered work on keys, as controller-runtime's work queue does it.

Events only enqueue a key. A key is worked on by one worker at a time (at most `workers` keys at once; the rest wait
as keys); a key enqueued while it is being worked on runs once more afterwards (it saw an older state). A failure is
logged with its traceback and retried with exponential backoff; success forgets the failures. Whatever was missed,
the periodic resync enqueues every key.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from credcheck.controller import metrics

LOG = logging.getLogger("credcheck.controller.discovery")


@dataclass
class KeyQueue:
    work: Callable[[Hashable], Awaitable[None]]
    base_delay: float = 1.0
    max_delay: float = 60.0
    workers: int = 16  # keys worked on at once: a resync of 10,000 keys waits as keys, not as 10,000 tasks
    _pending: dict[Hashable, None] = field(default_factory=dict)  # an ordered set: first enqueued, first worked
    _running: set[Hashable] = field(default_factory=set)
    _waiting: dict[Hashable, asyncio.TimerHandle] = field(default_factory=dict)
    _failures: dict[Hashable, int] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    failed_total: int = 0

    def enqueue(self, key: Hashable) -> None:
        """Work on `key` soon (or right after its current run); an enqueue cancels a pending retry's wait."""
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            waiting.cancel()
        self._pending[key] = None
        if len(self._tasks) < self.workers:
            task = asyncio.get_running_loop().create_task(self._worker())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _worker(self) -> None:
        while True:
            key = next((k for k in self._pending if k not in self._running), None)
            if key is None:
                return  # what is left runs after its current run (that worker takes it)
            del self._pending[key]
            self._running.add(key)
            try:
                await self._run(key)
            finally:
                self._running.discard(key)

    async def _run(self, key: Hashable) -> None:
        try:
            await self.work(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            self.failed_total += 1
            metrics.DISCOVERY_FAILURES.inc()
            delay = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
            LOG.exception("discovery of %s failed (attempt %d); retrying in %.0f s", key, failures, delay)
            if key not in self._pending:
                self._retry_later(key, delay)
        else:
            self._failures.pop(key, None)

    def _retry_later(self, key: Hashable, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._waiting[key] = loop.call_later(delay, self._retry, key)

    def _retry(self, key: Hashable) -> None:
        self._waiting.pop(key, None)
        self.enqueue(key)

    @property
    def failing(self) -> int:
        """Keys whose last attempt failed (waiting for their retry)."""
        return len(self._failures)

    def idle(self) -> bool:
        return not self._running and not self._waiting and not self._pending

    async def close(self) -> None:
        for handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
