"""When each check is next due, the pace its re-checks are asked at, and the re-check rounds (pure: plain values
and a clock passed in; thread-safe).

Pacing. IAM throttles per account — the account that makes the call: the credential's, or the auditor's when the
auditor simulates — so the scheduler asks for a due re-check only when the accounts it will call have room in the
budget it paces against: `share` of the operator's --aws-calls-per-second per account (the rest is left for new and
rotated credentials and retries), spent by what each check made last time (its AWS calls per account; a check not
seen checking yet is assumed to make DEFAULT_COST calls in its credential's account). A due check whose accounts are
out of budget waits here, as a key, not as a running handler: a thousand checks due at once in one account are
asked one after another at the pace the account allows, oldest due first, and never queue at AWS.

Rounds. A round is every check re-checked once: it starts with the checks there are, and ends when each of them
has a new status (or is gone). Its duration is up to the interval plus its 10 % jitter when the budget keeps up
(each check is due an interval after its last check, ±10 %); longer means the budget does not fit the checks.
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from credcheck.kube.contract import parse_timestamp

CheckKey = tuple[str, str]
DEFAULT_COST = 10  # AWS calls assumed for a check not seen checking yet (one Cluster: 7 to 9)
PACE_SHARE = 0.8  # of each account's budget the scheduled re-checks are paced to
EARLY = 1.0  # seconds before its due time a check counts as due
REQUEST_TIMEOUT = 300.0  # a re-check asked for and not answered (no new status) after this stops counting as open


@dataclass
class _Entry:
    due: float | None  # epoch seconds; None: never checked (its create handler's, not the scheduler's)
    when: str | None  # the status' nextCheckTime as stored
    account: str | None = None  # the credential's account (status.principal.account)
    costs: tuple[tuple[str, int], ...] = ()  # AWS calls per account its last check made; (): not seen yet
    requested: bool = False
    requested_at: float = 0.0


@dataclass(frozen=True)
class RoundDone:
    duration: float
    checks: int
    calls: float


@dataclass
class _Round:
    started: float
    calls_at_start: float
    pending: set[CheckKey]
    size: int


@dataclass
class Schedule:
    rate: float = 0.0  # the paced calls per second per account (0: no pacing)
    burst: float = 10.0
    open_limit: int = 0  # re-checks asked for and not answered yet, at most (0: no limit)
    _entries: dict[CheckKey, _Entry] = field(default_factory=dict)
    _pace: dict[str, tuple[float, float]] = field(default_factory=dict)  # account -> (tokens, last refill)
    _round: _Round | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, calls_per_second: float, burst: float = 10.0, share: float = PACE_SHARE,
                  open_limit: int = 0) -> None:
        with self._lock:
            self.rate, self.burst, self.open_limit = max(0.0, calls_per_second * share), burst, open_limit

    # --- what is stored -----------------------------------------------------------------------------------------
    def set(self, key: CheckKey, next_check: str | None, account: str | None = None) -> None:
        """A check's status as stored: its next check time and its credential's account."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._entries[key] = _Entry(_epoch(next_check), next_check, account)
                return
            if entry.when != next_check:
                entry.due, entry.when, entry.requested = _epoch(next_check), next_check, False  # a new status: served
                if self._round is not None:
                    self._round.pending.discard(key)
            if account:
                entry.account = account

    def cost(self, key: CheckKey, calls: Iterable[tuple[str, int]]) -> None:
        """What the check's last AWS check made, per account (the calls of a check served from the cache too)."""
        with self._lock:
            entry = self._entries.get(key)
            made = tuple(sorted((account, n) for account, n in calls if account and n > 0))
            if entry is not None and made:
                entry.costs = made

    def forget(self, key: CheckKey) -> None:
        with self._lock:
            self._entries.pop(key, None)
            if self._round is not None:
                self._round.pending.discard(key)

    def keys(self) -> list[CheckKey]:
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    # --- what is due, at what pace ------------------------------------------------------------------------------
    def due(self, now: float) -> list[CheckKey]:
        """Checks due at `now` (epoch seconds) not asked for yet, oldest due first."""
        with self._lock:
            return [k for k, _ in self._due(now)]

    def release(self, now: float) -> tuple[list[CheckKey], int]:
        """The due checks to ask for now within each account's paced budget (their calls are taken from it), and
        how many due checks wait. In each account, oldest due first: a check that does not fit keeps the account's
        later checks waiting too. With `open_limit`, no more re-checks are open (asked for, not answered) at once:
        however many are due, the operator holds few checks at a time."""
        with self._lock:
            # an account whose bucket has filled up again is as if never seen: forget it (bounded, issue 33)
            self._pace = {a: v for a, v in self._pace.items() if self._tokens(a, now) < self.burst}
            due = self._due(now)
            room = len(due)
            if self.open_limit:
                open_ = sum(1 for e in self._entries.values() if e.requested and now - e.requested_at < REQUEST_TIMEOUT)
                room = max(0, self.open_limit - open_)
            if self.rate <= 0:
                return [k for k, _ in due[:room]], max(0, len(due) - room)
            out: list[CheckKey] = []
            blocked: set[str] = set()
            waiting = 0
            for key, entry in due:
                costs = entry.costs or (((entry.account, DEFAULT_COST),) if entry.account else ())
                # as the operator's cap (RateLimiter) decides, at a share of its rate: what is asked never has to
                # wait there, and AWS never sees more than the budget
                if any(account in blocked for account, _ in costs) or not all(
                        self._tokens(account, now) >= min(float(n), self.burst) for account, n in costs):
                    blocked.update(account for account, _ in costs)
                    waiting += 1
                    continue
                if len(out) >= room:
                    waiting += 1
                    continue
                for account, n in costs:
                    self._pace[account] = (self._tokens(account, now) - n, now)
                out.append(key)
            return out, waiting

    def mark_requested(self, key: CheckKey, now: float = 0.0) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.requested, entry.requested_at = True, now

    def retry(self, key: CheckKey, at: float) -> None:
        """A re-check asked for that wrote no status (it failed): due again at `at` (epoch seconds) — unless a new
        status came meanwhile (that one says when)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.requested:
                entry.requested, entry.due = False, at

    def _due(self, now: float) -> list[tuple[CheckKey, _Entry]]:
        found = [(k, e) for k, e in self._entries.items()
                 if not e.requested and e.due is not None and now >= e.due - EARLY]
        return sorted(found, key=lambda item: item[1].due or 0.0)

    def _tokens(self, account: str, now: float) -> float:
        tokens, last = self._pace.get(account, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    # --- rounds -------------------------------------------------------------------------------------------------
    def advance_round(self, now: float, calls: float) -> RoundDone | None:
        """Starts a round when none runs (with the checks there are now); when every check of the running round
        has a new status, ends it and answers how long it took and the AWS calls made meanwhile (`calls`: the
        process' request count so far)."""
        with self._lock:
            current = self._round
            if current is not None and not current.pending:
                self._round = None
                done = RoundDone(now - current.started, current.size, calls - current.calls_at_start)
            else:
                done = None
            if self._round is None:
                pending = {k for k, e in self._entries.items() if e.due is not None}
                if pending:
                    self._round = _Round(now, calls, pending, len(pending))
            return done

    def pending(self) -> int:
        with self._lock:
            return len(self._round.pending) if self._round is not None else 0


def _epoch(when: str | None) -> float | None:
    if when is None:
        return None
    try:
        return parse_timestamp(str(when)).timestamp()
    except ValueError:
        return 0.0  # unreadable: due now
