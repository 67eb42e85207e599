"""credcheck in a KKP seed's own monitoring, end to end: KKP v2.31.0's `pods` scrape job and Alertmanager route
(testground/credcheck_testground/kkp_seed/, copied verbatim with their source), not credcheck's own configuration;
and the Cluster's Events read back as KKP's dashboard reads them.

Prometheus v2.51.1 (the version KKP v2.31.0 runs; Debian's build lacks Kubernetes SD: hack/build-prometheus.sh)
discovers pods through the test ground's apiserver with KKP's `pods` job (relabel rules verbatim). The operator, a process on 127.0.0.1, is represented by a Pod object made from the chart's pod template
(labels, prometheus.io annotations, the port it really serves) in the namespace `credcheck-ops`, its status saying
podIP 127.0.0.1 (credcheck_testground.seedmonitoring): KKP's relabelling alone decides the address and the target
labels, so the check's namespace (kubermatic) and the scrape's `namespace` (credcheck-ops) differ, as in a seed. The
rules are the file in the chart's rules ConfigMap (runbookBaseURL set), with only `for:` shortened. Alertmanager runs
KKP's route (group_by [alertname, namespace, seed_cluster, cluster], the severity-none blackhole) and inhibit rules;
its `default` receiver is this test's webhook.

One Secret, two KKP Clusters: fra… in eu-central-1, iad… in us-east-1. A policy denying everything outside
eu-central-1 breaks iad only: CredcheckPermissionsInsufficient must arrive for iad (label `cluster`, non-empty
`message` naming the credential and the Cluster, an absolute runbook link), nothing for fra; and `kubectl get events
-A --field-selector involvedObject.name=<iad>` (the dashboard's query: kubermatic/dashboard v2.31.0
modules/api/pkg/handler/v1/common/event.go:55-60, all namespaces per common/cluster.go:769) must show one Warning
Event about the Cluster object, kept one Event over re-checks. The policy put back, the alert resolves and a Normal
Event follows. Test values as in test_alerts_end_to_end (for: 2s, intervals 1s).
"""

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from policy_edits import doc

from cluster.conftest import LEAKS, NS, SIMULATE, Seed, running_operator, wait_for
from credcheck_testground import chart, kkp, monitoring, seedmonitoring
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.processes import stop_all

from .conftest import REPORT
from .test_alerts_end_to_end import Notification, Receiver, set_policy_and_recheck

pytestmark = [pytest.mark.cluster, pytest.mark.aws, pytest.mark.alerting]

FOR, INTERVAL = "2s", "1s"
ALERT = "CredcheckPermissionsInsufficient"
RUNBOOK = "https://runbooks.example/credcheck/runbook.md"
POD_NAMESPACE = "credcheck-ops"  # the release namespace of this "install": not the checks' namespace
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
REGION_LOCK = {"Effect": "Deny", "Resource": "*", "NotAction": ["iam:*", "sts:*", "ec2:DescribeRegions"],
               "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}}}


def chart_rules() -> dict[str, Any]:
    """The rules file the chart's ConfigMap carries (what KKP's Prometheus would mount), `for:` shortened."""
    docs = chart.rendered("--set", "rulesConfigMap.enabled=true", "--set", f"runbookBaseURL={RUNBOOK}",
                          "--show-only", "templates/monitoring.yaml")
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "credcheck-rules"]
    return monitoring.rules_with_for(FOR, yaml.safe_load(config_map["data"]["credcheck-rules.yaml"]))


def chart_pod_template(metrics_port: int) -> dict[str, Any]:
    deployment = next(d for d in chart.rendered("--set", f"metrics.port={metrics_port}", namespace=POD_NAMESPACE)
                      if d["kind"] == "Deployment")
    template: dict[str, Any] = deployment["spec"]["template"]
    return template


def alert_for(cluster: str, status: str, since: float) -> Callable[[Notification], bool]:
    def accept(n: Notification) -> bool:
        return n.at >= since and n.body.get("status") == status and any(
            a["labels"].get("alertname") == ALERT and a["labels"].get("cluster") == cluster and a["status"] == status
            for a in n.body.get("alerts", []))
    return accept


