"""AWS's own record of refused calls: CloudTrail LookupEvents for one access key, per region, paged and rate-limited.

LookupEvents (AWS CloudTrail API Reference): management events of the last 90 days; one lookup attribute per call
(`AccessKeyId` here); up to 50 events a page with `NextToken`; 2 requests per second per account and region. IAM
and global STS events are recorded in the partition's home region (us-east-1 in `aws`). An assumed role's calls
carry temporary keys, so a control-plane role's are found by their session issuer among the events of the services
the cloud-controller-manager calls (`EventSource`).

CloudTrail's rate is AWS's bound on this opt-in feature: a read waits for it up to `max_wait` seconds (in the check's
thread), then reports a partial count that the next round completes. Complete reads are cached for `ttl` seconds per
(key, role, region), so a round re-reads only what expired.
"""

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credcheck.engine.aws.errors import ACCESS_DENIED, describe, error_code
from credcheck.engine.aws.ports import RegionalClients
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.denials import FAILED, NOT_PERMITTED, OBSERVED, aggregate, denial_of
from credcheck.engine.model import ObservedDenials

PAGE = 50  # LookupEvents' MaxResults ceiling
MAX_PAGES = 10  # per (key, region) and read: the newest 500 events of the window
CCM_SOURCES = ("ec2.amazonaws.com", "elasticloadbalancing.amazonaws.com")


@dataclass(frozen=True)
class Query:
    """One LookupEvents question: events of an access key, or of a service (kept: a role's sessions)."""

    account: str
    region: str
    attribute: str  # AccessKeyId | EventSource
    value: str
    role: str | None = None


@dataclass
class DenialReader:
    """Reads and caches the refused calls of credentials; one per operator (or CLI run)."""

    window: timedelta = timedelta(hours=24)
    ttl: float = 900.0  # a round's read is reused this long
    max_wait: float = 2.0  # seconds one read may wait for CloudTrail's rate before it reports a partial count
    sleep: Callable[[float], None] = time.sleep
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(rate=2.0, burst=2.0))
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    max_cached: int = 4096  # queries remembered at most (issue 33: expired ones are dropped, the oldest first)
    _cache: dict[tuple[str, str, str], tuple[float, list[tuple[str, str, str, str]]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, sessions: Sequence[RegionalClients], account: str, access_key_id: str, regions: Sequence[str], *,
                role_arns: Sequence[str] = (), role_regions: Sequence[str] = ()) -> ObservedDenials:
        """The refused calls of the access key in each region and of the control-plane roles' sessions in the
        Clusters' regions (`role_regions`), read with the first session that may (the keys, then the auditor);
        NotPermitted when none may."""
        hours = int(self.window.total_seconds() // 3600)
        refused: list[tuple[str, str, str, str]] = []
        notes: list[str] = []
        for region in sorted(set(regions)):
            queries = [Query(account, region, "AccessKeyId", access_key_id)] + [
                Query(account, region, "EventSource", source, role) for role in role_arns for source in CCM_SOURCES
                if region in role_regions]
            for query in queries:
                found = self._read(sessions, query)
                if isinstance(found, ObservedDenials):
                    return found
                events, complete = found
                if not complete:
                    notes.append(f"{region}: CloudTrail's rate (2 requests/s per account and region) was reached "
                                 f"after {len(events)} refused call(s): the count is partial, read again next round")
                refused.extend(events)
        message = f"{len(refused)} refused call(s) in the last {hours} h" + (f"; {'; '.join(notes)}" if notes else "")
        return ObservedDenials(OBSERVED, message, hours, tuple(sorted(set(regions))), aggregate(refused))

    def _read(self, sessions: Sequence[RegionalClients], query: "Query",
              ) -> tuple[list[tuple[str, str, str, str]], bool] | ObservedDenials:
        """The refused calls a query finds, and whether every page was read; cached when complete."""
        key = (query.value, query.role or "", query.region)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and self.clock() - cached[0] < self.ttl:
            return cached[1], True
        last: Exception | None = None
        for session in sessions:
            try:
                found = self._pages(session, query)
            except Exception as err:
                if error_code(err) in ACCESS_DENIED:
                    last = err
                    continue  # the next identity may read it
                return ObservedDenials(FAILED, describe(err, "cloudtrail:LookupEvents").message,
                                       int(self.window.total_seconds() // 3600), (query.region,))
            events, complete = found
            if complete:
                with self._lock:
                    self._cache.pop(key, None)  # re-inserted last: the dict stays in the order of reading
                    self._cache[key] = (now := self.clock(), events)
                    while self._cache:
                        oldest, (when, _) = next(iter(self._cache.items()))
                        if now - when < self.ttl and len(self._cache) <= self.max_cached:
                            break
                        del self._cache[oldest]
            return events, complete
        reason = describe(last, "cloudtrail:LookupEvents").message if last else "no identity to read CloudTrail with"
        return ObservedDenials(NOT_PERMITTED, f"{reason}: grant cloudtrail:LookupEvents to the credential or the "
                               "auditor to see what AWS refused", int(self.window.total_seconds() // 3600),
                               (query.region,))

    def _pages(self, session: RegionalClients, query: "Query") -> tuple[list[tuple[str, str, str, str]], bool]:
        client = session.client_in("cloudtrail", query.region)
        end = self.now()
        kwargs: dict[str, Any] = {"LookupAttributes": [{"AttributeKey": query.attribute,
                                                        "AttributeValue": query.value}],
                                  "StartTime": end - self.window, "EndTime": end, "MaxResults": PAGE}
        out: list[tuple[str, str, str, str]] = []
        waited = 0.0
        for _ in range(MAX_PAGES):
            while (wait := self.limiter.reserve(f"{query.account}/{query.region}", 1)) > 0:
                if waited + wait > self.max_wait:
                    return out, False
                self.sleep(wait)
                waited += wait
            page = client.lookup_events(**kwargs)
            out.extend(d for e in page.get("Events") or [] if (d := denial_of(e, query.role)) is not None)
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        return out, True
