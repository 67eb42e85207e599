"""A flood of forged reviews cannot starve the leader (issue 33). The operator serves its webhook to the real
kube-apiserver and, in the worst case, without client authentication (any pod may post); it reaches the apiserver
through a proxy that holds every SubjectAccessReview for 1 s (a loaded apiserver: each forged check review costs
one). The test posts 10,000 forged `/validate-check` reviews (loopback only, 64 connections, at most 180 s) while it
reads the operator's Lease every 0.2 s and writes real checks through the apiserver (which calls the webhook). It
prints and asserts: the renewals' largest gap (the Lease's own renewTime values) stays under half the renew
deadline, the operator never stepped down, and every real review was answered within the apiserver's timeout
(allowed, or refused fast as busy: a 429 the writer retries)."""

import base64
import http.client
import json
import ssl
import threading
import time
import uuid
from collections import Counter
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import pytest

from credcheck.controller.settings import Settings
from credcheck.kube.contract import parse_duration
from credcheck_testground.apifaults import ApiProxy
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import LEAKS, NS, running_operator, wait_for
from .test_leader import leads
from .test_webhook import webhook  # noqa: F401 - the module's fixture: the chart's webhook configuration

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
FORGED, CONNECTIONS, TIME_LIMIT = 10_000, 64, 180.0
RETRY = parse_duration(Settings().leader_retry_period)
DEADLINE = parse_duration(Settings().leader_renew_deadline)


def forged_review(n: int) -> bytes:
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": f"forged-{n}", "operation": "CREATE", "userInfo": {"username": "mallory", "groups": ["evil"]},
        "object": {"metadata": {"name": f"forged-{n}", "namespace": NS},
                   "spec": {"source": {"secretRef": {"name": f"credential-aws-victim{n % 50}"}}}}}}).encode()


