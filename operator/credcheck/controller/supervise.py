"""Background loops that must not die silently: restarted with backoff when they fail, and visible to /readyz.

A loop that raises is logged with its traceback, counted (credcheck_background_restarts_total) and started again
after 1, 2, 4 … 60 s; while it is down, readiness fails.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from credcheck.controller import metrics

MAX_DELAY = 60.0


@dataclass
class Health:
    """Which supervised loops are running now; /readyz is 200 only while all are."""

    running: dict[str, bool] = field(default_factory=dict)

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
