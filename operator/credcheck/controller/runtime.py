"""What the operator's handlers share: settings, the Kubernetes client, the verdict cache, the AWS check pool,
the rate limiter, the CloudTrail reader, the AWS clients, the auditor cache and the clock."""

import asyncio
import contextlib
import ctypes
import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine.aws.accesskeys import AccessKeyFacts
from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.cloudtrail import DenialReader
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSClients
from credcheck.kube.contract import parse_duration
from credcheck.kube.ports import KubeApi


@dataclass
class Runtime:
    settings: Settings
    kube: KubeApi
    cache: VerdictCache
    checks: ThreadPoolExecutor  # runs the AWS checks; its size is the check concurrency
    limiter: RateLimiter | None = None
    denial_reader: DenialReader | None = None  # --observe-denials: CloudTrail reads, cached and rate-limited
    # every check's AWS clients; endpoint overrides are honoured only with --dev-endpoints (Runtime.create)
    aws: AWSClients = field(default_factory=lambda: AWSClients(honour_configured_endpoints=False))
    auditor_cache: AuditorCache = field(default_factory=AuditorCache)  # auditor sessions, failures, simulators
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    jitter: Callable[[], float] = field(default=lambda: random.uniform(-1, 1))  # noqa: S311 - not crypto
    _in_flight: asyncio.Semaphore | None = field(default=None, repr=False)
    key_facts: AccessKeyFacts | None = field(default_factory=AccessKeyFacts)  # --key-hygiene: cached key facts

    def in_flight(self) -> asyncio.Semaphore:
        """At most 4 times the concurrency (8 at least) checks between their first half and their verdict: one
        there holds its plan (about 100 KB a Cluster) while it waits for the AWS pool or its account's budget, so a
        burst of a thousand new credentials waits as small coroutines instead (made on the loop, at first use)."""
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(max(8, 4 * self.settings.concurrency))
        return self._in_flight

    @classmethod
    def create(cls, settings: Settings, kube: KubeApi) -> "Runtime":
        limit_malloc_arenas()
        return cls(settings, kube, VerdictCache(settings.cache_ttl_seconds),
                   ThreadPoolExecutor(settings.concurrency, thread_name_prefix="aws-check"),
                   RateLimiter(settings.aws_calls_per_second),
                   DenialReader() if settings.observe_denials else None,
                   aws=AWSClients(honour_configured_endpoints=settings.dev_endpoints),
                   key_facts=AccessKeyFacts(parse_duration(settings.key_facts_ttl)) if settings.key_hygiene else None)


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that contends for malloc an arena of its own (up to 8 per core) and keeps what each
    arena frees: the operator's threads (Kubernetes calls, AWS checks, simulations, watches) kept several MiB more
    resident that way. As MALLOC_ARENA_MAX=2 would, set at start before those threads exist; the variable, when
    set, wins, and without glibc nothing changes."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX


def trim_memory() -> None:
    """Hand the memory freed since the last call back to the system (glibc's malloc_trim: free pages inside the
    heaps too, not just at their top): what a burst of events or checks used stays free in the process otherwise."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
