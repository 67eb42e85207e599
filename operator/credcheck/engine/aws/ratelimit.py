"""A cap on AWS calls per second per account (IAM and STS throttle per account, a quota that cannot be raised).

Never blocks a thread: a check reserves the IAM calls its plan needs before it makes them (`reserve` answers how
long to wait when the account's budget is spent; the operator waits that long on its event loop, holding no
thread, between the check's two halves), and
every attempt beyond the reservation — botocore's retries included — is spent at once, into debt if need be,
which later reservations of that account wait out.
"""

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """Token buckets keyed by account: `rate` calls per second, bursts up to `burst`."""

    rate: float
    burst: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, last refill)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def reserve(self, key: str, calls: int) -> float:
        """Take `calls` tokens now (0.0), or none and the seconds until they are there."""
        return self.reserve_all({key: calls})

    def reserve_all(self, calls: Mapping[str, int]) -> float:
        """Take each account's calls now, all or none: 0.0, or the seconds until every account has them."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self.clock()
            wait = 0.0
            for key, n in calls.items():
                need = min(float(n), self.burst)  # a plan larger than a burst goes into debt for the rest
                tokens = self._tokens(key, now)
                self._buckets[key] = (tokens, now)
                wait = max(wait, (need - tokens) / self.rate if tokens < need else 0.0)
            if wait > 0:
                return wait
            for key, n in calls.items():
                tokens, _ = self._buckets[key]
                self._buckets[key] = (tokens - n, now)
            return 0.0

    def prune(self) -> None:
        """Forget accounts whose bucket is full again (keeps memory bounded by the accounts called lately)."""
        with self._lock:
            now = self.clock()
            for key in [k for k in self._buckets if self._tokens(k, now) >= self.burst]:
                del self._buckets[key]

    def spend(self, key: str) -> None:
        """One attempt that was not reserved (a retry): taken now, into debt if need be."""
        if self.rate <= 0:
            return
        with self._lock:
            now = self.clock()
            self._buckets[key] = (self._tokens(key, now) - 1, now)
