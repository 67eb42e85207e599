"""End-to-end alerting on the test ground: a credential broken on purpose reaches a webhook through Prometheus and
Alertmanager, and fixing it resolves the alert.

Debian's Prometheus scrapes the running operator's /metrics with the chart's alert rules
(deploy/helm/credcheck/files/rules.yaml, the file the PrometheusRule carries) and sends to Debian's Alertmanager,
whose only receiver is a webhook this test serves on 127.0.0.1. A KKP credential Secret for an IAM user with
everything KKP needs becomes Ready; then the user's policy is replaced by KKP's least-privilege preset policy (it
lacks iam:PassRole, …) and the check re-checked: CredcheckPermissionsInsufficient must reach the webhook with the
shipped rule's labels (namespace, name, condition, status, reason, severity) and annotations (summary, description,
runbook_url), rendered for this check. The policy put back, a "resolved" notification must follow.

Test values, none of them in the shipped chart:
- `for:` is FOR (2s) instead of the shipped 15m, in a copy of the rules made by parsing the shipped file and
  rewriting only each alerting rule's `for` (`monitoring.rules_with_for`), so the expressions, labels and
  annotations under test are the shipped ones. 15 minutes would hold the test 15 minutes; 2s still goes through
  pending -> firing (the condition must hold over two or more evaluations 1s apart).
- Prometheus scrapes and evaluates every 1s (clusters: 30s-1m); Alertmanager's group_wait and group_interval are
  1s (defaults 30s and 5m), so a resolved notification is not held back for minutes.
- The operator runs with cache_ttl 0s, so the re-check after the policy change asks AWS again; the re-check is
  requested with the credcheck.io/recheck annotation (what an admin's `credcheck recheck` does).

The printed break -> notify latency is therefore this pipeline's own (operator re-check + scrape + evaluation +
`for` + group_wait + POST); in a cluster add the real `for` (15m), scrape and evaluation intervals and group_wait.
"""

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cluster.conftest import GOOD_POLICY, LEAKS, LEAST_POLICY, NS, Seed, running_operator, wait_for
from credcheck_testground import monitoring
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.processes import stop_all

from .conftest import REPORT

pytestmark = [pytest.mark.cluster, pytest.mark.aws, pytest.mark.alerting]

FOR = "2s"  # the test's `for:` (shipped: 15m); see the module docstring
INTERVAL = "1s"  # Prometheus' scrape and evaluation interval, Alertmanager's group_wait and group_interval
ALERT = "CredcheckPermissionsInsufficient"
RUNBOOK = "https://runbooks.example/credcheck/runbook.md"  # the chart value runbookBaseURL
SHIPPED = next(rule for group in monitoring.shipped_rules(RUNBOOK)["groups"] for rule in group["rules"]
               if rule.get("alert") == ALERT)


@dataclass(frozen=True)
class Notification:
    at: float  # time.monotonic() when the POST arrived
    body: dict[str, Any]


class Receiver:
    """Alertmanager's webhook receiver: records every POST body with the moment it arrived."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with receiver._lock:
                    receiver.notifications.append(Notification(time.monotonic(), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def matching(self, accept: Callable[[Notification], bool]) -> list[Notification]:
        with self._lock:
            return [n for n in self.notifications if accept(n)]

    def wait(self, accept: Callable[[Notification], bool], what: str, timeout: float) -> Notification:
        found: list[Notification] = wait_for(lambda: self.matching(accept), what, timeout)
        return found[0]


def about(name: str, status: str, since: float) -> Callable[[Notification], bool]:
    """A notification after `since` whose status is `status` and that carries ALERT for check NS/name so."""
    def accept(n: Notification) -> bool:
        return n.at >= since and n.body.get("status") == status and any(
            a["labels"].get("alertname") == ALERT and a["labels"].get("check_namespace") == NS
            and a["labels"].get("name") == name and a["status"] == status for a in n.body.get("alerts", []))
    return accept


def set_policy_and_recheck(seed: Seed, user: str, name: str, policy: dict[str, Any]) -> None:
    """Replace the user's policy in IAM (its keys stay), then ask for a re-check as an admin does."""
    seed.aws.client("iam").put_user_policy(UserName=user, PolicyName=f"{user}-policy-0",
                                           PolicyDocument=json.dumps(policy))
    seed.kubectl("annotate", "awscc", name, "-n", NS, f"credcheck.io/recheck={uuid.uuid4().hex}", "--overwrite")


def rendered(template: str, labels: dict[str, str]) -> str:
    """The shipped annotation with its {{ $labels.x }} and {{ with $labels.x }} ({{ . }}){{ end }} filled in (the
    only template features the rules use)."""
    template = re.sub(r"\{\{\s*with \$labels\.(\w+)\s*\}\}(.*?)\{\{\s*\.\s*\}\}(.*?)\{\{\s*end\s*\}\}",
                      lambda m: f"{m[2]}{labels[m[1]]}{m[3]}" if labels.get(m[1]) else "", template)
    return re.sub(r"\{\{\s*\$labels\.(\w+)\s*\}\}", lambda m: labels[m[1]], template)


@pytest.fixture
def monitoring_state(tmp_path: Path) -> Iterator[Path]:
    for name in ("prometheus", "prometheus-alertmanager"):
        try:
            monitoring.binary(name)
        except monitoring.MissingTool as missing:
            pytest.fail(str(missing))
    state = tmp_path / "monitoring"
    state.mkdir()
    try:
        yield state
    finally:
        stop_all(state)


