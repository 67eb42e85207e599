"""Background loops under supervision, with an operator of its own: a killed scheduler comes back, and /readyz
says so while it is down."""

import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import running_operator, wait_for


def readyz(url: str) -> int:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:  # a connection reset while the process restarts a loop: not ready (no status at all)
        return 0


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_a_killed_scheduler_is_restarted_and_readiness_reflects_it(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path) -> None:
    with running_operator(control_plane, local_aws, tmp_path) as op:
        assert readyz(op.metrics_url) == 200
        before = metric(op.metrics_url, 'credcheck_background_restarts_total{loop="scheduler"}')
        os.kill(op.process.pid, signal.SIGUSR2)
        seen: list[int] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (not seen or seen[-1] != 200 or 503 not in seen):
            seen.append(readyz(op.metrics_url))
            time.sleep(0.05)
        assert 503 in seen and seen[-1] == 200, f"readiness went down and came back: {sorted(set(seen))}"
        assert metric(op.metrics_url, 'credcheck_background_restarts_total{loop="scheduler"}') == before + 1
        wait_for(lambda: metric(op.metrics_url, "credcheck_scheduler_rounds_total") >= 1, "a scheduler round",
                 timeout=40)
        assert "scheduler crash requested" in op.log.read_text()
