"""Prometheus and Alertmanager on the test ground: the chart's alert rules evaluated over the operator's /metrics.

Debian's `prometheus` and `prometheus-alertmanager` packages (installed by hack/install-tools.sh) run as processes
of a state folder like the other parts (`spawn`, pid files, `stop_all`), on 127.0.0.1 and free ports, each with a
data folder of its own and Alertmanager's clustering off. The rules are the chart's file
(deploy/helm/credcheck/files/rules.yaml, the PrometheusRule's spec) with only `for:` rewritten when a caller cannot
wait the shipped durations (`rules_with_for`): expressions, labels and annotations stay the shipped ones.

`python -m credcheck_testground.monitoring alerts --state DIR` lists the alerts of the Prometheus a demo started.
"""

import argparse
import copy
import json
import re
import shutil
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from credcheck.kube.contract import parse_duration
from credcheck_testground.processes import free_port, spawn, wait_until

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "helm" / "credcheck" / "files" / "rules.yaml"
PACKAGES = {"prometheus": "prometheus", "prometheus-alertmanager": "prometheus-alertmanager"}


class MissingTool(RuntimeError):
    pass


def binary(name: str) -> str:
    """The path of a Debian monitoring binary, or MissingTool naming the package that has it."""
    found = shutil.which(name)
    if found is None:
        raise MissingTool(f"{name} is missing: install Debian's {PACKAGES[name]} package (bash hack/install-tools.sh, "
                          f"as root)")
    return found


RUNBOOK_PLACEHOLDER = "RUNBOOK_BASE_URL"


def rules_text(runbook_base_url: str = "") -> str:
    """The chart's rules file as the chart renders it (templates/_helpers.tpl, `credcheck.rules`): the runbook links'
    placeholder replaced by `runbook_base_url`, or, without one, every runbook_url line left out. A deploy test holds
    the two renderings equal."""
    text = RULES.read_text()
    if runbook_base_url:
        return text.replace(RUNBOOK_PLACEHOLDER, runbook_base_url.removesuffix("/"))
    return re.sub(rf"(?m)^[ \t]*runbook_url: {RUNBOOK_PLACEHOLDER}.*\n", "", text)


def shipped_rules(runbook_base_url: str = "") -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(rules_text(runbook_base_url))
    return doc


def rules_with_for(duration: str, rules: dict[str, Any] | None = None) -> dict[str, Any]:
    """The chart's rules with every alerting rule's `for:` set to `duration`; nothing else changes."""
    doc = copy.deepcopy(rules if rules is not None else shipped_rules())
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "alert" in rule and "for" in rule:
                rule["for"] = duration
    return doc


def _get_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - our own 127.0.0.1 endpoints
        return json.loads(resp.read())


def _ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:  # noqa: S310
        return bool(resp.status == 200)


