"""The main job's sample seed: KKP objects and AWS identities on the local parts, then credcheck on top.

A Seed with two AWS datacenters (eu-central-1, us-east-1) and credentials as a KKP admin meets them: one with
everything KKP's code calls (`credcheck requirements show kkp --format policy`), one with exactly KKP's
documented policy (it lacks the cloud-controller-manager's sts:AssumeRole), one with KKP's least-privilege preset
policy, one whose keys AWS rejects, one that reaches its permissions through a Cluster's assume-role settings,
and one whose Cluster names its own control-plane role in us-east-1. Plus a Preset.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.verdict import grant_policy
from credcheck_testground import aws, chart, controlplane, demo_hygiene, kkp, monitoring, rotation_demo, seedmonitoring
from credcheck_testground.controlplane import WEBHOOK_CLIENT_NAME
from credcheck_testground.install import install_base
from credcheck_testground.processes import free_port, spawn
from credcheck_testground.webhook import local_configuration, serving_certs

REPO = Path(__file__).resolve().parents[2]
NS = "kubermatic"
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}
# the demo's Prometheus evaluates the chart's alert rules with every `for:` shortened to this, so that alerts fire
# while one looks (shipped: 15m to 1h); nothing else of the rules changes
ALERT_FOR = "10s"
RUNBOOK = "https://credcheck.example/docs/runbook.md"  # the demo's runbookBaseURL: an example, as an admin would set it


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

    full = grant_policy(load_profile("kkp").requirements(aws.ACCOUNT, region="*"))
    full["Statement"].append(SIMULATE)  # type: ignore[attr-defined]
    documented = _policy("kkp-documented-policy-2.31.json", SIMULATE)  # today's page, for KKP 2.29-2.31
    _, good = endpoint.create_user("kkp-full", [full])
    _, docs = endpoint.create_user("kkp-documented", [documented])
    _, least = endpoint.create_user("kkp-least-privilege", [_policy("kkp-least-privilege-policy.json", SIMULATE)])
    _, rejected = endpoint.create_user("kkp-rotated-away", [full])
    rejected = aws.Keys(rejected.access_key_id, "x" * 40)  # a secret that no longer matches: AWS says no
    # the keys of an assume-role credential: KKP's dashboard validates them with ec2:DescribeRegions, the
    # cloud-controller-manager assumes the control-plane role with them
    caller_arn, caller = endpoint.create_user("kkp-seed-caller", [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "ec2:DescribeRegions"], "Resource": "*"}, SIMULATE]}])
    role_arn = endpoint.create_role("kkp-provisioner", caller_arn, [full, {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]}], external_id="kkp-demo-external-id",
        path="/kkp/")
    secrets = {"prod1": good, "docs9": docs, "dev7": least, "old3": rejected, "role5": caller, "own4": good}
    for cluster_id, keys in secrets.items():
        cp.run_kubectl("apply", "-f", "-", input_text=_secret(f"credential-aws-{cluster_id}", keys))
    # the control-plane roles KKP 2.31 creates for Clusters that name none (kubermatic v2.31.0
    # pkg/provider/cloud/aws/role.go:67-68: kubernetes-<cluster>-control-plane, trusting the account,
    # policy.go:27-43); without them each check says the role "could not be simulated". Their permissions here are
    # everything KKP's code calls (KKP attaches its tag-conditioned control-plane policy, policy.go:221)
    for cluster_id in ("prod1", "docs9", "dev7", "old3"):
        endpoint.create_role(f"kubernetes-{cluster_id}-control-plane", f"arn:aws:iam::{aws.ACCOUNT}:root", [full])
    clusters = [kkp.cluster(cluster_id, f"credential-aws-{cluster_id}", NS)
                for cluster_id in ("prod1", "docs9", "dev7", "old3")]
    clusters.append(kkp.cluster("role5", "credential-aws-role5", NS, assumeRoleARN=role_arn,
                                assumeRoleExternalID="kkp-demo-external-id"))
    # a Cluster in the us-east-1 datacenter with a control-plane role of its own (outside kubernetes-*)
    clusters.append(kkp.cluster("own4", "credential-aws-own4", NS, dc="aws-us-east-1a", version="1.35.1",
                                roleARN="team-a-control-plane"))
    for cluster in clusters:
        cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    rotation_demo.make_copies(cp, secrets)  # issue 34: KKP's per-cluster copies and the Deployments reading them
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(kkp.preset("team-a", {
        "accessKeyID": least.access_key_id, "secretAccessKey": least.secret_access_key})))
    demo_hygiene.seed(endpoint, old=("kkp-full", good), switched=("kkp-documented", docs), admin_role="kkp-provisioner")


def start_operator(state: Path) -> Path:
    """credcheck as its own ServiceAccount (the chart's RBAC), in the background; logs in state/operator.log.

    KKP's seed monitoring on top where it can run (start_kkp_monitoring), else Debian's Prometheus on its /metrics
    with the chart's alert rules; the Prometheus URL is in state/prometheus-url."""
    cp = controlplane.attach(state)
    kubeconfig = cp.service_account_kubeconfig(NS, "credcheck")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # the admission webhook too (warn mode), on 127.0.0.1 with a CA made here, as the chart configures it
    port = free_port()
    ca = serving_certs(state / "webhook-certs")
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(local_configuration(port, ca)))
    metrics_port = free_port()
    env.update(KUBECONFIG=str(kubeconfig), AWS_ENDPOINT_URL=aws.attach(state).url, CREDCHECK_DEV_ENDPOINTS="true",
               CREDCHECK_HEALTH_PORT=str(free_port()), CREDCHECK_METRICS_PORT=str(metrics_port),
               CREDCHECK_REGION="eu-central-1", CREDCHECK_ROTATION_RECHECK="5s",  # a rotation shows in seconds
               CREDCHECK_WEBHOOK_MODE="warn", CREDCHECK_WEBHOOK_CERT_DIR=str(state / "webhook-certs"),
               CREDCHECK_WEBHOOK_ADDRESS="127.0.0.1", CREDCHECK_WEBHOOK_PORT=str(port))
    if cp.webhook_client_ca.exists():  # a control plane started before it presented a client certificate has none
        # only the local apiserver, by its client certificate, may call the webhook
        env.update(CREDCHECK_WEBHOOK_CLIENT_CA=str(cp.webhook_client_ca),
                   CREDCHECK_WEBHOOK_CLIENT_NAMES=WEBHOOK_CLIENT_NAME)
    spawn("operator", [sys.executable, "-m", "credcheck", "run"], state, env=env)
    try:
        start_kkp_monitoring(cp, state, metrics_port)
    except monitoring.MissingTool as missing:
        print(f"no alerts in this demo: {missing}", file=sys.stderr)
    except (subprocess.CalledProcessError, RuntimeError) as failed:  # no Prometheus with Kubernetes SD
        print(f"KKP's scrape job cannot run here ({failed}); Debian's Prometheus scrapes the operator directly",
              file=sys.stderr)
        monitoring.start_prometheus(state, [f"127.0.0.1:{metrics_port}"], monitoring.rules_with_for(ALERT_FOR))
    return state / "operator.log"


