"""A KKP-like seed on the real control plane, with credcheck running as its own ServiceAccount and RBAC."""

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.verdict import grant_policy
from credcheck_testground.aws import ACCOUNT, Keys, LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.install import install_base
from credcheck_testground.processes import free_port

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
NS = "kubermatic"
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}


def kkp_policy(name: str, *extra: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads((DATA / name).read_text().replace("YOUR_ACCOUNT_ID", ACCOUNT))
    doc["Statement"] += list(extra)
    return doc


# what `credcheck requirements show kkp --format policy` prints: everything KKP's code calls, for any Cluster
GOOD_POLICY = grant_policy(load_profile("kkp").requirements(ACCOUNT, region="*"))
GOOD_POLICY["Statement"].append(SIMULATE)  # type: ignore[attr-defined]
LEAST_POLICY = kkp_policy("kkp-least-privilege-policy.json", SIMULATE)


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")


@dataclass
class Leaks:
    """Every secret value written to this test ground: Secrets' data and the keys of the users made for them.

    Filled where a value is written (Seed.secret, Seed.user, LEAKS.add), so it holds every value an operator started
    afterwards could read; each operator's own teardown scans for all of them (see running_operator), whichever
    test files run and in whatever order."""

    values: set[str] = field(default_factory=set)

    def add(self, *values: str) -> None:
        self.values.update(v.strip() for v in values if len(v.strip()) >= 16)  # AWS key ids have 20


LEAKS = Leaks()


def find_leaks(texts: dict[str, str], values: Iterable[str]) -> list[tuple[str, str]]:
    """(where, first four characters) of every secret value found in the texts."""
    return sorted({(where, value[:4] + "…") for where, text in texts.items() for value in values if value in text})


def what_an_operator_wrote(cp: ControlPlane, log: Path) -> dict[str, str]:
    """Every AWSCredentialCheck (spec, status, annotations), every Event, and the operator's log."""
    return {"AWSCredentialChecks": cp.run_kubectl("get", "awscc", "-A", "-o", "json").stdout,
            "Events": cp.run_kubectl("get", "events", "-A", "-o", "json").stdout,
            f"operator log {log}": log.read_text(errors="replace") if log.exists() else ""}


def marks_on_kkp_objects(cp: ControlPlane, namespace: str = NS) -> list[str]:
    """KKP's Secrets, Clusters and Presets carrying a kopf or credcheck annotation, finalizer or field manager.

    kopf stores diff-bases, progress and finalizers on objects it handles with change handlers; credcheck watches
    KKP's objects only with event handlers and an index, and never writes them."""
    listed = cp.run_kubectl("get", "secrets", "-n", namespace, "-o", "json", "--show-managed-fields").stdout
    kkp = cp.run_kubectl("get", "clusters.kubermatic.k8c.io,presets.kubermatic.k8c.io", "-o", "json",
                         "--show-managed-fields", check=False)  # no KKP kinds before install_base: nothing to mark
    items = json.loads(listed)["items"] + (json.loads(kkp.stdout)["items"] if kkp.returncode == 0 else [])
    marked = []
    for item in items:
        meta = item["metadata"]
        where = f"{item['kind']} {meta.get('namespace', '')}/{meta['name']}"
        marked += [f"{where}: annotation {k}" for k in (meta.get("annotations") or {}) if "kopf" in k or "credcheck" in k]
        marked += [f"{where}: finalizer {f}" for f in meta.get("finalizers") or []]
        marked += [f"{where}: written by {m}" for m in {f.get("manager", "") for f in meta.get("managedFields") or []}
                   if "kopf" in m or "credcheck" in m]
    return marked


def check_nothing_leaked(cp: ControlPlane, log: Path) -> None:
    """An operator's teardown: no secret value written so far in any check, Event or its log; no KKP object marked."""
    leaked = find_leaks(what_an_operator_wrote(cp, log), LEAKS.values)
    assert leaked == [], f"secret values found in what the operator ({log}) wrote: {leaked}"
    marked = marks_on_kkp_objects(cp)
    assert marked == [], f"the operator ({log}) wrote on KKP's objects: {marked}"


@dataclass
class Seed:
    cp: ControlPlane
    aws: LocalAWS
    log: Path
    state: Path
    written: list[str] = field(repr=False)  # every secret value this seed's tests wrote (also in LEAKS, which the
    # scans use); never in a failing test's printout
    metrics_url: str

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.cp.run_kubectl(*args, input_text=input_text, check=check)

    def secret(self, name: str, data: dict[str, str], namespace: str = NS) -> None:
        self.written += [v for v in data.values() if len(v.strip()) >= 8]
        LEAKS.add(*data.values())
        manifest = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": name, "namespace": namespace, "labels": {"project-id": "p1"}},
                    "stringData": data}
        self.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))

    def kkp_secret(self, name: str, keys: Keys) -> None:
        self.secret(name, {"accessKeyId": keys.access_key_id, "secretAccessKey": keys.secret_access_key})

    def user(self, policy: dict[str, Any]) -> Keys:
        _, keys = self.aws.create_user(policies=[policy])
        LEAKS.add(keys.access_key_id, keys.secret_access_key)
        return keys

    def check(self, name: str, namespace: str = NS) -> dict[str, Any] | None:
        result = self.kubectl("get", "awscc", name, "-n", namespace, "-o", "json", check=False)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def condition(self, name: str, kind: str = "Ready") -> tuple[str, str] | None:
        found = self.check(name)
        for c in ((found or {}).get("status") or {}).get("conditions") or []:
            if c["type"] == kind:
                return c["status"], c["reason"]
        return None

    def wait_condition(self, name: str, expected: tuple[str, str], kind: str = "Ready",
                       timeout: float = 60.0) -> dict[str, Any]:
        # 60 s: a module's new operator first re-checks every check earlier test files left in the shared control
        # plane, all in the test ground's one AWS account, paced by its call budget (5 a second; a check with key
        # facts and ownership reads is ~15-20 calls), so a new check may queue behind them for over 30 s
        wait_for(lambda: self.condition(name, kind) == expected, f"{name} {kind}={expected}", timeout)
        found = self.check(name)
        assert found is not None
        return found


