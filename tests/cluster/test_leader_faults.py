"""One leader at a time while the Lease API misbehaves for the leader (issue 33): replica A reaches the API server
through a proxy whose Lease API hangs or answers 429 with Retry-After: 10, replica B reaches it directly. A must
stop (exit) by its renew deadline, counted from its last renewal, whatever its Lease call is doing; B takes over
after the lease duration; at no instant do both run. Timings: lease 6 s, renew deadline 4 s, retry 1 s."""

import time
from pathlib import Path

import pytest

from credcheck_testground.apifaults import ApiProxy
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.install import install_base

from .conftest import NS, running_operator, wait_for
from .test_leader import leads

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
LEASE, DEADLINE, RETRY = 6.0, 4.0, 1.0
TIMINGS = {"leader_lease_duration": "6s", "leader_renew_deadline": "4s", "leader_retry_period": "1s"}


@pytest.mark.parametrize("fault", ["hang", "429"])
def test_a_leader_whose_lease_api_hangs_or_throttles_stops_before_the_standby_leads(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path, fault: str) -> None:
    proxy = ApiProxy(control_plane, tmp_path / "proxy")
    try:
        install_base(control_plane, NS)
        proxied = proxy.kubeconfig(control_plane.service_account_kubeconfig(NS, "credcheck"), tmp_path / "kc")
        with running_operator(control_plane, local_aws, tmp_path / "a", leader_identity="replica-a",
                              env_extra={"KUBECONFIG": str(proxied)},
                              **TIMINGS) as a:
            # the chart's RBAC names the Lease credcheck: an earlier test's killed holder may keep it 15 s
            wait_for(lambda: leads(a), "replica A to lead", timeout=30)
            with running_operator(control_plane, local_aws, tmp_path / "b", leader_identity="replica-b",
                                  **TIMINGS) as b:
                wait_for(lambda: "standing by: Lease" in b.log.read_text(), "replica B to stand by")
                time.sleep(2 * RETRY)  # a few renewals through the proxy
                proxy.lease_fault = fault
                start = time.monotonic()
                a_stopped = b_led = None
                while time.monotonic() - start < LEASE + 5 * RETRY + 10 and (a_stopped is None or b_led is None):
                    now = time.monotonic() - start
                    if a_stopped is None and a.process.poll() is not None:
                        a_stopped = now
                    if b_led is None and leads(b):
                        b_led = now
                    assert not (b_led is not None and a_stopped is None), \
                        f"two leaders: B leads at {b_led:.2f} s while A still runs"
                    time.sleep(0.05)
                proxy.lease_fault = None
                faulted = proxy.lease_faulted
                a_log = a.log.read_text()
    finally:
        proxy.lease_fault = None
        proxy.stop()
    print(f"\nLease API {fault}: A stopped {a_stopped} s after the fault began (renew deadline {DEADLINE:.0f} s "
          f"from its last renewal), B led at {b_led} s (lease {LEASE:.0f} s); {faulted} Lease requests faulted")
    assert a_stopped is not None and b_led is not None, (a_stopped, b_led)
    assert a_stopped <= DEADLINE + 0.5, f"A worked {a_stopped:.2f} s into the fault (renew deadline {DEADLINE} s)"
    assert a_stopped < b_led, "no instant with two leaders"
    assert b_led <= LEASE + 2 * RETRY + 1, f"failover after {b_led:.2f} s (lease {LEASE} s)"
    assert "lost the leadership" in a_log
