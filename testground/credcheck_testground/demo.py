"""The main job's sample seed: KKP objects and AWS identities on the local parts, then credcheck on top.

Four credentials, as a KKP admin meets them: one with KKP's full documented policy, one with KKP's
least-privilege preset policy (it lacks iam:PassRole and the load-balancer actions), one whose keys AWS
rejects, and one that reaches its permissions through a Cluster's assume-role settings. Plus a Preset.
"""

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from credcheck_testground import aws, controlplane
from credcheck_testground.install import install_base
from credcheck_testground.processes import free_port, spawn

REPO = Path(__file__).resolve().parents[2]
NS = "kubermatic"
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}


def _policy(name: str, *extra: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (REPO / "tests" / "data" / name).read_text().replace("YOUR_ACCOUNT_ID", aws.ACCOUNT))
    doc["Statement"] += list(extra)
    return doc


def _secret(name: str, keys: aws.Keys) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                       "metadata": {"name": name, "namespace": NS, "labels": {"project-id": "demo"}},
                       "stringData": {"accessKeyId": keys.access_key_id, "secretAccessKey": keys.secret_access_key}})


def seed(state: Path) -> None:
    cp = controlplane.attach(state)
    endpoint = aws.attach(state)
    install_base(cp, NS)

    full = _policy("kkp-documented-policy.json", SIMULATE, {
        "Effect": "Allow", "Action": ["elasticloadbalancing:AddTags", "iam:TagInstanceProfile"], "Resource": "*"})
    _, good = endpoint.create_user("kkp-full", [full])
    _, least = endpoint.create_user("kkp-least-privilege", [_policy("kkp-least-privilege-policy.json", SIMULATE)])
    _, rejected = endpoint.create_user("kkp-rotated-away", [full])
    rejected = aws.Keys(rejected.access_key_id, "x" * 40)  # a secret that no longer matches: AWS says no
    caller_arn, caller = endpoint.create_user("kkp-seed-caller", [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}])
    role_arn = endpoint.create_role("kkp-provisioner", caller_arn, [full, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]}], external_id="kkp-demo-external-id",
        path="/kkp/")
    for name, keys in (("credential-aws-prod1", good), ("credential-aws-dev7", least),
                       ("credential-aws-old3", rejected), ("credential-aws-role5", caller)):
        cp.run_kubectl("apply", "-f", "-", input_text=_secret(name, keys))
    cluster = {"apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "metadata": {"name": "role5"},
               "spec": {"cloud": {"aws": {
                   "credentialsReference": {"name": "credential-aws-role5", "namespace": NS},
                   "assumeRoleARN": role_arn, "assumeRoleExternalID": "kkp-demo-external-id"}}}}
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    for cluster_id in ("prod1", "dev7", "old3"):
        cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({
            "apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "metadata": {"name": cluster_id},
            "spec": {"cloud": {"aws": {"credentialsReference": {"name": f"credential-aws-{cluster_id}",
                                                                "namespace": NS}}}}}))
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "kubermatic.k8c.io/v1", "kind": "Preset", "metadata": {"name": "team-a"},
        "spec": {"aws": {"accessKeyID": least.access_key_id, "secretAccessKey": least.secret_access_key}}}))


def start_operator(state: Path) -> Path:
    """credcheck as its own ServiceAccount (the chart's RBAC), in the background; logs in state/operator.log."""
    cp = controlplane.attach(state)
    kubeconfig = cp.service_account_kubeconfig(NS, "credcheck")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(KUBECONFIG=str(kubeconfig), AWS_ENDPOINT_URL=aws.attach(state).url,
               CREDCHECK_HEALTH_PORT=str(free_port()), CREDCHECK_REGION="eu-central-1")
    spawn("operator", [sys.executable, "-m", "credcheck.cli", "run"], state, env=env)
    return state / "operator.log"


def wait_ready(state: Path, expected: int, timeout: float = 120) -> None:
    cp = controlplane.attach(state)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = json.loads(cp.run_kubectl("get", "awscc", "-A", "-o", "json").stdout)["items"]
        done = [i for i in items if any(c["type"] == "Ready" for c in (i.get("status") or {}).get("conditions", []))]
        if len(done) >= expected:
            return
        time.sleep(1)
    raise TimeoutError(f"fewer than {expected} checks had a verdict after {timeout:.0f}s; see {state}/operator.log")
