"""One verdict per distinct credential, shared by every check that uses it; concurrent askers wait for the first."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from credcheck.model import Status, Verdict


@dataclass
class VerdictCache:
    ttl: float
    clock: Callable[[], float] = time.monotonic
    hits: int = 0
    misses: int = 0
    _entries: dict[str, tuple[float, Verdict]] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def get_or_compute(self, key: str, compute: Callable[[], Verdict]) -> Verdict:
        """The cached verdict for `key` if younger than the TTL, else compute it (once, however many ask).

        The key fingerprints the credential and every setting that changes the answer, so a rotated key or
        an edited spec never reuses an old verdict. Unknown verdicts are not cached: the next asker retries.
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            entry = self._entries.get(key)
            if entry and self.clock() - entry[0] < self.ttl:
                self.hits += 1
                return entry[1]
            self.misses += 1
            verdict = compute()
            if verdict.status is not Status.UNKNOWN:
                self._entries[key] = (self.clock(), verdict)
            else:
                self._entries.pop(key, None)
            return verdict

    def prune(self) -> None:
        """Forget expired verdicts (keeps memory bounded by the credentials seen within one TTL)."""
        now = self.clock()
        with self._guard:
            for key in [k for k, (at, _) in self._entries.items() if now - at >= self.ttl]:
                self._entries.pop(key, None)
                lock = self._locks.get(key)
                if lock is not None and not lock.locked():
                    self._locks.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