@dataclass
class RunningOperator:
    log: Path
    metrics_url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def running_operator(cp: ControlPlane, aws: LocalAWS, state: Path, *, env_extra: dict[str, str] | None = None,
                     **settings: str) -> Iterator[RunningOperator]:
    """`credcheck run` as a subprocess under the ServiceAccount kubermatic/credcheck and the chart's RBAC (settings
    become CREDCHECK_* variables; `env_extra` is added to its environment last).

    When the block ends without an error, the operator is stopped and what it wrote is scanned (check_nothing_leaked):
    a leak fails the test that ran it, or the teardown of the fixture that did."""
    install_base(cp, NS)
    kubeconfig = cp.service_account_kubeconfig(NS, "credcheck")
    state.mkdir(parents=True, exist_ok=True)
    log = state / "operator.log"
    health, metrics_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CREDCHECK_"))}
    # the local AWS endpoint is http on 127.0.0.1: allowed only as a development endpoint
    env.update(KUBECONFIG=str(kubeconfig), AWS_ENDPOINT_URL=aws.url, CREDCHECK_DEV_ENDPOINTS="true",
               CREDCHECK_HEALTH_PORT=str(health), CREDCHECK_METRICS_PORT=str(metrics_port), CREDCHECK_CACHE_TTL="5m",
               CREDCHECK_REGION="eu-central-1", CREDCHECK_LOG_FORMAT="json")
    env.update({f"CREDCHECK_{k.upper()}": v for k, v in settings.items()})
    env.update(env_extra or {})
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "credcheck", "run"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    running = RunningOperator(log, f"http://127.0.0.1:{metrics_port}", proc)
    try:
        wait_for(lambda: _healthy(health) or proc.poll() is not None, "the operator's /healthz", timeout=60)
        assert proc.poll() is None, log.read_text()[-3000:]
        yield running
    except BaseException:
        running.stop()
        raise  # the test's own failure, not hidden by a scan
    running.stop()
    check_nothing_leaked(cp, log)


@pytest.fixture(scope="module")
def seed(control_plane: ControlPlane, local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    with running_operator(control_plane, local_aws, tmp_path_factory.mktemp("operator")) as op:
        yield Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
