"""Leader election on a Lease, against an in-memory apiserver that keeps resourceVersions as the real one does."""

import argparse
import asyncio
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kopf
import pytest
from fakes import FakeKube

from credcheck.controller.leader import Action, LeaderElector, Record, decide, lease_client
from credcheck.controller.settings import add_arguments, from_arguments


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def elector(leases: FakeKube, identity: str, clock: Clock) -> LeaderElector:
    return LeaderElector(leases, "kubermatic", "credcheck", identity,
                         lease_duration=15, renew_deadline=10, retry_period=2, clock=clock,
                         now=lambda: datetime(2025, 1, 1, tzinfo=UTC))


def holder(leases: FakeKube) -> str:
    return str(leases.leases[("kubermatic", "credcheck")]["spec"]["holderIdentity"])


def test_what_a_replica_does_with_the_lease_it_read() -> None:
    held = Record("a", 15, "t", 0, "7")
    assert decide(None, "b", 0) is Action.CREATE
    assert decide(held, "a", 99) is Action.RENEW
    assert decide(held, "b", 14.9) is Action.WAIT
    assert decide(held, "b", 15) is Action.TAKE, "unchanged for the lease duration, on our own clock"
    assert decide(Record("", 1, "t", 3, "8"), "b", 0) is Action.TAKE, "released"


def test_one_leader_a_standby_and_a_takeover_only_after_the_lease_runs_out_unrenewed() -> None:
    leases, clock = FakeKube(), Clock()
    a, b = elector(leases, "a", clock), elector(leases, "b", clock)
    assert a.try_once() and not b.try_once()
    for _ in range(20):  # 40 s of renewals: the record keeps changing, so the standby keeps waiting
        clock.now += 2
        assert a._renew() and not b.try_once()
    assert holder(leases) == "a"
    clock.now += 14  # the leader stopped renewing (killed): not yet
    assert not b.try_once()
    clock.now += 1
    assert b.try_once() and holder(leases) == "b"
    assert leases.leases[("kubermatic", "credcheck")]["spec"]["leaseTransitions"] == 1
    assert not a._renew(), "the old leader learns it lost the Lease"


def test_two_replicas_racing_for_a_new_lease_one_wins() -> None:
    leases, clock = FakeKube(), Clock()
    a, b = elector(leases, "a", clock), elector(leases, "b", clock)
    real_get = leases.get_lease
    leases.get_lease = lambda *_: None  # type: ignore[method-assign]  # both read "no Lease"
    assert a.try_once()
    assert not b.try_once(), "the second create is a Conflict"
    leases.get_lease = real_get  # type: ignore[method-assign]
    assert holder(leases) == "a"


def test_a_released_lease_is_taken_at_once() -> None:
    leases, clock = FakeKube(), Clock()
    a, b = elector(leases, "a", clock), elector(leases, "b", clock)
    assert a.try_once() and not b.try_once()
    asyncio.run(a.release())
    assert holder(leases) == "" and leases.leases[("kubermatic", "credcheck")]["spec"]["leaseDurationSeconds"] == 1
    assert b.try_once(), "no waiting for the lease duration"


def test_a_leader_that_cannot_renew_steps_down_by_the_renew_deadline() -> None:
    leases, clock = FakeKube(), Clock()
    a = elector(leases, "a", clock)
    assert a.try_once()
    leases.down = True

    async def sleep(_: float) -> None:
        clock.now += 2

    original = asyncio.sleep
    asyncio.sleep = sleep  # type: ignore[assignment]
    try:
        asyncio.run(a.hold())
    finally:
        asyncio.sleep = original
    assert not a.leading
    assert 10 <= clock.now - 1000.0 < 15, "stepped down after the renew deadline, before anyone may take over"


def test_a_renewal_keeps_the_acquire_time_and_counts_no_transition() -> None:
    leases, clock = FakeKube(), Clock()
    a = elector(leases, "a", clock)
    assert a.try_once()
    first = dict(leases.leases[("kubermatic", "credcheck")]["spec"])
    clock.now += 2
    assert a._renew()
    spec = leases.leases[("kubermatic", "credcheck")]["spec"]
    assert spec["acquireTime"] == first["acquireTime"] and spec["leaseTransitions"] == first["leaseTransitions"]
    assert spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15


