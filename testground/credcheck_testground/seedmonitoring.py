"""KKP's seed monitoring on the test ground: Prometheus (KKP v2.31.0's version, built with Kubernetes service
discovery: prometheus_binary) with KKP v2.31.0's `pods` scrape job, and Debian's Alertmanager with KKP v2.31.0's
route and inhibit rules (the files in kkp_seed/, copied verbatim with their source: kkp_seed/README.md).

What is KKP's, unchanged: the `pods` job's relabel_configs and metric_relabel_configs (the Helm template filled in
with KKP's default values: `.Release.Namespace` = monitoring, minio without TLS), Prometheus' alert_relabel_configs,
Alertmanager's route (group_by, repeat_interval, the severity-none blackhole) and inhibit_rules.
What the test ground adds, and why:
- the job's pod discovery reads the test ground's apiserver (`kubeconfig_file`; KKP's Prometheus runs in the
  cluster and uses its ServiceAccount);
- the operator runs as a process on 127.0.0.1, so it is represented by a Pod object made from the chart's pod
  template (its labels and prometheus.io annotations, with the port the process really serves) whose status says
  podIP 127.0.0.1 (written through the status subresource: nothing else writes a Pod's status here, as there is no
  kubelet) — Prometheus then reaches the process exactly where KKP's relabelling points it;
- Alertmanager's `default` receiver (Slack in KKP) is a webhook the caller owns; `global` and `templates` (Slack's
  API URL, the template files) are left out; group_wait and group_interval are the caller's (KKP: the defaults,
  30s and 5m) so a test need not wait minutes;
- scrape and evaluation intervals are the caller's (KKP: 30s).
"""

import copy
import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.monitoring import Alertmanager, Prometheus, _ready, binary, run_prometheus
from credcheck_testground.processes import free_port, spawn, wait_until

DATA = Path(__file__).resolve().parent / "kkp_seed"
REPO = Path(__file__).resolve().parents[2]
MONITORING_NAMESPACE = "monitoring"  # where KKP installs its seed Prometheus, Alertmanager and Grafana
_MINIO = re.compile(r"\{\{ if \.Values\.prometheus\.scraping\.minio\.tls\.enabled \}\}(.*?)\{\{ end \}\}", re.S)


@functools.cache
def prometheus_binary() -> str:
    """Prometheus with Kubernetes service discovery: KKP's chart's version built from its Go module
    (hack/build-prometheus.sh, cached; Debian's build has no kubernetes_sd_configs)."""
    out = subprocess.run(["bash", str(REPO / "hack" / "build-prometheus.sh")], check=True, stdout=subprocess.PIPE,
                         text=True)
    return out.stdout.strip().splitlines()[-1]


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DATA / name).read_text())
    return doc


def prometheus_values() -> dict[str, Any]:
    return _load("prometheus-values.yaml")


def pods_job() -> dict[str, Any]:
    """KKP's `pods` scrape job as its chart renders it with its default values."""
    values = prometheus_values()["prometheus"]
    minio_tls = bool(values["scraping"]["minio"]["tls"]["enabled"])
    text = _MINIO.sub(lambda m: m[1] if minio_tls else "", (DATA / "prometheus-scraping-pods.yaml").read_text())
    text = text.replace("{{ .Release.Namespace }}", MONITORING_NAMESPACE)
    if "{{" in text:
        raise ValueError("KKP's pods.yaml holds a template construct seedmonitoring does not fill in")
    return _load_text(text)


def _load_text(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def alertmanager_config(webhook_url: str | None, *, group_wait: str, group_interval: str) -> dict[str, Any]:
    """KKP's Alertmanager configuration with its `default` receiver (Slack) replaced by a webhook to `webhook_url`,
    or by none (the alerts stay visible in Alertmanager's API)."""
    config: dict[str, Any] = copy.deepcopy(_load("alertmanager-values.yaml")["alertmanager"]["config"])
    config.pop("global", None)
    config.pop("templates", None)
    config["route"].update(group_wait=group_wait, group_interval=group_interval)
    default: dict[str, Any] = {"name": "default"}
    if webhook_url is not None:
        default["webhook_configs"] = [{"url": webhook_url, "send_resolved": True}]
    config["receivers"] = [r if r["name"] != "default" else default for r in config["receivers"]]
    return config


def start_alertmanager(state: Path, webhook_url: str | None, *, group_wait: str = "1s", group_interval: str = "1s",
                       timeout: float = 30) -> Alertmanager:
    exe = binary("prometheus-alertmanager")
    home = state / "alertmanager"
    (home / "data").mkdir(parents=True, exist_ok=True)
    config = alertmanager_config(webhook_url, group_wait=group_wait, group_interval=group_interval)
    (home / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = spawn("alertmanager", [exe, f"--config.file={home / 'alertmanager.yml'}", f"--storage.path={home / 'data'}",
                                  f"--web.listen-address=127.0.0.1:{port}", f"--web.external-url={url}",
                                  "--cluster.listen-address="], state)
    wait_until(lambda: _ready(url), "Alertmanager", timeout, proc, state / "alertmanager.log")
    return Alertmanager(url)


def start_prometheus(state: Path, kubeconfig: Path, rules: dict[str, Any], *, alertmanager: Alertmanager,
                     interval: str = "1s", timeout: float = 30) -> Prometheus:
    """Prometheus with KKP's `pods` job discovering pods through `kubeconfig`, and `rules` (a rules file)."""
    exe = prometheus_binary()
    home = state.resolve() / "prometheus"  # Prometheus reads relative paths from the config file's folder
    (home / "data").mkdir(parents=True, exist_ok=True)
    (home / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    job = pods_job()
    for sd in job["kubernetes_sd_configs"]:
        sd["kubeconfig_file"] = str(kubeconfig.resolve())
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
        "rule_files": [str(home / "rules.yaml")],
        "scrape_configs": [job],
        "alerting": {"alert_relabel_configs": prometheus_values()["prometheus"]["alerting"]["alert_relabel_configs"],
                     "alertmanagers": [{"static_configs": [{"targets": [alertmanager.target]}]}]},
    }
    return run_prometheus(state, exe, home, config, timeout)


def operator_pod(cp: ControlPlane, template: dict[str, Any], name: str, namespace: str) -> dict[str, Any]:
    """A Pod made from the chart's pod template (Deployment spec.template), its status saying podIP 127.0.0.1, Running:
    the operator process on this machine as KKP's pod discovery sees a replica of it."""
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": template["metadata"].get("labels") or {},
                        "annotations": template["metadata"].get("annotations") or {}},
           "spec": template["spec"]}
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    status = {"status": {"phase": "Running", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}],
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    cp.run_kubectl("patch", "pod", name, "-n", namespace, "--subresource=status", "--type=merge",
                   "-p", json.dumps(status))
    stored: dict[str, Any] = json.loads(cp.run_kubectl("get", "pod", name, "-n", namespace, "-o", "json").stdout)
    return stored