def cluster_events(seed: Seed, cluster: str) -> list[dict[str, Any]]:
    """The Events KKP's dashboard shows for a Cluster: all namespaces, involvedObject.name=<cluster>."""
    out = seed.kubectl("get", "events", "--all-namespaces", "--field-selector", f"involvedObject.name={cluster}",
                       "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


@pytest.mark.timeout(300)
def test_a_broken_cluster_alerts_through_kkps_scrape_job_and_route_and_shows_in_its_events(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path) -> None:
    for name in ("prometheus", "prometheus-alertmanager"):
        try:
            monitoring.binary(name)
        except monitoring.MissingTool as missing:
            pytest.fail(str(missing))
    state = tmp_path / "monitoring"
    state.mkdir()
    started = time.monotonic()
    tag = uuid.uuid4().hex[:6]
    secret, fra, iad = f"credential-aws-kkp{tag}", f"fra{tag}", f"iad{tag}"
    pod = f"credcheck-{tag}"
    with Receiver() as receiver, running_operator(control_plane, local_aws, tmp_path / "operator",
                                                  cache_ttl="0s") as op:
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        try:
            seed.kubectl("create", "namespace", POD_NAMESPACE, check=False)
            port = int(op.metrics_url.rsplit(":", 1)[1])
            stored_pod = seedmonitoring.operator_pod(control_plane, chart_pod_template(port), pod, POD_NAMESPACE)
            assert stored_pod["status"]["podIP"] == "127.0.0.1", "the status subresource took the pod's address"
            alertmanager = seedmonitoring.start_alertmanager(state, receiver.url)
            prometheus = seedmonitoring.start_prometheus(state, control_plane.kubeconfig, chart_rules(),
                                                         alertmanager=alertmanager, interval=INTERVAL)
            # KKP's relabelling found the pod by its annotations and pointed the scrape at its port
            up = wait_for(lambda: prometheus.query(f'up{{job="pods",pod="{pod}"}} == 1'),
                          "KKP's pods job to scrape the operator's Pod", timeout=60)
            assert up[0]["metric"]["namespace"] == POD_NAMESPACE and up[0]["metric"]["instance"] == f"127.0.0.1:{port}"

            user = f"kkp-seed-{tag}"
            _, keys = local_aws.create_user(user, [doc(SIMULATE, EVERYTHING)])
            LEAKS.add(keys.access_key_id, keys.secret_access_key)
            seed.kkp_secret(secret, keys)
            for name, dc in ((fra, "aws-eu-central-1a"), (iad, "aws-us-east-1a")):
                seed.kubectl("apply", "-f", "-", input_text=json.dumps(kkp.cluster(name, secret, NS, dc=dc)))
            wait_for(lambda: (c := seed.check(secret)) and len(c["spec"].get("clusters") or []) == 2
                     and seed.condition(secret) == ("True", "AllRequiredAllowed"), "the check Ready with 2 Clusters",
                     timeout=60)

            # break it for iad only: nothing outside eu-central-1
            broken = time.monotonic()
            set_policy_and_recheck(seed, user, secret, doc(SIMULATE, EVERYTHING, REGION_LOCK))
            found = seed.wait_condition(secret, ("False", "MissingPermissions"), timeout=30)
            per = {c["name"]: c["ready"] for c in found["status"]["clusters"]}
            assert per == {fra: "True", iad: "False"}
            firing = receiver.wait(alert_for(iad, "firing", broken), f"{ALERT} for Cluster {iad}", timeout=90)
            alert = next(a for a in firing.body["alerts"] if a["labels"].get("cluster") == iad)
            labels, annotations = alert["labels"], alert["annotations"]
            assert labels["check_namespace"] == NS and labels["name"] == secret
            assert labels["namespace"] == POD_NAMESPACE, "KKP's pods job names the operator pod's namespace"
            assert (labels["severity"], labels["service"], labels["resource"]) == ("critical", "credcheck",
                                                                                  f"{NS}/{secret}")
            assert firing.body["groupLabels"].get("cluster") == iad, "KKP's route groups by cluster"
            assert firing.body["receiver"] == "default"
            message = annotations["message"]
            assert message.startswith(f"KKP Cluster {iad}: ") and f"{NS}/{secret}" in message, message
            assert fra not in message
            assert annotations["runbook_url"] == f"{RUNBOOK}#credcheckpermissionsinsufficient"
            assert not receiver.matching(alert_for(fra, "firing", 0.0)), "the Ready Cluster got an alert"

            # where the project's members look
            uid = json.loads(seed.kubectl("get", "clusters.kubermatic.k8c.io", iad, "-o", "json").stdout)[
                "metadata"]["uid"]
            events = wait_for(lambda: [e for e in cluster_events(seed, iad) if e["type"] == "Warning"],
                              f"a Warning Event on Cluster {iad}", timeout=30)
            (event,) = events
            assert event["involvedObject"] == {"apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "name": iad,
                                               "uid": uid}
            assert event["reason"] == "CredentialMissingPermissions"
            assert "Ask your platform admin" in event["message"] and "will fail for this cluster" in event["message"]
            for foreign in (fra, secret, keys.access_key_id, keys.secret_access_key):
                assert foreign not in event["message"]
            assert not [e for e in cluster_events(seed, fra) if e["source"].get("component") == "credcheck"]
            # a re-check of the same verdict keeps one Event (count and lastTimestamp, never a second one)
            seed.kubectl("annotate", "awscc", secret, "-n", NS, f"credcheck.io/recheck={uuid.uuid4().hex}",
                         "--overwrite")
            wait_for(lambda: (c := seed.check(secret)) and c["status"]["lastCheckTime"] != found["status"][
                "lastCheckTime"], "the re-check", timeout=30)
            time.sleep(2)
            assert [e["metadata"]["name"] for e in cluster_events(seed, iad)] == [event["metadata"]["name"]]

            # fix
            fixed = time.monotonic()
            set_policy_and_recheck(seed, user, secret, doc(SIMULATE, EVERYTHING))
            seed.wait_condition(secret, ("True", "AllRequiredAllowed"), timeout=30)
            resolved = receiver.wait(alert_for(iad, "resolved", fixed), f"{ALERT} resolved for {iad}", timeout=90)
            normal = wait_for(lambda: [e for e in cluster_events(seed, iad) if e["type"] == "Normal"],
                              f"a Normal Event on Cluster {iad}", timeout=30)
            assert normal[0]["reason"] == "CredentialReady"
        finally:
            seed.kubectl("delete", "clusters.kubermatic.k8c.io", fra, iad, "--ignore-not-found")
            seed.kubectl("delete", "secret", secret, "-n", NS, "--ignore-not-found")
            seed.kubectl("delete", "pod", pod, "-n", POD_NAMESPACE, "--ignore-not-found", "--wait=false")
            wait_for(lambda: seed.check(secret) is None, f"the check {secret} to be deleted", timeout=30)
            stop_all(state)
    REPORT.extend([
        f"KKP v2.31.0 pods job + route: {ALERT} for Cluster {iad} (for: {FOR}, intervals {INTERVAL})",
        f"break -> firing POST: {firing.at - broken:.1f}s; fix -> resolved POST: {resolved.at - fixed:.1f}s; "
        f"whole test {time.monotonic() - started:.1f}s",
    ])