@pytest.mark.timeout(240)
def test_broken_credential_alerts_through_alertmanager_and_fixing_it_resolves(
        control_plane: ControlPlane, local_aws: LocalAWS, monitoring_state: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    with Receiver() as receiver, running_operator(control_plane, local_aws, tmp_path / "operator",
                                                  cache_ttl="0s") as op:
        alertmanager = monitoring.start_alertmanager(monitoring_state, receiver.url, group_wait=INTERVAL,
                                                     group_interval=INTERVAL)
        prometheus = monitoring.start_prometheus(monitoring_state, [op.metrics_url.removeprefix("http://")],
                                                 monitoring.rules_with_for(FOR, monitoring.shipped_rules(RUNBOOK)),
                                                 alertmanager=alertmanager,
                                                 interval=INTERVAL)
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        name, user = f"credential-aws-alert{uuid.uuid4().hex[:6]}", f"alerting-{uuid.uuid4().hex[:8]}"
        _, keys = local_aws.create_user(user, [GOOD_POLICY])
        LEAKS.add(keys.access_key_id, keys.secret_access_key)
        seed.kkp_secret(name, keys)
        try:
            seed.wait_condition(name, ("True", "AllRequiredAllowed"), timeout=60)
            selector = f'check_namespace="{NS}",name="{name}",condition="PermissionsSufficient"'
            wait_for(lambda: prometheus.query(f'credcheck_check_condition{{{selector},status="True"}} == 1'),
                     "Prometheus to scrape the Ready check", timeout=30)
            ready_at = time.monotonic()

            # break: the same keys, a policy without what KKP needs (someone trimmed it in IAM)
            broken = time.monotonic()
            set_policy_and_recheck(seed, user, name, LEAST_POLICY)
            found = seed.wait_condition(name, ("False", "MissingPermissions"), "PermissionsSufficient", timeout=30)
            verdict = time.monotonic()
            firing = receiver.wait(about(name, "firing", broken), f"{ALERT} firing for {NS}/{name} at the webhook",
                                   timeout=60)

            early = [n for n in receiver.matching(about(name, "firing", 0.0)) if n.at < broken]
            assert not early, "the alert fired while the credential was Ready"
            alert = next(a for a in firing.body["alerts"] if a["labels"]["name"] == name)
            labels, annotations = alert["labels"], alert["annotations"]
            assert {k: labels.get(k) for k in ("alertname", "check_namespace", "name", "condition", "status",
                                               "reason")} == {
                "alertname": ALERT, "check_namespace": NS, "name": name, "condition": "PermissionsSufficient",
                "status": "False", "reason": "MissingPermissions"}
            assert "cluster" not in labels, "a check without Clusters alerts once, for the check"
            assert {k: labels.get(k) for k in SHIPPED["labels"]} == {
                k: rendered(v, labels) for k, v in SHIPPED["labels"].items()}  # severity: critical, service, resource
            assert {k: v for k, v in annotations.items() if k != "message"} == {
                k: rendered(v, labels) for k, v in SHIPPED["annotations"].items() if k != "message"}
            assert annotations["message"].startswith(f"AWS denies IAM actions KKP needs to the credential checked by "
                                                     f"AWSCredentialCheck {NS}/{name} (MissingPermissions)")
            assert annotations["summary"].endswith("(MissingPermissions)")
            assert annotations["runbook_url"] == f"{RUNBOOK}#credcheckpermissionsinsufficient"
            assert f"{NS}/{name}" in annotations["summary"]
            assert alert["generatorURL"].startswith(prometheus.url)
            assert firing.body["receiver"] == "webhook" and firing.body["externalURL"] == alertmanager.url
            # the reason the check gives, beside the alert that names it
            reason = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")["reason"]
            assert reason == "MissingPermissions"

            # fix: the policy put back
            fixed = time.monotonic()
            set_policy_and_recheck(seed, user, name, GOOD_POLICY)
            seed.wait_condition(name, ("True", "AllRequiredAllowed"), timeout=30)
            recovered = time.monotonic()
            resolved = receiver.wait(about(name, "resolved", fixed),
                                     f"{ALERT} resolved for {NS}/{name} at the webhook", timeout=60)
            gone = next(a for a in resolved.body["alerts"] if a["labels"]["name"] == name)
            assert gone["labels"] == labels and gone["endsAt"] > gone["startsAt"]
        finally:  # leave no check behind for later tests: the operator deletes the discovered check with its Secret
            seed.kubectl("delete", "secret", name, "-n", NS, "--ignore-not-found")
            wait_for(lambda: seed.check(name) is None, f"the check {name} to be deleted", timeout=30)

    lines = [
        f"{ALERT} for {NS}/{name} (test values: for: {FOR}, scrape/evaluation {INTERVAL}, "
        f"group_wait/group_interval {INTERVAL})",
        f"break -> check False: {verdict - broken:.1f}s; break -> firing POST at the webhook: "
        f"{firing.at - broken:.1f}s",
        f"fix -> check True: {recovered - fixed:.1f}s; fix -> resolved POST at the webhook: {resolved.at - fixed:.1f}s",
        f"whole test {time.monotonic() - started:.1f}s (setup until Prometheus saw the Ready check: "
        f"{ready_at - started:.1f}s)",
    ]
    REPORT.extend(lines)
    print("\n" + "\n".join(lines))
