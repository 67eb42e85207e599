"""What checks remember between them about the auditor (AuditorCache): its sessions until shortly before they
expire, its failures for a while, who simulated each principal for an hour; with clocks injected, no AWS."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from credcheck.engine.aws.auditor import (
    AUDITOR_RETRY,
    KEPT_SIMULATORS,
    SELF,
    SELF_RETRY,
    AuditorCache,
    AuditorUnavailable,
)
from credcheck.engine.aws.session import AWSClients, RetryPolicy

ROLE = "arn:aws:iam::111122223333:role/credcheck-auditor"
START = datetime(2026, 12, 1, tzinfo=UTC)


class FakeSTS:
    """STS as the auditor sees it: AssumeRole (credentials valid for an hour, or refused) and GetCallerIdentity."""

    def __init__(self, asked: list[str], refuse: str | None) -> None:
        self.asked, self.refuse = asked, refuse

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.asked.append("AssumeRole")
        if self.refuse:
            raise ClientError({"Error": {"Code": self.refuse, "Message": "no"}}, "AssumeRole")
        return {"Credentials": {"AccessKeyId": "ASIAAUDITOR", "SecretAccessKey": "s", "SessionToken": "t",
                                "Expiration": START + timedelta(hours=1)}}

    def get_caller_identity(self) -> dict[str, Any]:
        self.asked.append("GetCallerIdentity")
        return {"Arn": "arn:aws:sts::111122223333:assumed-role/credcheck-auditor/credcheck-auditor"}


@dataclass(eq=False, kw_only=True)
class FakeAWS(AWSClients):
    """Clients that answer from FakeSTS, counting what is asked."""

    honour_configured_endpoints: bool = False
    refuse: str | None = None
    asked: list[str] = field(default_factory=list)

    def explicit_client(self, service: str, region: str, retry: RetryPolicy) -> Any:
        return FakeSTS(self.asked, self.refuse)

    def ambient_client(self, profile: str | None, service: str, region: str, retry: RetryPolicy) -> Any:
        return FakeSTS(self.asked, self.refuse)


@dataclass
class Clocks:
    wall: datetime = START
    monotonic: float = 1000.0

    def cache(self) -> AuditorCache:
        return AuditorCache(now=lambda: self.wall, clock=lambda: self.monotonic)


def test_an_assumed_auditor_is_reused_until_five_minutes_before_it_expires() -> None:
    clocks, aws = Clocks(), FakeAWS()
    cache = clocks.cache()
    session, arn = cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    assert aws.asked == ["AssumeRole", "GetCallerIdentity"] and arn.endswith("/credcheck-auditor")
    assert session.credential is not None and session.credential.access_key_id == "ASIAAUDITOR"
    clocks.wall = START + timedelta(minutes=54)
    again, _ = cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    assert aws.asked == ["AssumeRole", "GetCallerIdentity"], "reused: not one AssumeRole per check"
    assert again.credential == session.credential
    clocks.wall = START + timedelta(minutes=56)
    cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    assert aws.asked.count("AssumeRole") == 2, "renewed five minutes before the credentials expire"


def test_a_failed_auditor_is_not_asked_again_for_five_minutes() -> None:
    clocks, aws = Clocks(), FakeAWS(refuse="AccessDenied")
    cache = clocks.cache()
    with pytest.raises(ClientError):
        cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    with pytest.raises(AuditorUnavailable) as remembered:
        cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    assert remembered.value.failure.reason == "AccessDenied" and aws.asked == ["AssumeRole"]
    clocks.monotonic += AUDITOR_RETRY + 1
    with pytest.raises(ClientError):
        cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    assert aws.asked == ["AssumeRole", "AssumeRole"], "asked again once the failure is old"


def test_passing_trouble_is_not_remembered() -> None:
    aws = FakeAWS(refuse="Throttling")
    cache = Clocks().cache()
    for _ in range(2):
        with pytest.raises(ClientError):
            cache.session(aws, None, ROLE, "us-east-1", RetryPolicy())
    assert aws.asked == ["AssumeRole", "AssumeRole"]


def test_who_simulated_a_principal_is_remembered_for_an_hour() -> None:
    clocks = Clocks()
    cache = clocks.cache()
    cache.simulated("arn:aws:iam::1:user/a", SELF)
    cache.simulated("arn:aws:iam::1:user/b", "111122223333")
    assert cache.simulator_lately("arn:aws:iam::1:user/a") == SELF
    assert cache.audited_lately("arn:aws:iam::1:user/a") is None
    assert cache.audited_lately("arn:aws:iam::1:user/b") == "111122223333"
    cache.simulated("arn:aws:iam::1:user/b", None)
    assert cache.simulator_lately("arn:aws:iam::1:user/b") is None, "forgotten when it failed"
    clocks.monotonic += SELF_RETRY
    assert cache.simulator_lately("arn:aws:iam::1:user/a") is None


def test_the_memory_is_bounded_and_each_cache_its_own() -> None:
    cache, other = AuditorCache(), AuditorCache()
    for n in range(KEPT_SIMULATORS + 1):
        cache.simulated(f"arn:aws:iam::1:user/u{n}", SELF)
    assert cache.simulator_lately("arn:aws:iam::1:user/u0") is None, "the least recently used goes first"
    assert cache.simulator_lately(f"arn:aws:iam::1:user/u{KEPT_SIMULATORS}") == SELF
    assert other.simulator_lately(f"arn:aws:iam::1:user/u{KEPT_SIMULATORS}") is None
