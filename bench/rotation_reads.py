"""Benchmark (issue 34): what following N KKP Clusters onto the keys they run on costs the Kubernetes API per round.

Starts a real control plane on 127.0.0.1 with the chart's RBAC, makes N Clusters over one credential Secret, each
with its `cluster-<id>` namespace, KKP's `cloud-credentials` copy and the five Deployments that read it (the test
ground's KKP manifests), then reads them as the operator does (controller.rotation_service, as the operator's
ServiceAccount) and prints the reads made, the wall time and the time per Cluster. No AWS call is made (each copy
holds the credential's keys). Prints numbers, never fails. Usage: python bench/rotation_reads.py [N] (default 200).
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from credcheck.controller.rotation_service import _read_all
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.engine.target import Target
from credcheck.kube.client import Kube
from credcheck.kube.spec import CheckObject, CheckSpec, SecretSource
from credcheck_testground import controlplane, kkp
from credcheck_testground.install import install_base
from credcheck_testground.processes import stop_all

NS = "kubermatic"
KEY_ID, SECRET = "AKIABENCHMARKEXAMPLE", "benchmark/secret/not/a/real/key/0000000000"


def _apply(cp: controlplane.ControlPlane, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 500):
        cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                 "items": items[start:start + 500]}))


def main(n: int = 200) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        try:
            cp = controlplane.start(state)
            install_base(cp, NS)
            secret = "credential-aws-bench"
            objects: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Secret", "metadata": {
                "name": secret, "namespace": NS}, "stringData": {"accessKeyId": KEY_ID, "secretAccessKey": SECRET}}]
            for i in range(n):
                name = f"bench{i:05d}"
                namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": kkp.cluster_namespace(name)}}
                objects += [kkp.cluster(name, secret, NS), namespace]
            _apply(cp, objects)
            copies = []
            for i in range(n):
                name = f"bench{i:05d}"
                copies.append(kkp.credential_copy(name, KEY_ID, SECRET))
                copies += [kkp.credential_deployment(name, d, "1") for d in kkp.CREDENTIAL_DEPLOYMENTS]
            made = time.monotonic()
            _apply(cp, copies)
            print(f"{n} Clusters with copies and {5 * n} Deployments made in {time.monotonic() - made:.0f} s")
            os.environ["KUBECONFIG"] = str(cp.service_account_kubeconfig(NS, "credcheck"))
            runtime = Runtime.create(Settings(), Kube())
            clusters = tuple(Target(cluster=f"bench{i:05d}", region="eu-central-1") for i in range(n))
            check = CheckObject(NS, secret, 1, CheckSpec(SecretSource(secret), clusters=clusters), ())
            for attempt in (1, 2):
                started = time.monotonic()
                read = _read_all(runtime, check)
                took = time.monotonic() - started
                states = {k.copy_missing or k.unknown or "copy read" for k, _ in read}
                print(f"round {attempt}: {1 + 3 * n} reads (1 Secret + per Cluster: Cluster, copy, Deployments list) "
                      f"in {took:.1f} s, {1000 * took / n:.1f} ms per Cluster ({states}); "
                      f"for 2,000 Clusters: {1 + 3 * 2000} reads, ~{2 * took / n * 1000:.0f} s at this pace")
        finally:
            stop_all(state)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
