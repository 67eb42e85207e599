"""What the operator's handlers share: settings, the Kubernetes client, the verdict cache, the AWS check pool,
the rate limiter, the CloudTrail reader and the clock."""

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from credcheck.aws.cloudtrail import DenialReader
from credcheck.aws.ratelimit import RateLimiter
from credcheck.cache import VerdictCache
from credcheck.kube import Kube
from credcheck.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    kube: Kube
    cache: VerdictCache
    checks: ThreadPoolExecutor  # runs the AWS checks; its size is the check concurrency
    limiter: RateLimiter | None = None
    observer: DenialReader | None = None  # --observe-denials: CloudTrail reads, cached and rate-limited
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    jitter: Callable[[], float] = field(default=lambda: random.uniform(-1, 1))  # noqa: S311 - not crypto

    @classmethod
    def create(cls, settings: Settings, kube: Kube) -> "Runtime":
        return cls(settings, kube, VerdictCache(settings.cache_ttl_seconds),
                   ThreadPoolExecutor(settings.concurrency, thread_name_prefix="aws-check"),
                   RateLimiter(settings.aws_calls_per_second),
                   DenialReader() if settings.observe_denials else None)
