"""What checks remember between them about who simulates: the auditor identity's sessions (a separate identity that
simulates when a credential may not simulate itself, credcheck.engine.check.Auditor), its failures, and who simulated
each principal lately. One AuditorCache, built by whoever runs checks (the operator's Runtime, a CLI command), is
handed to each check through CheckOptions."""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from credcheck.engine.aws.errors import AWSFailure, describe
from credcheck.engine.aws.session import AWSClients, AWSSession, RetryPolicy, assume_role
from credcheck.engine.model import AssumeRole, Credential

AUDITOR_REFRESH = timedelta(minutes=5)  # assumed auditor credentials are renewed this long before they expire
AUDITOR_RETRY = 300.0  # an auditor identity that failed is not asked again (by any check) for this long
SELF_RETRY = 3600.0  # how long who simulated a principal (itself, or the auditor) is remembered
KEPT = 1024  # auditor sessions and failures remembered (least recently used first out)
KEPT_SIMULATORS = 4096  # principals and control-plane roles whose simulator is remembered (about 200 B each)
SELF = "self"  # the principal simulated itself

AuditorKey = tuple[str | None, str, str, RetryPolicy]  # profile, role ARN ("" for none), region, retry policy


class AuditorUnavailable(Exception):
    """The auditor identity failed lately (AssumeRole refused, …): not asked again before AUDITOR_RETRY."""

    def __init__(self, failure: AWSFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _keep(table: "OrderedDict[Any, Any]", key: Any, value: Any, size: int) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > size:
        table.popitem(last=False)


@dataclass(eq=False)
class AuditorCache:
    """The auditor's credentials per account, its recent failures, and who simulated each principal lately (itself
    or the auditor): what saves every check an AssumeRole, a GetCallerIdentity and a refused simulation. Thread-safe:
    the checks of the operator's pool share one."""

    now: Callable[[], datetime] = lambda: datetime.now(UTC)  # wall clock: compared with credentials' expiry
    clock: Callable[[], float] = time.monotonic  # intervals: how long a failure and a simulator are remembered
    _sessions: "OrderedDict[AuditorKey, tuple[Credential | None, str, datetime | None]]" = field(
        default_factory=OrderedDict, init=False, repr=False)
    _failures: "OrderedDict[AuditorKey, tuple[float, AWSFailure]]" = field(
        default_factory=OrderedDict, init=False, repr=False)
    # policy source -> (SELF, or the account of the auditor that simulated it; when)
    _simulated_by: "OrderedDict[str, tuple[str, float]]" = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def session(self, aws: AWSClients, aws_profile: str | None, role_arn: str, region: str, retry: RetryPolicy,
                ) -> tuple[AWSSession, str]:
        """A session of the auditor (the profile's identity, or `role_arn` assumed with it: "" for none), and the
        auditor's ARN.

        Assumed once per account and reused until five minutes before its credentials expire (not one
        AssumeRole and GetCallerIdentity per check); a failure is remembered for AUDITOR_RETRY, so the checks of
        an account whose auditor role refuses do not each ask again (AuditorUnavailable)."""
        key: AuditorKey = (aws_profile, role_arn, region, retry)
        with self._lock:
            cached = self._sessions.get(key)
            failed = self._failures.get(key)
        if cached is not None and (cached[2] is None or cached[2] - self.now() > AUDITOR_REFRESH):
            if cached[0] is None:
                return aws.ambient_session(region, aws_profile, retry), cached[1]
            return aws.static_session(cached[0], region, retry), cached[1]
        if failed is not None and self.clock() < failed[0]:
            raise AuditorUnavailable(failed[1])
        return self._assume(key, aws)

    def _assume(self, key: AuditorKey, aws: AWSClients) -> tuple[AWSSession, str]:
        """Assume the auditor's role (or take the profile's identity) and ask who it is; remember either outcome."""
        aws_profile, arn, region, retry = key
        try:
            base = aws.ambient_session(region, aws_profile, retry)
            session = assume_role(base, AssumeRole(arn), session_name="credcheck-auditor") if arn else base
            auditor_arn = str(session.client("sts").get_caller_identity()["Arn"])
        except Exception as err:
            failure = describe(err, "the auditor identity")
            if failure.reason not in ("Throttled", "AWSUnreachable"):  # passing trouble: the next check asks again
                with self._lock:
                    _keep(self._failures, key, (self.clock() + AUDITOR_RETRY, failure), KEPT)
            raise
        with self._lock:
            _keep(self._sessions, key, (session.credential, auditor_arn, session.expires), KEPT)
            self._failures.pop(key, None)
        return session, auditor_arn

    def simulator_lately(self, source_arn: str) -> str | None:
        """Who simulated this principal (or control-plane role) within SELF_RETRY: SELF, the auditor's account, or
        None (not simulated lately: it may not exist, or may not simulate itself)."""
        with self._lock:
            found = self._simulated_by.get(source_arn)
        return found[0] if found is not None and self.clock() - found[1] < SELF_RETRY else None

    def audited_lately(self, source_arn: str) -> str | None:
        """The auditor's account, when the auditor had to simulate this principal within SELF_RETRY."""
        found = self.simulator_lately(source_arn)
        return None if found == SELF else found

    def simulated(self, source_arn: str, simulator: str | None) -> None:
        """Remember who simulated it (SELF or the auditor's account); None: forget (it failed)."""
        with self._lock:
            if simulator is None:
                self._simulated_by.pop(source_arn, None)
            else:
                _keep(self._simulated_by, source_arn, (simulator, self.clock()), KEPT_SIMULATORS)