def start_kkp_monitoring(cp: controlplane.ControlPlane, state: Path, metrics_port: int) -> None:
    """KKP v2.31.0's seed monitoring (credcheck_testground.seedmonitoring): its `pods` job finds the operator by a
    Pod made from the chart's pod template (podIP 127.0.0.1), the rules are the chart's rules ConfigMap's file
    (`for:` ALERT_FOR, runbookBaseURL RUNBOOK), Alertmanager runs KKP's route; its URL is in state/alertmanager-url."""
    monitoring.binary("prometheus-alertmanager")
    template = next(d for d in chart.rendered("--set", f"metrics.port={metrics_port}")
                    if d["kind"] == "Deployment")["spec"]["template"]
    seedmonitoring.operator_pod(cp, template, "credcheck-demo", NS)
    config_map = next(d for d in chart.rendered("--set", "rulesConfigMap.enabled=true", "--set",
                                                f"runbookBaseURL={RUNBOOK}", "--show-only",
                                                "templates/monitoring.yaml") if d["kind"] == "ConfigMap")
    rules = monitoring.rules_with_for(ALERT_FOR, yaml.safe_load(config_map["data"]["credcheck-rules.yaml"]))
    alertmanager = seedmonitoring.start_alertmanager(state, None)
    (state / "alertmanager-url").write_text(alertmanager.url)
    seedmonitoring.start_prometheus(state, cp.kubeconfig, rules, alertmanager=alertmanager, interval="5s")


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
