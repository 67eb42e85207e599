"""AWS clients for a credential (optionally through sts:AssumeRole), with bounded retries and call counts.

Checks of explicit credentials share one botocore client per service, region and retry policy: botocore clients
are thread-safe and sign every request with `credentials.get_frozen_credentials()`, so one client whose
credentials answer for the calling thread serves every credential. A check runs in one thread, and each call
names its session first. Creating two clients per check cost ~20 % of a check's CPU, and each client's own
connection pool a new TCP (on AWS: TLS) connection per check. Ambient identities (an auditor from a profile or
the default chain) keep clients of their own, from one shared boto3 session per profile.

A session's region picks the partition: botocore resolves a client of region cn-north-1 to the China partition's
endpoints (sts.cn-north-1.amazonaws.com.cn, iam.cn-north-1.amazonaws.com.cn) and signs for that region, one of
us-gov-west-1 to GovCloud's (iam.us-gov.amazonaws.com). Checks ask STS and IAM in the home region of the partition
they check (credcheck.engine.iam.arn.choose_partition).

All of it (clients, boto3 sessions, the endpoint policy, the simulation threads) lives in one AWSClients, built once by
whoever runs checks (the operator's Runtime, a CLI command) and handed to each check (CheckOptions.aws): no module
keeps clients or caches of its own, so two of them (tests, a benchmark) never share or reset each other's.

Endpoints: the operator signs with other people's keys, so it decides where those signatures go. Unless development
endpoints are allowed (`AWSClients(honour_configured_endpoints=True)`: the operator's --dev-endpoints, the test
ground), clients ignore AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> and `endpoint_url` in the AWS config files, and
every request is refused before it is sent unless it goes over https to a host of an AWS partition (the DNS
suffixes botocore knows: amazonaws.com, amazonaws.com.cn, api.aws, …). The CLI, run by a person with their own
environment, honours the configured endpoints as any AWS tool does.
"""

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import boto3
import botocore
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError
from botocore.loaders import Loader
from botocore.session import Session as BotocoreSession

from credcheck.engine.aws import calls as aws_calls
from credcheck.engine.aws import queryprotocol
from credcheck.engine.aws.botodata import share_data
from credcheck.engine.aws.errors import ACCESS_DENIED, THROTTLED
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.model import AssumeRole, Credential

SESSION_NAME = "credcheck"
T = TypeVar("T")
UNRESOLVED = "unresolved"  # the limit key before the account is known (STS calls: not IAM's quota)
# Simulations of every check share these threads: a check's batches are independent requests, each a few hundred
# milliseconds on AWS, so they run at once; the check reserved their calls before (the account's budget), so
# running them together spends nothing more. Only leaf calls run there (nothing waits in it on more of its own work).
SIMULATION_THREADS = 8


@dataclass(frozen=True)
class RetryPolicy:
    """botocore's standard retry mode: exponential backoff with jitter, throttling-aware."""

    max_attempts: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 20.0

    def config(self, honour_configured_endpoints: bool) -> Config:
        # the stubs predate ignore_configured_endpoint_urls (botocore 1.31)
        return Config(retries={"mode": "standard", "total_max_attempts": self.max_attempts},  # type: ignore[call-arg]
                      connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                      user_agent_extra="credcheck", ignore_configured_endpoint_urls=not honour_configured_endpoints)


class EndpointRefused(Exception):
    """A request bound for a host that is not AWS's, or not over https (development endpoints not allowed)."""


class DeadlineExceeded(Exception):
    """A check running under a deadline (a live admission check past its budget) makes no more AWS calls."""


ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
                      "AWS_ENDPOINT_URL_CLOUDTRAIL", "AWS_ENDPOINT_URL_ORGANIZATIONS")


def _aws_suffixes() -> tuple[str, ...]:
    """Every AWS partition's DNS suffixes, from botocore's own partition data."""
    path = os.path.join(os.path.dirname(botocore.__file__), "data", "partitions.json")
    with open(path, encoding="utf-8") as f:
        outputs = [p.get("outputs") or {} for p in json.load(f).get("partitions") or []]
    return tuple(sorted({s for o in outputs for s in (o.get("dnsSuffix"), o.get("dualStackDnsSuffix")) if s}))


