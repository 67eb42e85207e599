"""When each check is next due: a small in-memory table fed by watch events, read by one scheduler task."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

Key = tuple[str, str]


@dataclass
class Schedule:
    _due: dict[Key, str | None] = field(default_factory=dict)
    _requested: set[Key] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, key: Key, next_check: str | None) -> None:
        with self._lock:
            if self._due.get(key, "unset") != next_check:
                self._requested.discard(key)  # a new status arrived: the last request was served
            self._due[key] = next_check

    def forget(self, key: Key) -> None:
        with self._lock:
            self._due.pop(key, None)
            self._requested.discard(key)

    def due(self, is_due: Callable[[str | None], bool]) -> list[Key]:
        """Checks due now that have not been asked for yet (one request per due time)."""
        with self._lock:
            return [k for k, when in self._due.items() if k not in self._requested and is_due(when)]

    def mark_requested(self, key: Key) -> None:
        with self._lock:
            self._requested.add(key)

    def __len__(self) -> int:
        return len(self._due)
