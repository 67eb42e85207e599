"""Faults, with the operator running for real: AWS down, throttled, the apiserver restarted, the operator killed.

A checker that cries wolf or flaps is worse than none: an outage makes checks Unknown (never False), throttling
keeps the last verdict, and neither floods Events.
"""

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane, restart_apiserver

from .conftest import GOOD_POLICY, LEAST_POLICY, NS, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
FAST = {"retry_base": "2s", "cache_ttl": "0s"}  # every re-check asks AWS


def seed_for(cp: ControlPlane, aws: LocalAWS, log: Path) -> Seed:
    return Seed(cp, aws, log, cp.state, [], "")


def recheck(seed: Seed, name: str) -> None:
    seed.kubectl("annotate", "awscc", name, "-n", NS, f"credcheck.io/recheck={uuid.uuid4().hex}", "--overwrite")


def events_of(seed: Seed, name: str) -> list[tuple[str, str]]:
    items = json.loads(seed.kubectl("get", "events", "-n", NS, "--field-selector", f"involvedObject.name={name}",
                                    "-o", "json").stdout)["items"]
    return sorted((e["type"], e["reason"]) for e in items for _ in range(e.get("count") or 1))


def results_logged(log: Path, name: str) -> int:
    return sum(1 for line in log.read_text().splitlines() if "check result:" in line and f"{NS}/{name}\"" in line)


def test_aws_outage_is_unknown_never_false_and_recovers(control_plane: ControlPlane, clean_faults: LocalAWS,
                                                        tmp_path: Path, soak: bool) -> None:
    outage = 60.0 if soak else 15.0
    with running_operator(control_plane, clean_faults, tmp_path, **FAST) as op:
        seed = seed_for(control_plane, clean_faults, op.log)
        name = f"credential-aws-outage{uuid.uuid4().hex[:6]}"
        seed.kkp_secret(name, seed.user(GOOD_POLICY))
        seed.wait_condition(name, ("True", "AllRequiredAllowed"))
        before = results_logged(op.log, name)

        clean_faults.outage(down=True)
        started = time.monotonic()
        try:
            recheck(seed, name)
            seed.wait_condition(name, ("Unknown", "AWSUnreachable"))
            seen: set[tuple[str, str] | None] = set()
            while time.monotonic() - started < outage:
                seen.add(seed.condition(name, "PermissionsSufficient"))
                time.sleep(0.5)
        finally:
            clean_faults.outage(down=False)
        assert ("False", "MissingPermissions") not in seen and all(s is None or s[0] != "False" for s in seen)
        attempts = results_logged(op.log, name) - before
        # retries back off 2 s, 4 s, 8 s, …: a handful, not one per second
        assert 2 <= attempts <= 2 + int(outage).bit_length(), f"{attempts} checks during a {outage:.0f}s outage"

        seed.wait_condition(name, ("True", "AllRequiredAllowed"), timeout=outage + 20)
        assert events_of(seed, name) == [("Normal", "AllRequiredAllowed"), ("Normal", "PermissionsSufficient"),
                                         ("Warning", "AWSUnreachable")], "one Event per transition, no storm"


def test_sustained_throttling_keeps_the_last_verdict(control_plane: ControlPlane, clean_faults: LocalAWS,
                                                     tmp_path: Path) -> None:
    with running_operator(control_plane, clean_faults, tmp_path, **FAST) as op:
        seed = seed_for(control_plane, clean_faults, op.log)
        name = f"credential-aws-throttle{uuid.uuid4().hex[:6]}"
        seed.kkp_secret(name, seed.user(LEAST_POLICY))
        before = seed.wait_condition(name, ("False", "MissingPermissions"))["status"]
        events_before = events_of(seed, name)

        clean_faults.set_faults(throttle=-1, throttle_actions=("SimulatePrincipalPolicy",))
        recheck(seed, name)

        def noted() -> dict | None:  # type: ignore[type-arg]
            found = seed.check(name) or {}
            ready = next((c for c in found.get("status", {}).get("conditions", []) if c["type"] == "Ready"), {})
            return found if "showing the last verdict" in ready.get("message", "") else None

        found = wait_for(noted, "a Throttled note on the last verdict", timeout=60)
        ready = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "MissingPermissions"), "the verdict did not flip"
        assert "throttled" in ready["message"]
        assert ready["lastTransitionTime"] == next(
            c for c in before["conditions"] if c["type"] == "Ready")["lastTransitionTime"]
        assert events_of(seed, name) == events_before, "throttling posts no Events"

        clean_faults.clear_faults()
        recheck(seed, name)
        wait_for(lambda: noted() is None, "the note to clear after throttling stops", timeout=60)
        assert seed.condition(name) == ("False", "MissingPermissions")


def test_apiserver_restart_then_the_operator_resumes(control_plane: ControlPlane, local_aws: LocalAWS,
                                                      tmp_path: Path) -> None:
    # a leader that cannot renew its Lease for the renew deadline exits (client-go's rule: it can't know whether
    # a standby took over); an outage shorter than that is survived. The restart here takes ~10 s, so: longer timings
    with running_operator(control_plane, local_aws, tmp_path, leader_lease_duration="90s",
                          leader_renew_deadline="60s") as op:
        seed = seed_for(control_plane, local_aws, op.log)
        first = f"credential-aws-before{uuid.uuid4().hex[:6]}"
        seed.kkp_secret(first, seed.user(GOOD_POLICY))
        seed.wait_condition(first, ("True", "AllRequiredAllowed"))
        restart_apiserver(control_plane.state, down_seconds=3)
        assert op.process.poll() is None, "the operator survives the apiserver's absence"
        second = f"credential-aws-after{uuid.uuid4().hex[:6]}"
        seed.kkp_secret(second, seed.user(GOOD_POLICY))
        seed.wait_condition(second, ("True", "AllRequiredAllowed"), timeout=90)
        assert seed.condition(first) == ("True", "AllRequiredAllowed")


def test_sigkill_mid_check_converges_after_restart(control_plane: ControlPlane, clean_faults: LocalAWS,
                                                   tmp_path: Path) -> None:
    name = f"credential-aws-killed{uuid.uuid4().hex[:6]}"
    with running_operator(control_plane, clean_faults, tmp_path / "first") as op:
        seed = seed_for(control_plane, clean_faults, op.log)
        user = seed.user(GOOD_POLICY)
        clean_faults.set_faults(latency_ms=1500)
        seed.kkp_secret(name, user)
        wait_for(lambda: seed.check(name) is not None, "the discovered check")
        # the endpoint counts a request when it arrives, then holds it 1.5 s: the check is now waiting on AWS
        wait_for(lambda: clean_faults.calls_by_key().get(user.access_key_id), "the check's first AWS request")
        os.kill(op.process.pid, signal.SIGKILL)
        op.process.wait()
    clean_faults.clear_faults()
    assert not (seed.check(name) or {}).get("status", {}).get("conditions"), "killed before any verdict"
    clean_faults.reset_calls()
    with running_operator(control_plane, clean_faults, tmp_path / "second"):
        seed.wait_condition(name, ("True", "AllRequiredAllowed"), timeout=60)
        calls = clean_faults.calls()
    listed = [i["metadata"]["name"] for i in json.loads(seed.kubectl("get", "awscc", "-n", NS, "-o", "json")
                                                        .stdout)["items"] if i["metadata"]["name"] == name]
    assert listed == [name], "one check for the Secret, not two"
    assert calls.get("GetCallerIdentity") == 1, f"one AWS check after the restart, not more: {calls}"