def flood(port: int, stop: threading.Event, answers: Counter[str]) -> None:
    """FORGED reviews over CONNECTIONS kept-alive TLS connections (the serving certificate is not verified: the
    forger needs none), each answer counted by what it said."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    counter = iter(range(FORGED))
    lock = threading.Lock()

    def worker() -> None:
        conn: http.client.HTTPSConnection | None = None
        while not stop.is_set():
            with lock:
                n = next(counter, None)
            if n is None:
                return
            try:
                if conn is None:
                    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
                conn.request("POST", "/validate-check", body=forged_review(n),
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    kind = f"http {resp.status}"
                else:
                    response = json.loads(data)["response"]
                    kind = "allowed" if response["allowed"] else f"refused {response['status']['code']}"
            except (OSError, http.client.HTTPException) as err:
                kind, conn = f"error {type(err).__name__}", None
            with lock:
                answers[kind] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIME_LIMIT)


def lease_renewals(cp: ControlPlane, stop: threading.Event, seen: list[datetime]) -> None:
    """Every distinct renewTime of the credcheck Lease, read every 0.2 s with the admin's certificate."""
    pki = cp.state / "pki"
    context = ssl.create_default_context(cadata=cp.ca_pem.decode())
    context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
    host, port = cp.url.removeprefix("https://").split(":")
    while not stop.is_set():
        try:
            conn = http.client.HTTPSConnection(host, int(port), context=context, timeout=5)
            conn.request("GET", f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases/credcheck")
            lease = json.loads(conn.getresponse().read())
            conn.close()
            stamp = datetime.strptime(lease["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ")
            if not seen or seen[-1] != stamp:
                seen.append(stamp)
        except (OSError, KeyError, ValueError, http.client.HTTPException):
            pass
        time.sleep(0.2)


def real_checks(cp: ControlPlane, stop: threading.Event, results: list[tuple[str, float]], run: str) -> None:
    """Checks written by the admin through the apiserver, one every 0.5 s, each retried while the webhook is busy
    (as kubectl users and controllers retry a 429): (outcome, seconds to it)."""
    n = 0
    while not stop.is_set():
        n += 1
        manifest = {"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
                    "metadata": {"name": f"flood-{run}-{n}", "namespace": NS},
                    "spec": {"source": {"secretRef": {"name": f"credential-aws-flood{run}"}}, "suspend": True}}
        started, outcome = time.monotonic(), "unanswered"
        for _ in range(20):
            done = cp.run_kubectl("create", "-f", "-", input_text=json.dumps(manifest), check=False)
            if done.returncode == 0:
                outcome = "created" if outcome == "unanswered" else "created after busy"
                break
            outcome = "busy" if "busy" in done.stderr else f"failed: {done.stderr.strip()[:200]}"
            if outcome != "busy":
                break
            time.sleep(0.5)
        results.append((outcome, time.monotonic() - started))
        time.sleep(0.5)


def test_a_flood_of_forged_reviews_leaves_lease_renewals_on_time_and_real_reviews_answered(
        control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:  # noqa: F811
    cert_dir, port = webhook
    run = uuid.uuid4().hex[:6]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"credential-aws-flood{run}", "namespace": NS},
              "data": {"accessKeyId": base64.b64encode(b"AKIAIOSFODNN7FLOOD01").decode(),
                       "secretAccessKey": base64.b64encode(b"flood-secret-key-0123456789abcdefghijklmn").decode()}}
    LEAKS.add("flood-secret-key-0123456789abcdefghijklmn")
    control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(secret))
    answers: Counter[str] = Counter()
    renewals: list[datetime] = []
    real: list[tuple[str, float]] = []
    proxy = ApiProxy(control_plane, tmp_path / "proxy")
    proxy.slow["subjectaccessreviews"] = 1.0
    proxied = proxy.kubeconfig(control_plane.service_account_kubeconfig(NS, "credcheck"), tmp_path / "kc")
    with running_operator(control_plane, local_aws, tmp_path, webhook_cert_dir=str(cert_dir),
                          webhook_port=str(port), webhook_address="127.0.0.1",
                          env_extra={"KUBECONFIG": str(proxied)}) as op:
        wait_for(lambda: leads(op), "the operator to lead", timeout=40)
        stop = threading.Event()
        watchers = [threading.Thread(target=lease_renewals, args=(control_plane, stop, renewals), daemon=True),
                    threading.Thread(target=real_checks, args=(control_plane, stop, real, run), daemon=True)]
        for t in watchers:
            t.start()
        time.sleep(2 * RETRY)
        started = time.monotonic()
        flood(port, stop, answers)
        flooded = time.monotonic() - started
        time.sleep(RETRY)
        stop.set()
        for t in watchers:
            t.join(60)
        alive = op.process.poll() is None
        log = op.log.read_text()
    proxy.stop()
    control_plane.run_kubectl("delete", "awscc", "-n", NS, "-l", "!credcheck.io/discovered", "--wait=false",
                              check=False)
    gaps = [(b - a).total_seconds() for a, b in pairwise(renewals)]
    outcomes = Counter(o for o, _ in real)
    print(f"\nflood: {sum(answers.values())} forged reviews in {flooded:.1f} s ({dict(answers)}); Lease renewals "
          f"{len(renewals)}, largest gap {max(gaps, default=0):.2f} s (retry {RETRY:.0f} s, renew deadline "
          f"{DEADLINE:.0f} s); real reviews {dict(outcomes)}, slowest {max((t for _, t in real), default=0):.1f} s")
    assert sum(answers.values()) == FORGED, f"the flood was cut short: {dict(answers)}"
    assert alive and "lost the leadership" not in log and "could not renew" not in log
    assert len(gaps) >= flooded / RETRY / 2, f"renewals seen during {flooded:.0f} s: {len(renewals)}"
    assert max(gaps) < DEADLINE / 2, f"a renewal came {max(gaps):.2f} s after the one before"
    assert real and all(o.startswith("created") or o == "busy" for o, _ in real), f"real reviews: {real}"
    assert any(o.startswith("created") for o, _ in real), f"no real review got through: {real}"