AWS_SUFFIXES = _aws_suffixes()


def is_aws_endpoint(url: str) -> bool:
    """https to a host of an AWS partition (sts.amazonaws.com, iam.cn-north-1.amazonaws.com.cn, …), nothing else."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    return parts.scheme == "https" and any(host.endswith("." + suffix) for suffix in AWS_SUFFIXES)


# Not state but the call context of this thread, as a context variable would be: .session is the AWSSession whose
# call is being made (set for that one call, see _Bound), .deadline the check's while run_before runs. botocore's
# event hooks and credential provider get no argument that could carry them; each thread has its own (a check's
# simulation threads get its deadline through carry_deadline).
_CURRENT = threading.local()


def run_before(deadline: float, fn: Any, *args: Any) -> Any:
    """Run `fn(*args)` in this thread; every AWS call it makes after time.monotonic() passes `deadline` raises
    DeadlineExceeded instead of being sent."""
    _CURRENT.deadline = deadline
    try:
        return fn(*args)
    finally:
        _CURRENT.deadline = None


def carry_deadline(fn: Callable[[], T]) -> Callable[[], T]:
    """`fn` to run in another thread under this thread's deadline (a check's simulations run in several threads)."""
    deadline = getattr(_CURRENT, "deadline", None)
    if deadline is None:
        return fn
    return lambda: run_before(deadline, fn)


# Asking a partition or Region whether it knows a key (after a rejection): one retry, short timeouts, so that a
# partition the seed cannot reach (the China partition from some networks) costs seconds, not a check's budget.
PROBE_RETRY = RetryPolicy(max_attempts=2, connect_timeout=3.0, read_timeout=10.0)


class _CallerCredentials(Credentials):
    """The credentials of the session whose call the current thread is making."""

    def __init__(self) -> None:
        super().__init__("", "")

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        session: AWSSession | None = getattr(_CURRENT, "session", None)
        if session is None or session.credential is None:
            raise NoCredentialsError
        c = session.credential
        return ReadOnlyCredentials(c.access_key_id, c.secret_access_key, c.session_token)


class _CallerCredentialProvider:
    def load_credentials(self) -> Credentials:
        return _CallerCredentials()


def _planned(session: BotocoreSession) -> BotocoreSession:
    """`session`, whose clients parse IAM's and STS's answers by plans made once per output shape
    (engine/aws/queryprotocol.py; call before its first client)."""
    session.register_component("response_parser_factory", queryprotocol.PlannedParserFactory())
    return session


def _hook(client: Any, guard: Callable[..., None]) -> None:
    queryprotocol.install(client)
    client.meta.events.register("before-send", guard)
    client.meta.events.register("before-call", _count)
    client.meta.events.register("before-send", _attempt)
    client.meta.events.register("after-call", _outcome)
    client.meta.events.register("after-call-error", _unreachable)


def _count(model: Any, **_: Any) -> None:
    session: AWSSession | None = getattr(_CURRENT, "session", None)
    if session is not None:
        session.calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1


def _attempt(**_: Any) -> None:
    """Every HTTP attempt (botocore's retries included) counts against the budget of the account it calls."""
    aws_calls.count_aws_request()
    session: AWSSession | None = getattr(_CURRENT, "session", None)
    if session is None:
        return
    reserved = session.budget.take(session.limit_key)
    if not reserved and session.limiter is not None and session.limit_key != UNRESOLVED:
        session.limiter.spend(session.limit_key)


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
    aws_calls.record_aws_call(model.service_model.endpoint_prefix, model.name, outcome)


def _unreachable(event_name: str, **_: Any) -> None:
    """after-call-error carries no model: the event name is `after-call-error.<service>.<Operation>`."""
    parts = event_name.split(".", 2)
    service, operation = (parts[1], parts[2]) if len(parts) == 3 else ("unknown", "unknown")
    aws_calls.record_aws_call(service.lower(), operation, "unreachable")


class _Bound:
    """A client as one session sees it: every call is made as that session (its credentials, counts, limit)."""

    def __init__(self, session: "AWSSession", client: Any) -> None:
        self._session, self._client = session, client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr) or name in ("exceptions", "meta"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = getattr(_CURRENT, "deadline", None)
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded(f"{name}: past the deadline of this check")
            previous = getattr(_CURRENT, "session", None)
            _CURRENT.session = self._session
            try:
                return attr(*args, **kwargs)
            finally:
                _CURRENT.session = previous
        return call


@dataclass
class Budget:
    """One check's AWS calls, shared by its sessions (and the threads of its simulations): the attempts reserved in
    advance per account, and every attempt made per account (STS before the account is known: UNRESOLVED)."""

    reserved: Counter[str] = field(default_factory=Counter)
    made: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, calls: dict[str, int]) -> None:
        with self._lock:
            self.reserved.update(calls)

    def take(self, account: str) -> bool:
        """One attempt calling `account`: True when it was reserved in advance."""
        with self._lock:
            self.made[account] += 1
            if self.reserved[account] > 0:
                self.reserved[account] -= 1
                return True
            return False

    def spent(self) -> dict[str, int]:
        """Attempts per account (known accounts only)."""
        with self._lock:
            return {k: v for k, v in self.made.items() if k != UNRESOLVED}


