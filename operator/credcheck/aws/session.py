"""boto3 sessions for a credential (optionally through sts:AssumeRole), with bounded retries and call counts."""

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


@dataclass
class AWSSession:
    """One identity's clients; every API call made through them is counted as `service:Operation`."""

    session: boto3.Session
    region: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    calls: Counter[str] = field(default_factory=Counter)
    limiter: RateLimiter | None = None
    limit_key: str = "unresolved"  # the account, once the principal is known
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            client = self.session.client(service, region_name=self.region,  # type: ignore[call-overload]
                                         config=self.retry.config())
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
    session = boto3.Session(aws_access_key_id=credential.access_key_id,
                            aws_secret_access_key=credential.secret_access_key,
                            aws_session_token=credential.session_token, region_name=region)
    return AWSSession(session, region, retry or RetryPolicy(), limiter=limiter)


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
    return AWSSession(boto3.Session(profile_name=profile, region_name=region), region, retry or RetryPolicy())
