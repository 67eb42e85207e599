"""One verdict per distinct credential, shared by every check that uses it; concurrent askers await the first.

Runs on the operator's event loop: askers of a credential being checked wait as coroutines, not as threads,
so a burst of Secrets sharing a few credentials cannot tie up the thread pool that Kubernetes calls need.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from credcheck.engine.model import Status, Verdict


@dataclass
class VerdictCache:
    ttl: float
    clock: Callable[[], float] = time.monotonic
    hits: int = 0
    misses: int = 0
    _entries: dict[str, tuple[float, Verdict]] = field(default_factory=dict)
    _flights: dict[str, "asyncio.Future[Verdict]"] = field(default_factory=dict)

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[Verdict]]) -> Verdict:
        """The cached verdict for `key` if younger than the TTL, else compute it (once, however many ask).

        The key fingerprints the credential and every setting that changes the answer, so a rotated key or
        an edited spec never reuses an old verdict. Unknown verdicts are not cached: the next asker retries.
        An asker that is cancelled does not cancel the computation the others wait for.
        """
        entry = self._entries.get(key)
        if entry and self.clock() - entry[0] < self.ttl:
            self.hits += 1
            return entry[1]
        flight = self._flights.get(key)
        if flight is None:
            self.misses += 1
            flight = asyncio.ensure_future(compute())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        else:
            self.hits += 1
        return await asyncio.shield(flight)

    def _land(self, key: str, flight: "asyncio.Future[Verdict]") -> None:
        self._flights.pop(key, None)
        if flight.cancelled() or flight.exception() is not None:  # exception() marks it retrieved
            return
        verdict = flight.result()
        if verdict.status is not Status.UNKNOWN:
            self._entries[key] = (self.clock(), verdict)
        else:
            self._entries.pop(key, None)

    def prune(self) -> None:
        """Forget expired verdicts (keeps memory bounded by the credentials seen within one TTL)."""
        now = self.clock()
        for key in [k for k, (at, _) in self._entries.items() if now - at >= self.ttl]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