@pytest.mark.parametrize(("lease", "renew", "retry"), [("10s", "10s", "2s"), ("15s", "10s", "10s")])
def test_lease_timings_must_nest(lease: str, renew: str, retry: str) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ValueError, match="leader election"):
        from_arguments(parser.parse_args(["--leader-lease-duration", lease, "--leader-renew-deadline", renew,
                                          "--leader-retry-period", retry]))


# --- one leader, whatever the API server does (issue 33) ---------------------------------------------------------
class HangingLeases(FakeKube):
    """Renewals that hang until released (an API server that stopped answering), or that answer late."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = threading.Event()
        self.released = threading.Event()
        self.delay = 0.0

    def update_lease(self, namespace: str, name: str, spec: dict[str, Any], resource_version: str) -> dict[str, Any]:
        if self.hang.is_set():
            self.released.wait(30)
        time.sleep(self.delay)
        return super().update_lease(namespace, name, spec, resource_version)


def real_elector(leases: FakeKube, identity: str, *, deadline: float = 1.0) -> LeaderElector:
    return LeaderElector(leases, "kubermatic", "credcheck", identity,
                         lease_duration=3, renew_deadline=deadline, retry_period=0.2)


def test_a_leader_whose_renewal_hangs_steps_down_at_the_renew_deadline_not_when_the_call_returns() -> None:
    leases = HangingLeases()
    a = real_elector(leases, "a")
    assert a.try_once()
    leases.hang.set()
    started = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(a.hold(), 10))
        took = time.monotonic() - started
    finally:
        leases.released.set()
    assert not a.leading
    assert took <= 1.0 + 0.3, f"stepped down {took:.2f} s after its last renewal (deadline 1 s), not when it returned"


def test_a_late_answer_counts_the_renewal_from_when_it_was_sent() -> None:
    leases = HangingLeases()
    a = real_elector(leases, "a")
    assert a.try_once()
    leases.delay = 0.5
    sent = time.monotonic()
    assert a._renew()
    assert a.renewed_at <= sent + 0.05, "the API server may have stored it at once: the lease counts from sending"


def test_the_guard_ends_a_leader_at_the_deadline_even_while_the_event_loop_is_blocked() -> None:
    leases = HangingLeases()
    a = real_elector(leases, "a")
    assert a.try_once()
    fired: list[float] = []
    start = a.renewed_at
    a.guard(lambda: fired.append(time.monotonic() - start), poll=0.02)
    time.sleep(1.4)  # as a long handler holding the loop would: nothing renews
    assert fired and 1.0 <= fired[0] <= 1.2, f"the guard fired at {fired} (deadline 1 s)"


def serve(status: int, hang: float = 0.0) -> tuple[ThreadingHTTPServer, list[float]]:
    """A local HTTP server answering every request with `status` (and Retry-After: 10) after `hang` seconds."""
    seen: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(time.monotonic())
            time.sleep(hang)
            self.send_response(status)
            self.send_header("Retry-After", "10")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.mark.parametrize(("status", "hang"), [(429, 0.0), (200, 30.0)], ids=["429-retry-after", "hanging"])
def test_lease_calls_are_tried_once_within_half_the_renew_deadline(status: int, hang: float) -> None:
    server, seen = serve(status, hang)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    client = lease_client(2.0)
    client._connect = lambda: kopf.ConnectionInfo(server=url)
    started = time.monotonic()
    try:
        with pytest.raises(Exception):  # noqa: B017 - a 429 (ApiError) or a read timeout (urllib3's)
            client.get_lease("kubermatic", "credcheck")
        took = time.monotonic() - started
    finally:
        server.shutdown()
    assert len(seen) == 1, "one attempt: no Retry-After sleep, the elector tries again next retry period"
    assert took < 1.5, f"the Lease call took {took:.1f} s (its timeout: 1 s for a 2 s renew deadline)"