@dataclass
class AWSSession:
    """One identity's clients; every API call made through them is counted as `service:Operation`."""

    aws: "AWSClients"  # where its botocore clients come from: the process's, shared by every check
    credential: Credential | None  # None: the default chain (environment, profile, instance role)
    region: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    calls: Counter[str] = field(default_factory=Counter)
    limiter: RateLimiter | None = None
    limit_key: str = UNRESOLVED  # the account, once the principal is known
    budget: "Budget" = field(default_factory=Budget)  # one check's reservations and attempts, shared
    expires: datetime | None = None  # temporary credentials (an assumed role): when they stop working
    profile: str | None = None
    _bound: dict[str, _Bound] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return self.client_in(service, self.region)

    def client_in(self, service: str, region: str) -> Any:
        """A client of this identity for a regional service in another region (CloudTrail per Cluster region)."""
        key = service if region == self.region else f"{service}@{region}"
        if key not in self._bound:
            client = (self.aws.explicit_client(service, region, self.retry) if self.credential is not None
                      else self.aws.ambient_client(self.profile, service, region, self.retry))
            self._bound[key] = _Bound(self, client)
        return self._bound[key]


def assume_role(base: AWSSession, role: AssumeRole, session_name: str = SESSION_NAME) -> AWSSession:
    """A session for `role`, assumed from `base` with the external ID when one is set (KKP always sends it)."""
    kwargs: dict[str, Any] = {"RoleArn": role.role_arn, "RoleSessionName": session_name}
    if role.external_id:
        kwargs["ExternalId"] = role.external_id
    creds = base.client("sts").assume_role(**kwargs)["Credentials"]
    assumed = base.aws.static_session(
        Credential(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]), base.region, base.retry,
        base.limiter)
    assumed.calls, assumed.budget = base.calls, base.budget  # one check, one count, one reservation
    assumed.expires = creds.get("Expiration")
    assumed.limit_key = role.role_arn.split(":")[4] if role.role_arn.count(":") >= 5 else base.limit_key
    return assumed


