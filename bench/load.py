"""Load benchmark (issues #5 and #9), against a real control plane, AWS endpoint and operator on 127.0.0.1.

Default (#5): 1,000 credential Secrets over 100 distinct credentials created at --rate per second, then 4,000
unrelated Secrets (5,000 in the namespace). With --soak (#9, e.g. --credentials 1000 --secrets 1000): after that,
10 % of the credential Secrets get a freshly rotated key every minute for --minutes minutes, spread over each minute.

Measures Secret created (or rotated) -> check Ready with that data (p50/p99), AWS checks performed, and the
operator's resident memory. Targets: p50 <= 1 s, p99 <= 3 s, AWS checks = distinct credentials, RSS <= 150 MiB with
5,000 Secrets. Secrets are written in credential order (the first --credentials Secrets are all new credentials),
so the cold checks arrive as one burst: the latencies are split into that burst and the rest. Prints numbers,
never fails.

With --clusters N (#23, e.g. --clusters 2000 --credentials 1000 --secrets 1000 --unrelated 9000): a seed with KKP
Clusters. N Clusters (the test ground's KKP manifests) over the credential Secrets — two datacenters of the Seed
(eu-central-1, us-east-1), Kubernetes 1.33 to 1.35, every tenth with its own control-plane role, every 25th its
own instance profile, every 50th with disableIAMReconciling — are created first (their checks wait for their
Secrets), then the unrelated Secrets, then the credential Secrets at --rate per second (created -> Ready measured
as above). The operator runs with --interval (5m) and --aws-calls-per-second --budget; the benchmark then waits
for --rounds full re-check rounds (each check re-checked once) and prints, per round, its duration, its checks, the
AWS requests it made and the operator's RSS after it; and the memory the Clusters cost (RSS before and after they
were created and their checks made). Targets: RSS <= 150 MiB with 2,000 Clusters, 1,000 credentials and 10,000
Secrets, growth between rounds <= 5 %, each round inside the interval.

The AWS endpoint (--endpoint): `testground` (default) is the test ground's (moto + IAM simulation), whose CPU per check
is larger than credcheck's, so on one machine its latencies measure the endpoint as much as credcheck. With
--record FILE, a proxy in front of it (credcheck_testground/replay.py) keeps every answer under its request's
signature (access key, action, parameters), with the keys this run made. `recorded` (with --recording FILE) answers
from such a recording, at a small fraction of the endpoint's CPU, so the latencies measure credcheck; the run must
have the recording's --credentials/--secrets/--clusters/--unrelated, and any request not recorded fails the run.
Both print the endpoint's CPU per check beside the latencies.

Recorded, e.g. (the integrator's commands: docs/benchmarks.md):
  .venv/bin/python bench/load.py --clusters 200 --credentials 100 --secrets 100 --unrelated 0 --rounds 0 \
      --record /tmp/load-answers.json.gz
  .venv/bin/python bench/load.py --clusters 200 --credentials 100 --secrets 100 --unrelated 0 --rounds 0 \
      --endpoint recorded --recording /tmp/load-answers.json.gz
"""

import argparse
import base64
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import urllib3
from prometheus_client.parser import text_string_to_metric_families

from credcheck.kube.client import login
from credcheck.kube.contract import parse_duration
from credcheck_testground import aws, controlplane, kkp, replay
from credcheck_testground.install import install_base
from credcheck_testground.processes import free_port, stop_all

REPO = Path(__file__).resolve().parents[1]
NS = "kubermatic"
CHECKS = f"/apis/credcheck.io/v1alpha1/namespaces/{NS}/awscredentialchecks"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"
SHAPE = ("credentials", "secrets", "clusters", "unrelated")  # what a recording must match to answer every request


class Endpoint(Protocol):
    """What the measurements read of the AWS endpoint: the test ground's (aws.LocalAWS) or a recording's."""

    def calls(self) -> dict[str, int]: ...

    def reset_calls(self) -> None: ...


class Api:
    """Just the REST calls the benchmark makes, as the admin (no client library: the operator has none either)."""

    def __init__(self, kubeconfig: Path) -> None:
        previous = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(kubeconfig)
        try:
            info = login()
        finally:
            os.environ.pop("KUBECONFIG") if previous is None else os.environ.update(KUBECONFIG=previous)
        self.server, self.headers = info.server.rstrip("/"), {**info.as_http_headers(),
                                                              "Content-Type": "application/json"}
        self.http = urllib3.PoolManager(maxsize=4, ssl_context=info.as_ssl_context(), retries=False)

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.http.request(method, self.server + path, headers=self.headers, preload_content=False,
                                     body=None if body is None else json.dumps(body).encode(), **kwargs)
        if kwargs:
            return response
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {response.status}")
        return json.loads(data)


