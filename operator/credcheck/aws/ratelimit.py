"""A cap on AWS calls per second per account (IAM and STS throttle per account, a quota that cannot be raised)."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """Token buckets keyed by account: `rate` calls per second, bursts up to `burst`. Blocks the calling thread."""

    rate: float
    burst: float = 5.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, last refill)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, key: str) -> float:
        """Take one token for `key`, waiting as long as needed; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                tokens, last = self._buckets.get(key, (self.burst, now))
                tokens = min(self.burst, tokens + (now - last) * self.rate)
                if tokens >= 1:
                    self._buckets[key] = (tokens - 1, now)
                    return waited
                self._buckets[key] = (tokens, now)
                pause = (1 - tokens) / self.rate
            self.sleep(pause)
            waited += pause