@dataclass(eq=False, kw_only=True)
class AWSClients:
    """How this process reaches AWS, built once (the operator's Runtime, a CLI command) and handed to every check.

    Explicit credentials share one botocore client per (service, region, retry policy), from one botocore session
    whose credential provider answers with the credentials of the calling thread's session; ambient identities (an
    auditor from a profile or the default chain) get clients of their own from one boto3 session per profile. The
    endpoint policy is fixed when it is built: a client made under one policy can never serve the other."""

    honour_configured_endpoints: bool  # development endpoints (--dev-endpoints, the CLI); False: AWS hosts only
    simulations: ThreadPoolExecutor = field(  # threads start at first use (an executor starts none before)
        default_factory=lambda: ThreadPoolExecutor(SIMULATION_THREADS, thread_name_prefix="aws-simulate"))
    # boto3 sessions are not thread-safe: client creation is serialised through this lock
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _profiles: dict[str | None, boto3.Session] = field(default_factory=dict, init=False, repr=False)
    _loaders: dict[str | None, Loader] = field(default_factory=dict, init=False, repr=False)  # botodata's
    _explicit: BotocoreSession | None = field(default=None, init=False, repr=False)  # made on first use
    _clients: dict[tuple[str, str, RetryPolicy], Any] = field(default_factory=dict, init=False, repr=False)

    def static_session(self, credential: Credential, region: str, retry: RetryPolicy | None = None,
                       limiter: RateLimiter | None = None) -> AWSSession:
        return AWSSession(self, credential, region, retry or RetryPolicy(), limiter=limiter)

    def ambient_session(self, region: str, profile: str | None = None, retry: RetryPolicy | None = None,
                        ) -> AWSSession:
        """The default boto3 credential chain (environment, profile, instance role), e.g. for an auditor."""
        return AWSSession(self, None, region, retry or RetryPolicy(), profile=profile)

    def explicit_client(self, service: str, region: str, retry: RetryPolicy) -> Any:
        """The one client of (service, region, retry policy) that serves every explicit credential."""
        key = (service, region, retry)
        with self._lock:
            if key not in self._clients:
                if self._explicit is None:
                    self._explicit = _planned(share_data(botocore.session.get_session(), self._loaders))
                    self._explicit.register_component("credential_provider", _CallerCredentialProvider())
                client = self._explicit.create_client(service, region_name=region,
                                                      config=retry.config(self.honour_configured_endpoints))
                _hook(client, self._guard)
                self._clients[key] = client
            return self._clients[key]

    def ambient_client(self, profile: str | None, service: str, region: str, retry: RetryPolicy) -> Any:
        """A client of its own for an ambient identity, from the profile's one boto3 session."""
        with self._lock:
            if profile not in self._profiles:
                self._profiles[profile] = boto3.Session(
                    botocore_session=_planned(share_data(BotocoreSession(profile=profile), self._loaders)))
            client = self._profiles[profile].client(  # type: ignore[call-overload]
                service, region_name=region, config=retry.config(self.honour_configured_endpoints))
        _hook(client, self._guard)
        return client

    def _guard(self, request: Any, **_: Any) -> None:
        """Unless development endpoints are allowed, a request leaves only over https for an AWS host."""
        if not self.honour_configured_endpoints and not is_aws_endpoint(str(request.url)):
            parts = urlsplit(str(request.url))
            raise EndpointRefused(f"refused to send an AWS request to {parts.scheme}://{parts.hostname}: only https "
                                  "to AWS hosts (set --dev-endpoints for a local AWS endpoint)")

    def endpoints_in_use(self, region: str = "us-east-1") -> dict[str, str]:
        """Where STS and IAM requests of explicit credentials go from `region`, for the start-up log."""
        return {service: str(self.explicit_client(service, region, RetryPolicy()).meta.endpoint_url)
                for service in ("sts", "iam")}

    def ignored_overrides(self) -> list[str]:
        """The endpoint overrides set in the environment or the AWS config that are ignored (names only)."""
        if self.honour_configured_endpoints:
            return []
        found = [name for name in ENDPOINT_VARIABLES if os.environ.get(name)]
        found += sorted(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_") and k not in found)
        try:
            config = BotocoreSession().full_config
        except Exception as err:  # an unreadable config is botocore's to report when it is used
            found.append(f"the AWS config (unreadable: {type(err).__name__})")
            config = {}
        for name, profile in sorted((config.get("profiles") or {}).items()):
            if "endpoint_url" in profile or "services" in profile:
                found.append(f"profile {name} endpoint_url/services in the AWS config")
        return found