@dataclass(frozen=True)
class Prometheus:
    url: str

    @property
    def alerts_page(self) -> str:
        """Where a browser shows the alerts: Debian's prometheus ships the classic web UI only (/alerts is 404)."""
        return f"{self.url}/classic/alerts"

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        body = _get_json(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Every pending and firing alert (labels, annotations, state, activeAt)."""
        alerts: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/alerts")["data"]["alerts"]
        return alerts


@dataclass(frozen=True)
class Alertmanager:
    url: str

    @property
    def target(self) -> str:
        return self.url.removeprefix("http://")


def start_alertmanager(state: Path, webhook_url: str, *,
                       group_by: Sequence[str] = ("alertname", "check_namespace", "name"),
                       group_wait: str = "1s", group_interval: str = "1s", repeat_interval: str = "1h",
                       timeout: float = 30) -> Alertmanager:
    """Alertmanager with one route to a webhook receiver (resolved notifications too)."""
    exe = binary("prometheus-alertmanager")
    home = state / "alertmanager"
    (home / "data").mkdir(parents=True, exist_ok=True)
    config = {
        "route": {"receiver": "webhook", "group_by": list(group_by), "group_wait": group_wait,
                  "group_interval": group_interval, "repeat_interval": repeat_interval},
        "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }
    (home / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn("alertmanager", [exe, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'data'}",
                                  f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={url}",
                                  "--cluster.listen-address="], state)
    wait_until(lambda: _ready(url), "Alertmanager", timeout, proc, state / "alertmanager.log")
    return Alertmanager(url)


def start_prometheus(state: Path, targets: Sequence[str], rules: dict[str, Any], *,
                     alertmanager: Alertmanager | None = None, interval: str = "1s", timeout: float = 30) -> Prometheus:
    """Prometheus scraping `targets` (host:port of /metrics) and evaluating `rules` every `interval`."""
    exe = binary("prometheus")
    home = state / "prometheus"
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "rule_files": [str(home / "rules.yaml")],
        "scrape_configs": [{"job_name": "credcheck", "static_configs": [{"targets": list(targets)}]}],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager.target]}]}]}
    return run_prometheus(state, exe, home, config, timeout)


def run_prometheus(state: Path, exe: str, home: Path, config: dict[str, Any], timeout: float) -> Prometheus:
    """`exe` with `config` written into `home` (beside its data), on a free loopback port, once it answers ready;
    its URL kept in state/prometheus-url (the demo's `attach_prometheus`)."""
    (home / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn("prometheus", [exe, f"--config.file={home / 'prometheus.yml'}",
                                f"--storage.tsdb.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                f"--web.external-url={url}"], state)
    wait_until(lambda: _ready(url), "Prometheus", timeout, proc, state / "prometheus.log")
    (state / "prometheus-url").write_text(url)
    return Prometheus(url)


def attach_prometheus(state: Path) -> Prometheus | None:
    """The Prometheus a demo started in `state`, if any."""
    found = state / "prometheus-url"
    return Prometheus(found.read_text().strip()) if found.exists() else None


def _durations(rules: Path) -> str:
    doc = yaml.safe_load(rules.read_text()) if rules.exists() else {"groups": []}
    found = {rule["for"] for group in doc["groups"] for rule in group["rules"] if "for" in rule}
    return ", ".join(sorted(found, key=parse_duration)) or "none"


def _delivered(state: Path, wait: float) -> int:
    """The alerts KKP's Alertmanager (the demo's) holds, with the message KKP's Slack template prints: waits up to
    `wait` seconds for one about a KKP Cluster."""
    found = state / "alertmanager-url"
    if not found.exists():
        print(f"no Alertmanager was started in {state}", file=sys.stderr)
        return 1
    url = found.read_text().strip()
    deadline = time.monotonic() + wait
    seen = -1
    while True:  # until a Cluster's alert is there and no more arrived in the last poll (or the wait is over)
        try:
            alerts: list[dict[str, Any]] = _get_json(f"{url}/api/v2/alerts?active=true&silenced=false&inhibited=false")
        except OSError as error:
            print(f"Alertmanager at {url} does not answer ({error})", file=sys.stderr)
            return 1
        if (any("cluster" in a["labels"] for a in alerts) and len(alerts) == seen) or time.monotonic() >= deadline:
            break
        seen = len(alerts)
        time.sleep(6)
    if not alerts:
        print("  (no alert at Alertmanager yet)")
    for alert in sorted(alerts, key=lambda a: (a["labels"].get("alertname", ""), a["labels"].get("cluster", ""))):
        labels, annotations = alert["labels"], alert["annotations"]
        cluster = f" cluster={labels['cluster']}" if "cluster" in labels else ""
        print(f"  {labels.get('alertname')} severity={labels.get('severity')}{cluster}")
        print(f"    message: {annotations.get('message', '')}")
        if annotations.get("runbook_url"):
            print(f"    runbook: {annotations['runbook_url']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m credcheck_testground.monitoring", description=__doc__)
    parser.add_argument("command", choices=["alerts", "url", "delivered"])
    parser.add_argument("--state", type=Path, default=Path(".dev-env"))
    parser.add_argument("--wait", type=float, default=0, help="delivered: wait this long for a Cluster's alert")
    args = parser.parse_args(argv)
    if args.command == "delivered":
        return _delivered(args.state, args.wait)
    prometheus = attach_prometheus(args.state)
    if prometheus is None:
        print(f"no Prometheus was started in {args.state}", file=sys.stderr)
        return 1
    if args.command == "url":
        print(prometheus.alerts_page)
        return 0
    try:
        alerts = sorted(prometheus.alerts(), key=lambda a: (a["labels"].get("alertname", ""), a["labels"].get(
            "check_namespace", ""), a["labels"].get("name", "")))
    except OSError as error:
        print(f"Prometheus at {prometheus.url} does not answer ({error}); is the dev environment up?", file=sys.stderr)
        return 1
    print(f"  rules: {RULES.relative_to(REPO)}, for: {_durations(args.state / 'prometheus' / 'rules.yaml')} "
          f"(shipped: {_durations(RULES)})")
    if not alerts:
        print("  (no alert pending or firing yet)")
    for alert in alerts:
        labels = alert["labels"]
        where = f"{labels.get('check_namespace', '')}/{labels['name']}" if "name" in labels else ""
        where += f" cluster {labels['cluster']}" if "cluster" in labels else ""
        print(f"  {alert['state']:<8} {labels.get('alertname', '')} {labels.get('severity', '')} {where}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
