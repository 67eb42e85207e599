"""bench/load.py stops what it started when it is interrupted (issue 33): a SIGTERM (as `timeout` sends) used to
leave kube-apiserver, etcd, the AWS endpoint and the operator running."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO, wait_for

pytestmark = [pytest.mark.cluster]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is gone for our purpose
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    return False


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def test_a_sigterm_stops_the_control_plane_endpoint_and_operator_it_started(tmp_path: Path) -> None:
    log = (tmp_path / "bench.log").open("wb")
    bench = subprocess.Popen([sys.executable, str(REPO / "bench" / "load.py"), "--credentials", "1", "--secrets", "1",
                              "--unrelated", "0"], env={**os.environ, "TMPDIR": str(tmp_path)}, stdout=log,
                             stderr=subprocess.STDOUT)
    started: dict[str, int] = {}
    try:
        def everything_started() -> bool:
            for pidfile in tmp_path.glob("*/*.pid"):
                with contextlib.suppress(OSError, ValueError):
                    started[pidfile.stem] = int(pidfile.read_text())
            operator = [c for c in children(bench.pid) if c not in started.values()]
            if operator and any(tmp_path.glob("*/operator.log")):
                started["operator"] = operator[0]
            return {"etcd", "kube-apiserver", "operator"} <= set(started) and len(started) >= 4

        wait_for(everything_started, "the bench's control plane, AWS endpoint and operator", timeout=180)
        bench.send_signal(signal.SIGTERM)
        bench.wait(90)
        deadline = time.monotonic() + 15
        while any(alive(pid) for pid in started.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {name: pid for name, pid in started.items() if alive(pid)}
    finally:
        if bench.poll() is None:
            bench.kill()
        for pid in started.values():  # only what this test's bench started
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    print(f"\nbench interrupted: stopped {sorted(started)}")
    assert left == {}, f"still running after the bench's SIGTERM: {left}"