def merge_patch(api: Api, path: str, body: dict[str, Any]) -> None:
    response = api.http.request("PATCH", api.server + path, body=json.dumps(body).encode(),
                                headers={**api.headers, "Content-Type": "application/merge-patch+json"})
    if response.status >= 300:
        raise RuntimeError(f"PATCH {path}: HTTP {response.status}")


def rss_mib(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ReadyWatcher(threading.Thread):
    """Records, per check and source version, when a Ready condition from a check made at or after a given
    wall-clock second first appears (a rotation's new annotation arrives before its new status)."""

    def __init__(self, api: Api) -> None:
        super().__init__(daemon=True)
        self.api, self.stop = api, threading.Event()
        self.seen: dict[str, list[tuple[float, str, int]]] = {}  # name -> [(monotonic, version, checked epoch)]
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                response = self.api.call("GET", f"{CHECKS}?watch=1&timeoutSeconds=30", timeout=urllib3.Timeout(
                    connect=5, read=40))
                for line in response:
                    self.record(json.loads(line)["object"], time.monotonic())
                    if self.stop.is_set():
                        break
            except Exception:  # a dropped watch is re-opened; the benchmark only reads
                time.sleep(0.5)

    def record(self, obj: dict[str, Any], at: float) -> None:
        status = obj.get("status") or {}
        checked = status.get("lastCheckTime")
        if not checked or not any(c.get("type") == "Ready" for c in status.get("conditions", [])):
            return
        version = (obj["metadata"].get("annotations") or {}).get("credcheck.io/source-version", "")
        epoch = int(datetime.strptime(checked, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
        with self.lock:
            self.seen.setdefault(obj["metadata"]["name"], []).append((at, version, epoch))

    def ready_at(self, name: str, version: str, since_epoch: float) -> float | None:
        with self.lock:
            return next((at for at, v, checked in self.seen.get(name, [])
                         if v == version and checked >= int(since_epoch)), None)


def wait_ready(url: str, operator: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Until the operator answers /readyz, so its start-up is not measured."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and operator.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the operator did not become ready (exit code {operator.poll()})")


def percentiles(values: list[float]) -> str:
    if not values:
        return "none seen"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {statistics.median(ordered):.2f} s, p99 {p99:.2f} s, max {ordered[-1]:.2f} s (n={len(ordered)})"


def secret_body(name: str, keys: aws.Keys) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "type": "Opaque",
            "data": {"accessKeyId": base64.b64encode(keys.access_key_id.encode()).decode(),
                     "secretAccessKey": base64.b64encode(keys.secret_access_key.encode()).decode()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--credentials", type=int, default=100)
    parser.add_argument("--secrets", type=int, default=1000)
    parser.add_argument("--unrelated", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=20.0, help="credential Secrets created per second")
    parser.add_argument("--concurrency", type=int, default=4, help="the operator's --concurrency")
    parser.add_argument("--soak", action="store_true", help="rotate 10%% of the credential Secrets per minute")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--clusters", type=int, default=0, help="KKP Clusters over the credential Secrets")
    parser.add_argument("--interval", default="5m", help="with --clusters: the operator's re-check interval")
    parser.add_argument("--rounds", type=int, default=3, help="with --clusters: full re-check rounds to wait for")
    parser.add_argument("--churn", type=int, default=0, metavar="CYCLES",
                        help="with --clusters: create, move (another Kubernetes version) and delete the Clusters "
                             "CYCLES times over (#33); prints the RSS after each cycle's deletion")
    parser.add_argument("--budget", type=float, default=0.0,
                        help="the operator's --aws-calls-per-second (0: no cap, as for the latency numbers)")
    parser.add_argument("--endpoint", choices=("testground", "recorded"), default="testground",
                        help="the test ground's AWS endpoint, or answers recorded from it (--recording)")
    parser.add_argument("--record", type=Path, metavar="FILE", help="testground: record its answers into FILE")
    parser.add_argument("--recording", type=Path, metavar="FILE", help="recorded: the answers (made with --record)")
    args = parser.parse_args(argv)
    if args.endpoint == "recorded" and (args.recording is None or args.soak or args.record):
        parser.error("--endpoint recorded needs --recording FILE (and no --soak or --record: nothing rotates keys)")
    # a SIGTERM (`timeout`, a CI job's end) or SIGHUP unwinds like Ctrl-C, so the finally blocks below stop the
    # operator, the control plane and the AWS endpoint this run started (Python's default would just exit)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        try:
            run(state, args)
        finally:
            stop_all(state)


def _interrupted(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(state: Path, args: argparse.Namespace) -> None:
    cp = controlplane.start(state)
    install_base(cp, NS)
    endpoint: Endpoint
    recorder: replay.Replay | None = None
    if args.endpoint == "recorded":
        extra = replay.Recording.load(args.recording).extra
        if {k: getattr(args, k) for k in SHAPE} != extra.get("shape"):
            raise SystemExit(f"{args.recording} was recorded for {extra.get('shape')}: run with those numbers")
        keys = [aws.Keys(*pair) for pair in extra["keys"]]
        recorded = replay.start(state, replay=args.recording)
        endpoint, url, endpoint_pid = recorded, recorded.url, recorded.pid
    else:
        local = aws.start(state)
        keys = make_users(local, args)
        endpoint, url, endpoint_pid = local, local.url, int((state / "aws.pid").read_text())
        if args.record:
            recorder = replay.start(state, upstream=local.url)
            url = recorder.url
    args.endpoint_pid = endpoint_pid

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CREDCHECK_"))}
    metrics_port = free_port()
    args.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    env.update(KUBECONFIG=str(cp.service_account_kubeconfig(NS, "credcheck")), AWS_ENDPOINT_URL=url,
               CREDCHECK_HEALTH_PORT=str(free_port()), CREDCHECK_METRICS_PORT=str(metrics_port),
               CREDCHECK_CACHE_TTL="30m", CREDCHECK_REGION="eu-central-1",
               CREDCHECK_AWS_CALLS_PER_SECOND=str(args.budget), CREDCHECK_CONCURRENCY=str(args.concurrency),
               CREDCHECK_DEV_ENDPOINTS="true")  # the local AWS endpoint is http on 127.0.0.1
    if args.clusters:  # re-checks must reach AWS: a verdict is shared for less than the interval
        env.update(CREDCHECK_INTERVAL=args.interval, CREDCHECK_CACHE_TTL="1m")
    log = (state / "operator.log").open("wb")
    argv = [sys.executable, os.environ["CREDCHECK_BENCH_OPERATOR"]] if os.environ.get("CREDCHECK_BENCH_OPERATOR") \
        else [sys.executable, "-m", "credcheck", "run"]
    operator = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(args.metrics_url.replace("/metrics", "/readyz"), operator)
        time.sleep(2)  # its watches start right after start-up
        if args.clusters and args.churn:
            churn(cp, operator, keys, args)
        elif args.clusters:
            measure_clusters(cp, endpoint, operator, keys, args, state / "operator.log")
        else:
            measure(cp, endpoint, operator, keys, args)
    finally:
        operator.terminate()
        operator.wait(60)
    if recorder is not None:
        saved = recorder.save(args.record, {"shape": {k: getattr(args, k) for k in SHAPE},
                                            "keys": [[k.access_key_id, k.secret_access_key] for k in keys]})
        print(f"recorded {saved['answers']} answers ({saved['bodies']} distinct bodies) into {args.record}")
    if isinstance(endpoint, replay.Replay):
        misses = endpoint.misses()
        if misses:
            raise SystemExit(f"the recorded endpoint was asked {len(misses)} requests it had not recorded (the "
                             f"checks got UnrecordedRequest, so the numbers above are not valid); the first: "
                             f"{misses[0][:300]} - record again with these options")
        print("the recorded endpoint answered every request from the recording")


def make_users(endpoint: aws.LocalAWS, args: argparse.Namespace) -> list[aws.Keys]:
    """The credentials' IAM users (with the policy the measurement needs) and their keys."""
    policy = json.loads((REPO / "tests" / "data" / "kkp-documented-policy-2.22.json").read_text()
                        .replace("YOUR_ACCOUNT_ID", aws.ACCOUNT))
    policy["Statement"].append({"Effect": "Allow", "Action": ["iam:SimulatePrincipalPolicy",
                                "elasticloadbalancing:AddTags", "iam:TagInstanceProfile"], "Resource": "*"})
    if args.clusters:  # the Clusters' checks ask for much more (assume-role, the roles' own policies): grant all
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda i: endpoint.create_user(f"load-{i}", [policy])[1], range(args.credentials)))


def measure(cp: controlplane.ControlPlane, endpoint: Endpoint, operator: subprocess.Popen[bytes],
            keys: list[aws.Keys], args: argparse.Namespace) -> None:
    api = Api(cp.kubeconfig)
    watcher = ReadyWatcher(api)
    watcher.start()
    endpoint.reset_calls()
    print(f"operator RSS at start: {rss_mib(operator.pid)[0]:.0f} MiB", flush=True)

    created: dict[str, tuple[float, float, str]] = {}  # name -> (monotonic, wall, resourceVersion)
    cpu_before, endpoint_cpu = cpu_seconds(operator.pid), cpu_seconds(args.endpoint_pid)
    started = time.monotonic()
    for i in range(args.secrets):
        name = f"credential-aws-load-{i:04d}"
        wall, at = time.time(), time.monotonic()
        stored = api.call("POST", SECRETS, secret_body(name, keys[i % len(keys)]))
        created[name] = (at, wall, stored["metadata"]["resourceVersion"])
        time.sleep(max(0.0, started + (i + 1) / args.rate - time.monotonic()))

    def latencies(names: list[str]) -> list[float]:
        out = []
        for name in names:
            at, wall, version = created[name]
            ready = watcher.ready_at(f"{name}", version, wall)
            if ready is not None:
                out.append(ready - at)
        return out

    names = list(created)
    deadline = time.monotonic() + max(180.0, args.credentials * 1.0)
    while len(latencies(names)) < len(names) and time.monotonic() < deadline:
        time.sleep(1)
    calls = endpoint.calls()
    cold, warm = names[:len(keys)], names[len(keys):]
    print(f"{args.secrets} credential Secrets ({len(keys)} distinct credentials) created at {args.rate:.0f}/s: "
          f"Secret created -> Ready {percentiles(latencies(names))}")
    print(f"  the first {len(cold)} (each a new credential, one AWS check each): {percentiles(latencies(cold))}")
    print(f"  the other {len(warm)} (a credential already seen): {percentiles(latencies(warm))}")
    print(f"AWS checks performed: {calls.get('GetCallerIdentity', 0)} (distinct credentials: {len(keys)}); "
          f"SimulatePrincipalPolicy calls: {calls.get('SimulatePrincipalPolicy', 0)}")
    print_check_time(args.metrics_url)
    print(f"operator CPU for them: {cpu_seconds(operator.pid) - cpu_before:.1f} s "
          f"(wall {time.monotonic() - started:.0f} s); the endpoint's ({args.endpoint}) CPU "
          f"{cpu_seconds(args.endpoint_pid) - endpoint_cpu:.1f} s")
    print(f"operator RSS after {args.secrets} Secrets: {rss_mib(operator.pid)[0]:.0f} MiB", flush=True)
    dump_heap(operator)

    for i in range(args.unrelated):
        api.call("POST", SECRETS, {"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": f"unrelated-{i:05d}", "namespace": NS},
                                   "stringData": {"token": f"not-an-aws-credential-{i}"}})
    time.sleep(20)
    current, peak = rss_mib(operator.pid)
    dump_heap(operator)
    total = len(api.call("GET", SECRETS)["items"])
    print(f"operator RSS with {total} Secrets in the namespace: {current:.0f} MiB (peak {peak:.0f} MiB)", flush=True)

    if args.soak:
        assert isinstance(endpoint, aws.LocalAWS)  # --soak rotates keys: the test ground's endpoint only
        soak(api, endpoint, watcher, operator, args)
    watcher.stop.set()


def print_check_time(metrics_url: str) -> None:
    with urllib.request.urlopen(metrics_url, timeout=5) as resp:
        samples = {s.name: s.value for f in text_string_to_metric_families(resp.read().decode()) for s in f.samples
                   if s.name.startswith("credcheck_check_duration_seconds_") and not s.labels}
    count = samples.get("credcheck_check_duration_seconds_count", 0)
    if count:
        print(f"AWS check wall time (local endpoint, {count:.0f} checks): "
              f"mean {samples['credcheck_check_duration_seconds_sum'] / count:.2f} s")


def dump_heap(operator: subprocess.Popen[bytes]) -> None:
    """With CREDCHECK_BENCH_OPERATOR (a tracemalloc wrapper), ask it for a heap snapshot (SIGUSR1)."""
    if os.environ.get("CREDCHECK_BENCH_OPERATOR"):
        os.kill(operator.pid, 10)
        time.sleep(5)


def soak(api: Api, endpoint: aws.LocalAWS, watcher: ReadyWatcher, operator: subprocess.Popen[bytes],
         args: argparse.Namespace) -> None:
    per_minute = max(1, args.secrets // 10)
    rotated: list[tuple[str, str, float, float]] = []
    samples: list[float] = []
    for minute in range(args.minutes):
        began = time.monotonic()
        for j in range(per_minute):
            i = (minute * per_minute + j) % args.secrets
            name = f"credential-aws-load-{i:04d}"
            fresh = endpoint.rotate_key(f"load-{i % args.credentials}")
            wall, at = time.time(), time.monotonic()
            stored = api.call("PUT", f"{SECRETS}/{name}", secret_body(name, fresh))
            rotated.append((name, stored["metadata"]["resourceVersion"], at, wall))
            time.sleep(max(0.0, began + (j + 1) * 60 / per_minute - time.monotonic()))
        current, peak = rss_mib(operator.pid)
        samples.append(current)
        print(f"soak minute {minute + 1}: rotated {per_minute}, RSS {current:.0f} MiB (peak {peak:.0f})", flush=True)
    time.sleep(15)
    latencies = [ready - at for name, version, at, wall in rotated
                 if (ready := watcher.ready_at(name, version, wall)) is not None]
    print(f"soak: {len(rotated)} rotations -> re-checked {percentiles(latencies)} "
          f"({len(latencies)}/{len(rotated)} seen); AWS checks {endpoint.calls().get('GetCallerIdentity', 0)} "
          f"in all; RSS per minute {', '.join(f'{s:.0f}' for s in samples)} MiB")


CLUSTERS = "/apis/kubermatic.k8c.io/v1/clusters"
VERSIONS = ("1.33.4", "1.34.2", "1.35.1")
ROUND = re.compile(r"re-check round: (\d+) checks in (\d+) s, (\d+) AWS requests")


def cluster_manifest(i: int, secrets: int) -> dict[str, Any]:
    """Cluster i: on credential Secret i % secrets, alternating datacenters and Kubernetes versions; some with the
    admin's own control-plane role, instance profile, or without IAM reconciling."""
    own: dict[str, Any] = {}
    if i % 10 == 0:
        own["roleARN"] = f"team-{i}-control-plane"
    if i % 25 == 0:
        own["instanceProfileName"] = f"team-{i}-workers"
    if i % 50 == 0:
        own["disableIAMReconciling"] = True
    dc = sorted(kkp.DATACENTERS)[i % len(kkp.DATACENTERS)]
    return kkp.cluster(f"load{i:05d}", f"credential-aws-load-{i % secrets:04d}", NS, dc=dc,
                       version=VERSIONS[(i // 2) % len(VERSIONS)], **own)


def metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return sum(s.value for f in text_string_to_metric_families(resp.read().decode()) for s in f.samples
                   if s.name == name)


def settle(url: str, quiet: float = 10.0, limit: float = 600.0) -> None:
    """Until the operator's AWS requests and discovery have been still for `quiet` seconds."""
    deadline, last, since = time.monotonic() + limit, -1.0, time.monotonic()
    while time.monotonic() < deadline:
        now = metric(url, "credcheck_aws_requests_total")
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(1)


def measure_clusters(cp: controlplane.ControlPlane, endpoint: Endpoint, operator: subprocess.Popen[bytes],
                     keys: list[aws.Keys], args: argparse.Namespace, log: Path) -> None:
    api = Api(cp.kubeconfig)
    pool = ThreadPoolExecutor(4)
    start_rss = rss_mib(operator.pid)[0]
    print(f"operator RSS at start: {start_rss:.0f} MiB", flush=True)

    started = time.monotonic()
    list(pool.map(lambda i: api.call("POST", CLUSTERS, cluster_manifest(i, args.secrets)), range(args.clusters)))
    wanted, deadline = min(args.secrets, args.clusters), time.monotonic() + 600
    while time.monotonic() < deadline:  # every Secret the Clusters use has its check, with both its Clusters
        items = api.call("GET", CHECKS)["items"]
        if len(items) >= wanted and all(len(c["spec"].get("clusters") or []) >= args.clusters // args.secrets
                                        and c.get("status") for c in items):
            break
        time.sleep(2)
    checks = len(items)
    del items
    with_clusters = rss_mib(operator.pid)[0]
    print(f"{args.clusters} Clusters over {args.secrets} Secrets created in {time.monotonic() - started:.0f} s "
          f"({checks} checks, waiting for their Secrets): RSS {with_clusters:.0f} MiB, "
          f"{(with_clusters - start_rss) * 1024 / args.clusters:.1f} KiB per Cluster (their checks included)",
          flush=True)

    before_unrelated = rss_mib(operator.pid)[0]
    list(pool.map(lambda i: api.call("POST", SECRETS, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"unrelated-{i:05d}", "namespace": NS},
        "stringData": {"token": f"not-an-aws-credential-{i}"}}), range(args.unrelated)))
    settle(args.metrics_url, quiet=5)
    print(f"{args.unrelated} unrelated Secrets: RSS {rss_mib(operator.pid)[0]:.0f} MiB "
          f"({(rss_mib(operator.pid)[0] - before_unrelated) * 1024 * 1024 / max(1, args.unrelated):.0f} B per Secret)",
          flush=True)

    watcher = ReadyWatcher(api)
    watcher.start()
    endpoint.reset_calls()
    created: dict[str, tuple[float, float, str]] = {}
    cpu_before, began = cpu_seconds(operator.pid), time.monotonic()
    endpoint_cpu = cpu_seconds(args.endpoint_pid)
    for i in range(args.secrets):
        name = f"credential-aws-load-{i:04d}"
        wall, at = time.time(), time.monotonic()
        stored = api.call("POST", SECRETS, secret_body(name, keys[i % len(keys)]))
        created[name] = (at, wall, stored["metadata"]["resourceVersion"])
        time.sleep(max(0.0, began + (i + 1) / args.rate - time.monotonic()))

    def latencies() -> list[float]:
        return [ready - at for name, (at, wall, version) in created.items()
                if (ready := watcher.ready_at(name, version, wall)) is not None]

    deadline = time.monotonic() + max(300.0, args.secrets * 1.0)
    while len(latencies()) < len(created) and time.monotonic() < deadline:
        time.sleep(1)
    calls = endpoint.calls()
    checks = max(1, calls.get("GetCallerIdentity", 0))
    print(f"{args.secrets} credential Secrets, each a new credential used by {args.clusters // args.secrets} "
          f"Clusters, created at {args.rate:.0f}/s: created -> Ready {percentiles(latencies())} "
          f"(AWS endpoint: {args.endpoint})")
    print(f"  AWS: {calls.get('GetCallerIdentity', 0)} checks, {sum(calls.values())} requests "
          f"({calls.get('SimulatePrincipalPolicy', 0)} SimulatePrincipalPolicy, {calls.get('GetRole', 0)} GetRole); "
          f"operator CPU {cpu_seconds(operator.pid) - cpu_before:.0f} s "
          f"({(cpu_seconds(operator.pid) - cpu_before) / checks * 1000:.0f} ms a check); the endpoint's CPU "
          f"{(cpu_seconds(args.endpoint_pid) - endpoint_cpu) / checks * 1000:.0f} ms a check; "
          f"RSS {rss_mib(operator.pid)[0]:.0f} MiB", flush=True)
    watcher.stop.set()
    total = len(api.call("GET", SECRETS)["items"])
    print(f"Secrets in the namespace: {total}; Clusters: {args.clusters}", flush=True)

    setup_done, seen = time.time(), 0
    rounds: list[float] = []
    endpoint.reset_calls()
    limit = time.monotonic() + (args.rounds + 1.5) * 1.3 * parse_interval(args.interval) + 300
    throttled = metric(args.metrics_url, "credcheck_aws_throttled_total")
    while len(rounds) < args.rounds and time.monotonic() < limit and operator.poll() is None:
        found = ROUND.findall(log.read_text(errors="replace"))
        for checks_done, duration, requests in found[seen:]:
            current, peak = rss_mib(operator.pid)
            if time.time() - float(duration) < setup_done - 10:
                print(f"(a round begun during set-up: {checks_done} checks in {duration} s; RSS {current:.0f} MiB)",
                      flush=True)
                endpoint.reset_calls()
                continue
            aws_calls = endpoint.calls()
            endpoint.reset_calls()
            rounds.append(current)
            print(f"round {len(rounds)}: {checks_done} checks in {duration} s (interval {args.interval}), "
                  f"{requests} AWS requests while it ran ({aws_calls.get('SimulatePrincipalPolicy', 0)} simulations "
                  f"at the endpoint); RSS {current:.0f} MiB (peak {peak:.0f})", flush=True)
        seen = len(found)
        time.sleep(5)
    growth = [f"{(b - a) / a * 100:+.1f} %" for a, b in itertools.pairwise(rounds)]
    print(f"RSS after each round: {', '.join(f'{r:.0f}' for r in rounds)} MiB; growth between rounds: "
          f"{', '.join(growth) or 'n/a'}; throttled AWS calls during the rounds: "
          f"{metric(args.metrics_url, 'credcheck_aws_throttled_total') - throttled:.0f}", flush=True)
    pool.shutdown()


def churn(cp: controlplane.ControlPlane, operator: subprocess.Popen[bytes], keys: list[aws.Keys],
          args: argparse.Namespace) -> None:
    """#33: --clusters Clusters over --secrets credential Secrets (made once), created, moved to another Kubernetes
    version and deleted, --churn times; the operator's RSS after each step. From the second cycle on, the RSS after
    the deletion should stay within 5 % of the first cycle's (a high-water mark, not growth per cycle)."""
    api = Api(cp.kubeconfig)
    pool = ThreadPoolExecutor(4)
    list(pool.map(lambda i: api.call("POST", SECRETS, secret_body(f"credential-aws-load-{i:04d}",
                                                                  keys[i % len(keys)])), range(args.secrets)))
    per_secret = max(1, args.clusters // args.secrets)

    def checks_with(count: int, timeout: float = 900) -> None:
        """Until every credential's check lists `count` Clusters (and has a status), then AWS is quiet."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = api.call("GET", CHECKS)["items"]
            if len(items) >= args.secrets and all(len(c["spec"].get("clusters") or []) == count and c.get("status")
                                                  for c in items):
                break
            time.sleep(2)
        settle(args.metrics_url, quiet=5)

    settle(args.metrics_url, quiet=5)
    start = rss_mib(operator.pid)[0]
    print(f"churn: {args.clusters} Clusters over {args.secrets} credentials, {args.churn} cycles; RSS with the "
          f"credentials alone {start:.0f} MiB", flush=True)
    after_delete: list[float] = []
    for cycle in range(1, args.churn + 1):
        began = time.monotonic()
        list(pool.map(lambda i: api.call("POST", CLUSTERS, cluster_manifest(i, args.secrets)), range(args.clusters)))
        checks_with(per_secret)
        created = rss_mib(operator.pid)[0]
        moved_to = VERSIONS[cycle % len(VERSIONS)]
        paths = [f"{CLUSTERS}/load{i:05d}" for i in range(args.clusters)]
        list(pool.map(merge_patch, [api] * len(paths), paths, [{"spec": {"version": moved_to}}] * len(paths)))
        time.sleep(5)
        settle(args.metrics_url, quiet=5)
        moved = rss_mib(operator.pid)[0]
        list(pool.map(lambda i: api.call("DELETE", f"{CLUSTERS}/load{i:05d}"), range(args.clusters)))
        checks_with(0)
        deleted, peak = rss_mib(operator.pid)
        after_delete.append(deleted)
        print(f"cycle {cycle}: created {created:.0f}, moved {moved:.0f}, deleted {deleted:.0f} MiB (peak {peak:.0f}) "
              f"in {time.monotonic() - began:.0f} s", flush=True)
    first = after_delete[0]
    drift = [f"{(r - first) / first * 100:+.1f} %" for r in after_delete[1:]]
    print(f"RSS after each cycle's deletion: {', '.join(f'{r:.0f}' for r in after_delete)} MiB; against the first: "
          f"{', '.join(drift) or 'n/a'} (target: within 5 %)", flush=True)
    pool.shutdown()


def parse_interval(text: str) -> float:
    return parse_duration(text)


if __name__ == "__main__":
    main()
