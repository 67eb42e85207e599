"""AWS clients for a credential (optionally through sts:AssumeRole), with bounded retries and call counts.

All clients come from one shared boto3 session per profile: a session per check would load botocore's service
models and endpoint data again each time (about 1 MB apiece). Credentials are passed per client instead.
"""

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from credcheck import metrics
from credcheck.aws.errors import ACCESS_DENIED, THROTTLED
from credcheck.aws.ratelimit import RateLimiter
from credcheck.model import AssumeRole, Credential

SESSION_NAME = "credcheck"


@dataclass(frozen=True)
class RetryPolicy:
    """botocore's standard retry mode: exponential backoff with jitter, throttling-aware."""

    max_attempts: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 20.0

    def config(self) -> Config:
        return Config(retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                      connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                      user_agent_extra="credcheck")


_SESSIONS: dict[str | None, boto3.Session] = {}
_LOCK = threading.Lock()  # boto3 sessions are not thread-safe; client creation is serialised through this


def _shared(profile: str | None) -> boto3.Session:
    if profile not in _SESSIONS:
        _SESSIONS[profile] = boto3.Session(profile_name=profile)
    return _SESSIONS[profile]


@dataclass
class AWSSession:
    """One identity's clients; every API call made through them is counted as `service:Operation`."""

    credential: Credential | None  # None: the default chain (environment, profile, instance role)
    region: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    calls: Counter[str] = field(default_factory=Counter)
    limiter: RateLimiter | None = None
    limit_key: str = "unresolved"  # the account, once the principal is known
    profile: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            keys: dict[str, Any] = {}
            if self.credential is not None:
                keys = {"aws_access_key_id": self.credential.access_key_id,
                        "aws_secret_access_key": self.credential.secret_access_key,
                        "aws_session_token": self.credential.session_token}
            with _LOCK:
                client = _shared(self.profile).client(service, region_name=self.region,  # type: ignore[call-overload]
                                                      config=self.retry.config(), **keys)
            client.meta.events.register("before-call", self._count)
            client.meta.events.register("after-call", self._outcome)
            client.meta.events.register("after-call-error", self._unreachable)
            self._clients[service] = client
        return self._clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        if self.limiter is not None:
            self.limiter.acquire(self.limit_key)
        self.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1

    @staticmethod
    def _outcome(model: Any, parsed: Any = None, **_: Any) -> None:
        code = str(parsed.get("Error", {}).get("Code", "")) if isinstance(parsed, dict) else ""
        if not code:
            outcome = "success"
        elif code in THROTTLED:
            outcome = "throttled"
        elif code in ACCESS_DENIED:
            outcome = "denied"
        else:
            outcome = "error"
        metrics.record_aws_call(model.service_model.endpoint_prefix, model.name, outcome)

    @staticmethod
    def _unreachable(event_name: str, **_: Any) -> None:
        """after-call-error carries no model: the event name is `after-call-error.<service>.<Operation>`."""
        parts = event_name.split(".", 2)
        service, operation = (parts[1], parts[2]) if len(parts) == 3 else ("unknown", "unknown")
        metrics.record_aws_call(service.lower(), operation, "unreachable")


def static_session(credential: Credential, region: str, retry: RetryPolicy | None = None,
                   limiter: RateLimiter | None = None) -> AWSSession:
    return AWSSession(credential, region, retry or RetryPolicy(), limiter=limiter)


def assume_role(base: AWSSession, role: AssumeRole, session_name: str = SESSION_NAME) -> AWSSession:
    """A session for `role`, assumed from `base` with the external ID when one is set (KKP always sends it)."""
    kwargs: dict[str, Any] = {"RoleArn": role.role_arn, "RoleSessionName": session_name}
    if role.external_id:
        kwargs["ExternalId"] = role.external_id
    creds = base.client("sts").assume_role(**kwargs)["Credentials"]
    assumed = static_session(Credential(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
                             base.region, base.retry, base.limiter)
    assumed.calls = base.calls  # one check, one count
    assumed.limit_key = role.role_arn.split(":")[4] if role.role_arn.count(":") >= 5 else base.limit_key
    return assumed


def ambient_session(region: str, profile: str | None = None, retry: RetryPolicy | None = None) -> AWSSession:
    """The default boto3 credential chain (environment, profile, instance role), e.g. for an auditor."""
    return AWSSession(None, region, retry or RetryPolicy(), profile=profile)
