"""The demo's KKP side of a rotation (issue 34): each demo Cluster's `cluster-<id>/cloud-credentials` copy and the
Deployments reading it, as KKP makes them (kkp.credential_copy, kkp.credential_deployment: names, labels and env
with their sources), and a rotation of one credential shown step by step.

`python -m credcheck_testground.rotation_demo rotate --state DIR [--cluster prod1 --user kkp-full]`: a new access
key for the IAM user, written into the Cluster's credential Secret (the admin's rotation); credcheck shows the
Cluster `Rotating` ("do not deactivate the old key yet"); then KKP's part (the copy gets the new keys, the Deployments
roll out with the copy's revision, done here as KKP's controllers and the Deployment controller would) and
credcheck shows `Current`. The old key is left active.
"""

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from credcheck_testground import aws, controlplane, kkp

NS = "kubermatic"


def kkp_copies(cp: controlplane.ControlPlane, cluster: str, keys: aws.Keys) -> None:
    """KKP's copy of `keys` for `cluster` and its five Deployments at the copy's revision, rolled out."""
    cp.run_kubectl("create", "namespace", kkp.cluster_namespace(cluster), check=False)
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(
        kkp.credential_copy(cluster, keys.access_key_id, keys.secret_access_key)))
    namespace = kkp.cluster_namespace(cluster)
    revision = cp.run_kubectl("get", "secret", kkp.COPY_SECRET, "-n", namespace, "-o",
                              "jsonpath={.metadata.resourceVersion}").stdout.strip()
    for name in kkp.CREDENTIAL_DEPLOYMENTS:
        cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(kkp.credential_deployment(cluster, name, revision)))
        generation = int(cp.run_kubectl("get", "deployment", name, "-n", namespace, "-o",
                                        "jsonpath={.metadata.generation}").stdout)
        status = {"status": {"observedGeneration": generation, "replicas": 1, "updatedReplicas": 1,
                             "readyReplicas": 1, "availableReplicas": 1}}  # what the Deployment controller writes
        cp.run_kubectl("patch", "deployment", name, "-n", namespace, "--subresource=status", "--type=merge",
                       "-p", json.dumps(status))


def make_copies(cp: controlplane.ControlPlane, keys_by_cluster: Mapping[str, aws.Keys]) -> None:
    for cluster, keys in keys_by_cluster.items():
        kkp_copies(cp, cluster, keys)


def _in_use(cp: controlplane.ControlPlane, check: str, cluster: str) -> dict[str, Any]:
    found = json.loads(cp.run_kubectl("get", "awscc", check, "-n", NS, "-o", "json").stdout)
    return next((c for c in (found.get("status") or {}).get("clusters") or [] if c.get("name") == cluster), {})


def _wait(cp: controlplane.ControlPlane, check: str, cluster: str, state: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        entry = _in_use(cp, check, cluster)
        if entry.get("credentialInUse") == state:
            print(f"  Cluster {cluster}: credentialInUse={state} since {entry.get('credentialInUseSince')}: "
                  f"{entry.get('credentialInUseMessage')}")
            return
        time.sleep(1)
    print(f"  Cluster {cluster}: not {state} after {timeout:.0f} s", file=sys.stderr)


def rotate(state: Path, cluster: str = "prod1", user: str = "kkp-full") -> None:
    cp, endpoint = controlplane.attach(state), aws.attach(state)
    check = f"credential-aws-{cluster}"
    new = endpoint.rotate_key(user)
    print(f"$ the admin rotates: a new access key for IAM user {user}, written into Secret {NS}/{check}")
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": check, "namespace": NS, "labels": {"project-id": "demo"}},
        "stringData": {"accessKeyId": new.access_key_id, "secretAccessKey": new.secret_access_key}}))
    _wait(cp, check, cluster, "Rotating")
    print(f"$ KKP copies the new keys into {kkp.cluster_namespace(cluster)}/{kkp.COPY_SECRET} and restarts "
          "the Deployments that read it")
    kkp_copies(cp, cluster, new)
    _wait(cp, check, cluster, "Current")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m credcheck_testground.rotation_demo", description=__doc__)
    parser.add_argument("command", choices=["rotate"])
    parser.add_argument("--state", type=Path, default=Path(".dev-env"))
    parser.add_argument("--cluster", default="prod1")
    parser.add_argument("--user", default="kkp-full")
    args = parser.parse_args(argv)
    rotate(args.state, args.cluster, args.user)
    return 0


if __name__ == "__main__":
    sys.exit(main())
