"""Background loops that must not die silently: restarted with backoff when they fail, and visible to /readyz.

A loop that raises is logged with its traceback, counted (credcheck_background_restarts_total) and started again
after 1, 2, 4 … 60 s; while it is down, readiness fails. `Supervisor` is the one place the operator's background
loops are started and stopped: a service (the re-check scheduler, discovery) starts each of its loops through its
supervisor and stops them all with `stop_all`, which cancels them and waits until they ended.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from credcheck.controller import metrics

MAX_DELAY = 60.0


@dataclass
class Health:
    """Whether the leader's handlers run (kopf's startup handlers ran, its cleanup did not) and which supervised loops
    are running now; /readyz is 200 only while the handlers run and all loops do."""

    running: dict[str, bool] = field(default_factory=dict)
    started: bool = False

    def ok(self) -> bool:
        return all(self.running.values())

    def down(self) -> list[str]:
        return sorted(name for name, up in self.running.items() if not up)


async def supervise(name: str, loop: Callable[[], Awaitable[None]], health: Health, logger: logging.Logger,
                    base_delay: float = 1.0) -> None:
    """Run `loop()` for ever: restart it when it raises (or returns, which a loop must not do)."""
    failures = 0
    while True:
        health.running[name] = True
        try:
            await loop()
            raise RuntimeError(f"the {name} loop returned")
        except asyncio.CancelledError:
            health.running[name] = False
            raise
        except Exception:
            health.running[name] = False
            failures += 1
            delay = min(MAX_DELAY, base_delay * 2 ** (failures - 1))
            metrics.RESTARTS.labels(name).inc()
            logger.exception("the %s loop failed (%d times so far); restarting it in %.0f s", name, failures, delay)
            await asyncio.sleep(delay)


class Supervisor:
    """Starts named loops under `supervise` (each a task of the running event loop) and stops them: `stop_all`
    cancels every loop it started and waits for each to end (a loop's own failure is not raised there)."""

    def __init__(self, health: Health, logger: logging.Logger, base_delay: float = 1.0) -> None:
        self.health = health
        self.logger = logger
        self.base_delay = base_delay
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, factory: Callable[[], Awaitable[None]]) -> None:
        """Run `factory()` as the loop `name`, made anew by calling `factory` again after each failure."""
        if name in self._tasks and not self._tasks[name].done():
            raise RuntimeError(f"the {name} loop runs already")
        self._tasks[name] = asyncio.create_task(
            supervise(name, factory, self.health, self.logger, self.base_delay), name=f"supervised {name}")

    async def stop_all(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
