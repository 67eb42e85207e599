"""Load benchmark (issues #5 and #9): 1,000 credential Secrets over 100 distinct credentials, then 5,000 Secrets
in the namespace; with --soak, 10 % of the credential Secrets rotated every minute for 10 minutes.

Measures Secret created -> check Ready latency (p50/p99), AWS checks performed, and the operator's memory (RSS).
Targets: p50 <= 1 s, p99 <= 3 s, AWS checks = distinct credentials, RSS <= 150 MiB with 5,000 Secrets.
Starts its own control plane, AWS endpoint and operator on 127.0.0.1; prints numbers, never fails.
"""

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from prometheus_client.parser import text_string_to_metric_families

from credcheck_testground import aws, controlplane
from credcheck_testground.install import install_base
from credcheck_testground.processes import free_port, stop_all

REPO = Path(__file__).resolve().parents[1]
NS = "kubermatic"


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class ReadyWatcher(threading.Thread):
    """Records when each AWSCredentialCheck first shows a Ready condition."""

    def __init__(self, api: client.CustomObjectsApi) -> None:
        super().__init__(daemon=True)
        self.api, self.ready, self.first, self.stop = api, {}, {}, threading.Event()
        self.versions: dict[str, str] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            stream = watch.Watch()
            try:
                for event in stream.stream(self.api.list_namespaced_custom_object, "credcheck.io", "v1alpha1", NS,
                                           "awscredentialchecks", timeout_seconds=30):
                    obj: dict[str, Any] = event["object"]
                    name = obj["metadata"]["name"]
                    source = (obj["metadata"].get("annotations") or {}).get("credcheck.io/source-version", "")
                    checked = (obj.get("status") or {}).get("lastCheckTime")
                    key = f"{name}@{source}"
                    if checked and key not in self.ready and any(
                            c["type"] == "Ready" for c in obj["status"].get("conditions", [])):
                        self.ready[key] = time.monotonic()
                        self.first.setdefault(name, self.ready[key])
                    if self.stop.is_set():
                        break
            except Exception:
                time.sleep(0.5)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {statistics.median(ordered):.2f} s, p99 {p(0.99):.2f} s, max {ordered[-1]:.2f} s (n={len(ordered)})"


