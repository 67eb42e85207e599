"""One verdict per distinct credential, shared by every check that uses it; concurrent askers await the first.

Runs on the operator's event loop: askers of a credential being checked wait as coroutines, not as threads,
so a burst of Secrets sharing a few credentials cannot tie up the thread pool that Kubernetes calls need.

A verdict is kept pickled and compressed until the TTL ends: what a status lists of it (the first 50 missing
actions, each with its resource, identity and why) is ~38 KiB as objects and ~3 KiB so, and a burst of new
credentials kept every verdict of the last TTL (a round of 1,000 Clusters' checks: tens of MiB). Freezing one
costs ~0.4 ms, serving one from the cache ~0.6 ms; the askers of a computation in flight get its verdict itself.
"""

import asyncio
import pickle
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from credcheck.engine.model import Status, Verdict


def freeze(verdict: Verdict) -> bytes | Verdict:
    """A verdict as the cache keeps it (the verdict itself if it cannot be pickled)."""
    try:
        return zlib.compress(pickle.dumps(verdict, protocol=pickle.HIGHEST_PROTOCOL), 1)
    except (pickle.PicklingError, TypeError, AttributeError):
        return verdict


def thaw(kept: bytes | Verdict) -> Verdict:
    if isinstance(kept, Verdict):
        return kept
    verdict = pickle.loads(zlib.decompress(kept))  # noqa: S301 - made by freeze() in this process, never read in
    assert isinstance(verdict, Verdict)
    return verdict


@dataclass
class VerdictCache:
    ttl: float
    clock: Callable[[], float] = time.monotonic
    hits: int = 0
    misses: int = 0
    _entries: dict[str, tuple[float, bytes | Verdict]] = field(default_factory=dict)  # when computed, freeze()
    _flights: dict[str, "asyncio.Future[Verdict]"] = field(default_factory=dict)

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[Verdict]], *,
                             fresh: bool = False) -> Verdict:
        """The cached verdict for `key` if younger than the TTL, else compute it (once, however many ask).

        The key fingerprints the credential and every setting that changes the answer, so a rotated key or
        an edited spec never reuses an old verdict. Unknown verdicts are not cached: the next asker retries.
        An asker that is cancelled does not cancel the computation the others wait for. `fresh` (a re-check an
        admin asked for, after fixing a policy): neither the cached verdict nor a computation already running
        (it may have asked AWS before the fix) answers; a new one does, and replaces both for the other askers.
        """
        entry = self._entries.get(key)
        if entry and self.clock() - entry[0] < self.ttl and not fresh:
            self.hits += 1
            return thaw(entry[1])
        flight = self._flights.get(key)
        if flight is None or fresh:
            self.misses += 1
            flight = asyncio.ensure_future(compute())
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        else:
            self.hits += 1
        return await asyncio.shield(flight)

    def _land(self, key: str, flight: "asyncio.Future[Verdict]") -> None:
        failed = flight.cancelled() or flight.exception() is not None  # exception() marks it retrieved
        if self._flights.get(key) is not flight:
            return  # a fresh computation replaced this one: its answer is the one kept
        del self._flights[key]
        if failed:
            return
        verdict = flight.result()
        if verdict.status is not Status.UNKNOWN:
            self._entries[key] = (self.clock(), freeze(verdict))
        else:
            self._entries.pop(key, None)

    def prune(self) -> None:
        """Forget expired verdicts (keeps memory bounded by the credentials seen within one TTL)."""
        now = self.clock()
        for key in [k for k, (at, _) in self._entries.items() if now - at >= self.ttl]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
