"""A standby: two operators on one Lease, on the real control plane. Only the leader checks; when it is killed
without notice the standby takes over within the lease duration, and nothing is checked twice; a leader stopped
gracefully hands over at once. Operators of their own (no seed), with the chart's lease timings, on the Lease the
chart's RBAC names (credcheck)."""

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from credcheck.controller.settings import Settings
from credcheck.kube.contract import parse_duration
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import GOOD_POLICY, NS, RunningOperator, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
LEASE = parse_duration(Settings().leader_lease_duration)
RETRY = parse_duration(Settings().leader_retry_period)


def results(op: RunningOperator) -> list[str]:
    """The checks this operator ran (its one JSON log line per check result)."""
    lines = [json.loads(line) for line in op.log.read_text().splitlines() if line.startswith("{")]
    return [str(e.get("object")) for e in lines if str(e.get("message", "")).startswith("check result:")]


def leads(op: RunningOperator) -> bool:
    return "became the leader" in op.log.read_text()


def test_the_standby_takes_over_a_killed_leader_within_the_lease_and_checks_nothing_twice(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path) -> None:
    seed = Seed(control_plane, local_aws, tmp_path / "unused.log", control_plane.state, [], "")
    first, second = (f"credential-aws-lead{uuid.uuid4().hex[:6]}" for _ in range(2))
    with running_operator(control_plane, local_aws, tmp_path / "a", leader_identity="replica-a") as a:
        # an earlier test's operator killed without notice may hold the Lease until it expires
        wait_for(lambda: leads(a), "replica A to lead", timeout=LEASE + 10)
        with running_operator(control_plane, local_aws, tmp_path / "b", leader_identity="replica-b") as b:
            wait_for(lambda: "standing by: Lease" in b.log.read_text(), "replica B to stand by")
            assert readyz(b.metrics_url) == 200, "a standby is ready: it serves the webhook"
            keys = {first: seed.user(GOOD_POLICY), second: seed.user(GOOD_POLICY)}
            local_aws.reset_calls()
            seed.kkp_secret(first, keys[first])
            seed.wait_condition(first, ("True", "AllRequiredAllowed"))
            assert results(b) == [] and not leads(b), "the standby ran no check"

            os.kill(a.process.pid, signal.SIGKILL)
            killed = time.monotonic()
            a.process.wait()
            seed.kkp_secret(second, keys[second])
            wait_for(lambda: leads(b), "replica B to take over", timeout=LEASE + 3 * RETRY + 5)
            took_over = time.monotonic() - killed
            seed.wait_condition(second, ("True", "AllRequiredAllowed"), timeout=30)
            serving = time.monotonic() - killed
            stored = json.loads(control_plane.run_kubectl("get", "lease", "credcheck", "-n", NS, "-o", "json").stdout)
            calls = {name: local_aws.calls_by_key().get(k.access_key_id, {}) for name, k in keys.items()}
            checked_by_b = results(b)
    print(f"\nfailover after SIGKILL: leader in {took_over:.1f} s, first new verdict in {serving:.1f} s "
          f"(lease {LEASE:.0f} s, retry {RETRY:.0f} s)")
    assert stored["spec"]["holderIdentity"] == "replica-b" and stored["spec"]["leaseTransitions"] >= 1
    assert took_over <= LEASE + 2 * RETRY + 1, f"took over after {took_over:.1f} s"
    assert f"{NS}/{second}" in checked_by_b and f"{NS}/{first}" not in checked_by_b, \
        f"the new leader checked the new Secret, not the one checked before: {checked_by_b}"
    assert [c.get("GetCallerIdentity") for c in calls.values()] == [1, 1], \
        f"one AWS check per credential, none twice: {calls}"


def test_a_leader_stopped_gracefully_hands_over_at_once(control_plane: ControlPlane, local_aws: LocalAWS,
                                                        tmp_path: Path) -> None:
    with running_operator(control_plane, local_aws, tmp_path / "a", leader_identity="replica-a") as a:
        # an earlier test's operator killed without notice may hold the Lease until it expires
        wait_for(lambda: leads(a), "replica A to lead", timeout=LEASE + 10)
        with running_operator(control_plane, local_aws, tmp_path / "b", leader_identity="replica-b") as b:
            wait_for(lambda: "standing by: Lease" in b.log.read_text(), "replica B to stand by")
            stopped = time.monotonic()
            a.stop()  # SIGTERM: kopf stops, the Lease is released
            wait_for(lambda: leads(b), "replica B to take over", timeout=LEASE)
            took_over = time.monotonic() - stopped
    print(f"\nfailover after SIGTERM: leader in {took_over:.1f} s")
    assert "released the Lease" in a.log.read_text()
    assert took_over < LEASE / 2, f"a released Lease is taken within a retry period or so, not {took_over:.1f} s"


def readyz(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