def secret_body(name: str, keys: aws.Keys) -> client.V1Secret:
    return client.V1Secret(metadata=client.V1ObjectMeta(name=name, namespace=NS), type="Opaque",
                           data={"accessKeyId": base64.b64encode(keys.access_key_id.encode()).decode(),
                                 "secretAccessKey": base64.b64encode(keys.secret_access_key.encode()).decode()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--credentials", type=int, default=100)
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--unrelated", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=20.0, help="credential Secrets created per second")
    parser.add_argument("--soak", action="store_true", help="rotate 10%% per minute for 10 minutes")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        try:
            run(state, args)
        finally:
            stop_all(state)


def run(state: Path, args: argparse.Namespace) -> None:
    cp = controlplane.start(state)
    endpoint = aws.start(state)
    install_base(cp, NS)
    policy = json.loads((REPO / "tests" / "data" / "kkp-documented-policy.json").read_text()
                        .replace("YOUR_ACCOUNT_ID", aws.ACCOUNT))
    policy["Statement"].append({"Effect": "Allow", "Action": ["iam:SimulatePrincipalPolicy",
                                "elasticloadbalancing:AddTags", "iam:TagInstanceProfile"], "Resource": "*"})
    keys = [endpoint.create_user(f"load-{i}", [policy])[1] for i in range(args.credentials)]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CREDCHECK_"))}
    metrics_port = free_port()
    args.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    env.update(KUBECONFIG=str(cp.service_account_kubeconfig(NS, "credcheck")), AWS_ENDPOINT_URL=endpoint.url,
               CREDCHECK_HEALTH_PORT=str(free_port()), CREDCHECK_METRICS_PORT=str(metrics_port),
               CREDCHECK_CACHE_TTL="30m", CREDCHECK_REGION="eu-central-1", CREDCHECK_AWS_CALLS_PER_SECOND="0")
    log = (state / "operator.log").open("wb")
    argv = [sys.executable, os.environ["CREDCHECK_BENCH_OPERATOR"]] if os.environ.get("CREDCHECK_BENCH_OPERATOR") \
        else [sys.executable, "-m", "credcheck.cli", "run"]
    operator = subprocess.Popen(argv, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        time.sleep(5)
        measure(cp, endpoint, operator, keys, args)
    finally:
        operator.terminate()
        operator.wait(20)


def measure(cp: controlplane.ControlPlane, endpoint: aws.LocalAWS, operator: subprocess.Popen[bytes],
            keys: list[aws.Keys], args: argparse.Namespace) -> None:
    config.load_kube_config(str(cp.kubeconfig))  # type: ignore[no-untyped-call]
    core, custom = client.CoreV1Api(), client.CustomObjectsApi()
    watcher = ReadyWatcher(custom)
    watcher.start()
    endpoint.reset_calls()
    print(f"operator RSS at start: {rss_mib(operator.pid)[0]:.0f} MiB")

    created: dict[str, float] = {}
    started = time.monotonic()
    for i in range(args.secrets):
        name = f"credential-aws-load-{i:04d}"
        core.create_namespaced_secret(NS, secret_body(name, keys[i % len(keys)]))
        created[name] = time.monotonic()
        time.sleep(max(0.0, started + (i + 1) / args.rate - time.monotonic()))

    def ready_latencies() -> list[float]:
        first = dict(watcher.first)
        return [first[name] - at for name, at in created.items() if name in first]

    deadline = time.monotonic() + 180
    while len(ready_latencies()) < len(created) and time.monotonic() < deadline:
        time.sleep(1)
    latencies = ready_latencies()
    calls = endpoint.calls()
    print(f"{args.secrets} credential Secrets ({len(keys)} distinct credentials) created at {args.rate:.0f}/s: "
          f"Secret created -> Ready {percentiles(latencies)}")
    print(f"AWS checks performed: {calls.get('GetCallerIdentity', 0)} (distinct credentials: {len(keys)}); "
          f"SimulatePrincipalPolicy calls: {calls.get('SimulatePrincipalPolicy', 0)}")
    print(f"operator RSS after {args.secrets} Secrets: {rss_mib(operator.pid)[0]:.0f} MiB")
    with urllib.request.urlopen(args.metrics_url, timeout=5) as resp:
        samples = {s.name: s.value for f in text_string_to_metric_families(resp.read().decode()) for s in f.samples
                   if s.name.startswith("credcheck_check_duration_seconds_") and not s.labels}
    count = samples.get("credcheck_check_duration_seconds_count", 0)
    if count:
        print(f"AWS check wall time (local endpoint, {count:.0f} checks): "
              f"mean {samples['credcheck_check_duration_seconds_sum'] / count:.2f} s")
    if os.environ.get("CREDCHECK_BENCH_OPERATOR"):
        os.kill(operator.pid, 10)
        time.sleep(5)

    for i in range(args.unrelated):
        core.create_namespaced_secret(NS, client.V1Secret(
            metadata=client.V1ObjectMeta(name=f"unrelated-{i:05d}", namespace=NS),
            string_data={"token": f"not-an-aws-credential-{i}"}))
    time.sleep(20)
    current, peak = rss_mib(operator.pid)
    total = len(core.list_namespaced_secret(NS).items)
    print(f"operator RSS with {total} Secrets in the namespace: {current:.0f} MiB (peak {peak:.0f} MiB)")

    if args.soak:
        soak(core, watcher, operator, keys, args)
    watcher.stop.set()


def soak(core: client.CoreV1Api, watcher: ReadyWatcher, operator: subprocess.Popen[bytes], keys: list[aws.Keys],
         args: argparse.Namespace) -> None:
    rotated: list[tuple[str, str, float]] = []
    for minute in range(10):
        began = time.monotonic()
        for j in range(args.secrets // 10):
            i = (minute * (args.secrets // 10) + j) % args.secrets
            name = f"credential-aws-load-{i:04d}"
            updated = core.replace_namespaced_secret(name, NS, secret_body(name, keys[(i + minute + 1) % len(keys)]))
            rotated.append((name, updated.metadata.resource_version, time.monotonic()))
        current, peak = rss_mib(operator.pid)
        print(f"soak minute {minute + 1}: rotated {args.secrets // 10}, RSS {current:.0f} MiB (peak {peak:.0f})")
        time.sleep(max(0.0, 60 - (time.monotonic() - began)))
    time.sleep(10)
    ready = dict(watcher.ready)
    latencies = [ready[f"{n}@{v}"] - at for n, v, at in rotated if f"{n}@{v}" in ready]
    print(f"soak: rotation -> re-checked {percentiles(latencies)} ({len(latencies)}/{len(rotated)} seen)")


if __name__ == "__main__":
    main()
