"""The AWS side as the engine calls it (engine/aws/session.py's AWSSession and AWSClients), by role.

A reader that only makes calls takes a Clients; one that opens sessions for keys takes a SessionFactory. Tests
hand them fakes of that role (tests/helpers/fakes.py), held to these signatures by the type checker.
"""

from typing import Any, Protocol

from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSSession, RetryPolicy
from credcheck.engine.model import Credential


class Clients(Protocol):
    """One identity's clients (AWSSession): every call made through them is made, counted and limited as it."""

    def client(self, service: str) -> Any: ...


class RegionalClients(Clients, Protocol):
    """…and clients of a regional service in other Regions (CloudTrail per Cluster Region)."""

    def client_in(self, service: str, region: str) -> Any: ...


class SessionFactory(Protocol):
    """How the process reaches AWS (AWSClients): sessions for a pair of keys."""

    def static_session(self, credential: Credential, region: str, retry: RetryPolicy | None = None,
                       limiter: RateLimiter | None = None) -> AWSSession: ...
