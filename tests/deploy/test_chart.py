"""The Helm chart: lint, render, least-privilege RBAC, a leader and a standby, the webhook's reach, plain manifests
kept equal, and the full output applied server-side to the real kube-apiserver."""

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from credcheck_testground import chart
from credcheck_testground.controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[2]


def kinds(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        out.setdefault(doc["kind"], []).append(doc)
    return out


def test_helm_lint() -> None:
    result = subprocess.run([chart.helm(), "lint", "--strict", str(chart.CHART)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_chart_crds_are_the_repositorys() -> None:
    for crd in (REPO / "crds").glob("*.yaml"):
        assert (chart.CHART / "crds" / crd.name).read_text() == crd.read_text(), f"{crd.name} differs in the chart"


def test_plain_manifests_equal_the_chart_output() -> None:
    for name, flags in chart.PLAIN.items():
        stored = (chart.MANIFESTS / name).read_text()
        assert stored.split("\n", 1)[1] == chart.render_text(*flags), f"run `make manifests`: {name} is stale"


def test_kustomize_builds_the_plain_manifests(control_plane: ControlPlane) -> None:
    out = control_plane.run_kubectl("kustomize", str(chart.MANIFESTS)).stdout
    found = {d["kind"] for d in chart.documents(out)}
    assert {"CustomResourceDefinition", "Deployment", "ClusterRole", "Role", "ValidatingWebhookConfiguration"} <= found


def test_rbac_is_least_privilege() -> None:
    docs = kinds(chart.rendered("--set", "namespaces={kubermatic,seed-extra}"))
    for role in docs["ClusterRole"]:
        for rule in role["rules"]:
            if "secrets" in rule["resources"]:  # issue 34: KKP's per-cluster copy, by name, get only
                assert rule == {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["cloud-credentials"],
                                "verbs": ["get"]}, "Secrets are never listed, watched or read cluster-wide"
            assert "*" not in rule["verbs"] and "*" not in rule["resources"]
            if set(rule["resources"]) & {"clusters", "presets"}:
                assert set(rule["verbs"]) == {"get", "list", "watch"}, "KKP's objects are read-only"
    (cluster_role,) = docs["ClusterRole"]
    reviews = [r for r in cluster_role["rules"] if "subjectaccessreviews" in r["resources"]]
    assert reviews == [{"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"],
                        "verbs": ["create"]}], "asking about a check's maker grants nothing itself"
    roles = {r["metadata"]["namespace"]: r for r in docs["Role"] if r["metadata"]["name"] == "credcheck"}
    assert set(roles) == {"kubermatic", "seed-extra"}
    for role in roles.values():
        secret_rules = [r for r in role["rules"] if "secrets" in r["resources"]]
        assert [set(r["verbs"]) for r in secret_rules] == [{"get", "list", "watch"}]
    (cluster_role,) = kinds(chart.rendered("--set", "rotation.enabled=false"))["ClusterRole"]
    assert not [r for r in cluster_role["rules"] if {"secrets", "deployments"} & set(r["resources"])], \
        "rotation.enabled=false grants no copy or Deployment reads"
    deployments = [r for r in docs["ClusterRole"][0]["rules"] if "deployments" in r["resources"]]
    assert deployments == [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]}]
    (leader,) = [r for r in docs["Role"] if r["metadata"]["name"] == "credcheck-leader"]
    assert leader["metadata"]["namespace"] == "kubermatic"
    assert leader["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["credcheck"],
         "verbs": ["get", "update"]}], "one Lease, nothing else of coordination.k8s.io"


def test_deployment_is_a_hardened_leader_and_standby() -> None:
    docs = kinds(chart.rendered())
    (deployment,) = docs["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    (budget,) = docs["PodDisruptionBudget"]
    assert budget["spec"]["minAvailable"] == 1
    assert budget["spec"]["selector"]["matchLabels"] == spec["selector"]["matchLabels"]
    pod = spec["template"]["spec"]
    assert pod["affinity"]["podAntiAffinity"], "the standby on another node where there is one"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CREDCHECK_WEBHOOK_MODE"] == "warn" and env["CREDCHECK_WEBHOOK_CERT_DIR"] == "/certs"
    pod_name = next(e for e in container["env"] if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, "the identity in the Lease"
    assert "CREDCHECK_DEV_ENDPOINTS" not in env, "development endpoints are never the chart's"


def test_one_replica_has_no_disruption_budget() -> None:
    docs = kinds(chart.rendered("--set", "replicas=1"))
    assert "PodDisruptionBudget" not in docs, "minAvailable 1 of 1 would block every node drain"


def test_the_auditors_two_keys_are_mounted_by_name() -> None:
    (deployment,) = kinds(chart.rendered("--set", "auditor.credentialsSecret=auditor"))["Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert "envFrom" not in container, "no Secret is loaded whole into the environment"
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "secretKeyRef" in
            e.get("valueFrom", {})}
    assert refs == {"AWS_ACCESS_KEY_ID": {"name": "auditor", "key": "AWS_ACCESS_KEY_ID"},
                    "AWS_SECRET_ACCESS_KEY": {"name": "auditor", "key": "AWS_SECRET_ACCESS_KEY"}}


def test_the_webhook_knows_the_apiserver_by_its_client_certificate() -> None:
    (deployment,) = kinds(chart.rendered("--set", "webhook.clientAuth.caConfigMap=apiserver-webhook-client",
                                         "--set", "webhook.clientAuth.names={kube-apiserver}"))["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["CREDCHECK_WEBHOOK_CLIENT_CA"] == "/client-ca/ca.crt"
    assert env["CREDCHECK_WEBHOOK_CLIENT_NAMES"] == "kube-apiserver"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "webhook-client-ca"]
    assert volume["configMap"] == {"name": "apiserver-webhook-client", "items": [{"key": "ca.crt", "path": "ca.crt"}]}


def test_live_checks_need_the_apiservers_identity() -> None:
    result = subprocess.run([chart.helm(), "template", str(chart.CHART), "--set", "webhook.live=true",
                             "--set", "webhook.clientAuth.enabled=false"], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "webhook.live needs webhook.clientAuth.enabled" in result.stderr


def test_client_authentication_is_on_by_default_and_off_only_when_said_so() -> None:
    """Issue 33: by default the webhook requires the apiserver's client certificate (CA from a ConfigMap); turning
    it off is the explicit value clientAuth.enabled=false; an empty CA ConfigMap name is refused at render."""
    def webhook_env(*flags: str) -> dict[str, str | None]:
        (deployment,) = kinds(chart.rendered(*flags))["Deployment"]
        return {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}

    assert webhook_env()["CREDCHECK_WEBHOOK_CLIENT_CA"] == "/client-ca/ca.crt"
    (deployment,) = kinds(chart.rendered())["Deployment"]
    (volume,) = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "webhook-client-ca"]
    assert volume["configMap"]["name"] == "credcheck-webhook-client-ca"
    assert "CREDCHECK_WEBHOOK_CLIENT_CA" not in webhook_env("--set", "webhook.clientAuth.enabled=false")
    refused = subprocess.run([chart.helm(), "template", str(chart.CHART), "--set", "webhook.clientAuth.caConfigMap="],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "or set webhook.clientAuth.enabled=false explicitly" in refused.stderr


def test_the_network_policy_takes_the_monitoring_namespace_for_metrics() -> None:
    (policy,) = kinds(chart.rendered(
        "--set", "webhook.networkPolicy.enabled=true", "--set", "webhook.networkPolicy.from[0].ipBlock.cidr=10.0.0.0/24",
        "--set", "webhook.networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name"
                 "=monitoring"))["NetworkPolicy"]
    _, metrics_rule = policy["spec"]["ingress"]
    assert metrics_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]


def test_a_network_policy_opens_the_webhook_port_to_the_listed_peers_only() -> None:
    assert "NetworkPolicy" not in kinds(chart.rendered())
    (policy,) = kinds(chart.rendered("--set", "webhook.networkPolicy.enabled=true",
                                     "--set", "webhook.networkPolicy.from[0].ipBlock.cidr=10.0.0.10/32"))["NetworkPolicy"]
    webhook_rule, open_rule = policy["spec"]["ingress"]
    assert webhook_rule == {"ports": [{"port": 9443, "protocol": "TCP"}],
                            "from": [{"ipBlock": {"cidr": "10.0.0.10/32"}}]}
    assert "from" not in open_rule and {p["port"] for p in open_rule["ports"]} == {8080, 8081}
    refused = subprocess.run([chart.helm(), "template", str(chart.CHART), "--set", "webhook.networkPolicy.enabled=true"],
                             capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and "webhook.networkPolicy.from must list" in refused.stderr


def test_values_reach_the_operator() -> None:
    (deployment,) = kinds(chart.rendered("--set", "webhook.mode=enforce", "--set", "interval=12h",
                                         "--set", "auditor.roleARN=arn:aws:iam::{account}:role/credcheck-auditor",
                                         "--set", "presets=false"))["Deployment"]
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CREDCHECK_WEBHOOK_MODE"] == "enforce" and env["CREDCHECK_INTERVAL"] == "12h"
    assert env["CREDCHECK_AUDITOR_ROLE_ARN"] == "arn:aws:iam::{account}:role/credcheck-auditor"
    assert env["CREDCHECK_PRESETS"] == "false"


def test_webhook_never_blocks_kkp_and_sees_only_what_it_judges() -> None:
    for mode in ("certManager", "selfSigned"):
        docs = kinds(chart.rendered("--set", f"webhook.certificates.mode={mode}"))
        (config,) = docs["ValidatingWebhookConfiguration"]
        hooks = {h["name"]: h for h in config["webhooks"]}
        delete = hooks.pop("clusters.credcheck.io")  # issue 34: a KKP Cluster's DELETE (object is null: oldObject)
        assert delete["failurePolicy"] == "Ignore" and delete["timeoutSeconds"] <= 3
        assert [r["operations"] for r in delete["rules"]] == [["DELETE"]]
        assert [c["expression"] for c in delete["matchConditions"]] == [
            "has(oldObject.spec) && has(oldObject.spec.cloud) && has(oldObject.spec.cloud.aws)"]
        for hook in hooks.values():
            assert hook["timeoutSeconds"] <= 5
            assert hook["sideEffects"] == "NoneOnDryRun", "dry runs are sent, and never reach AWS"
            conditions = {c["name"]: c["expression"] for c in hook["matchConditions"]}
            if hook["name"] != "awscredentialchecks.credcheck.io":  # a terminating check is judged (issue 33)
                assert conditions["not-being-deleted"] == "!has(object.metadata.deletionTimestamp)"
            else:
                assert "not-being-deleted" not in conditions
        for kkp_hook in ("secrets.credcheck.io", "presets.credcheck.io"):
            assert hooks[kkp_hook]["failurePolicy"] == "Ignore", "KKP's writes never wait for credcheck"
        assert hooks["awscredentialchecks.credcheck.io"]["failurePolicy"] == "Fail", \
            "a check acts with its maker's rights: no check spec is written unasked"
        secret_conditions = {c["name"]: c["expression"] for c in hooks["secrets.credcheck.io"]["matchConditions"]}
        assert "startsWith('credential-aws-')" in secret_conditions["kkp-aws-credential"]
        assert "object.data != oldObject.data" in secret_conditions["data-changes"]
        check_conditions = {c["name"]: c["expression"]
                            for c in hooks["awscredentialchecks.credcheck.io"]["matchConditions"]}
        assert "object.spec != oldObject.spec" in check_conditions["spec-or-ownership-changes"]
        assert "'credcheck.io/discovered' in object.metadata.labels" in check_conditions["spec-or-ownership-changes"]
        if mode == "selfSigned":
            secret = next(s for s in docs["Secret"] if s["metadata"]["name"] == "credcheck-webhook-tls")
            assert all(h["clientConfig"]["caBundle"] == secret["data"]["ca.crt"] for h in config["webhooks"])
            assert b"BEGIN CERTIFICATE" in base64.b64decode(secret["data"]["tls.crt"])
        else:
            assert "Certificate" in docs and "cert-manager.io/inject-ca-from" in config["metadata"]["annotations"]


def test_full_output_applies_server_side(control_plane: ControlPlane) -> None:
    control_plane.run_kubectl("apply", "--server-side", "-f", str(REPO / "hack" / "test-crds.yaml"))
    control_plane.run_kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
    for crd in ("issuers.cert-manager.io", "certificates.cert-manager.io", "prometheusrules.monitoring.coreos.com",
                "servicemonitors.monitoring.coreos.com", "awscredentialchecks.credcheck.io"):
        control_plane.run_kubectl("wait", "--for=condition=Established", "--timeout=30s", f"crd/{crd}")
    control_plane.run_kubectl("create", "namespace", "kubermatic", check=False)
    text = chart.render_text("--set", "prometheusRule.enabled=true", "--set", "metrics.serviceMonitor.enabled=true",
                             "--set", "dashboard.enabled=true")
    try:
        result = control_plane.run_kubectl("apply", "--server-side", "--field-manager=credcheck-chart-test", "-f", "-",
                                           input_text=text, check=False)
        assert result.returncode == 0, result.stderr
        applied = result.stdout
        for expected in ("deployment.apps/credcheck serverside-applied", "prometheusrule.monitoring.coreos.com/credcheck",
                         "poddisruptionbudget.policy/credcheck serverside-applied",
                         "validatingwebhookconfiguration.admissionregistration.k8s.io/credcheck",
                         "certificate.cert-manager.io/credcheck-webhook"):
            assert expected in applied
        stored = json.loads(control_plane.run_kubectl("get", "deployment", "credcheck", "-n", "kubermatic",
                                                      "-o", "json").stdout)
        assert stored["spec"]["template"]["spec"]["serviceAccountName"] == "credcheck"
    finally:
        control_plane.run_kubectl("delete", "validatingwebhookconfiguration", "credcheck", check=False)
        control_plane.run_kubectl("delete", "deployment", "credcheck", "-n", "kubermatic", check=False)


def test_dockerfile_lint() -> None:
    linter = REPO / ".tools" / "node_modules" / ".bin" / "dockerfilelint"
    if not linter.exists():
        pytest.fail("dockerfilelint is missing: `bash hack/install-tools.sh` installs it")
    result = subprocess.run([str(linter), "--output", "json", str(REPO / "Dockerfile")], capture_output=True,
                            text=True, check=False)
    report = json.loads(result.stdout)
    issues = [i for f in report["files"] for i in f["issues"]]
    assert issues == [], issues
    text = (REPO / "Dockerfile").read_text()
    assert text.count("FROM ") == 2 and "USER 65532" in text and 'ENTRYPOINT ["credcheck", "run"]' in text
    assert "gcc" not in text.split("FROM ")[-1], "no build tools in the final stage"


@pytest.mark.parametrize(("flag", "complaint"), [
    ("webhook.mode=strict", "/webhook/mode"),
    ("profile=kkp-9.9", "/profile"),
    ("interval=6 hours", "/interval"),
    ("concurrency=0", "/concurrency"),
    ("namespace=kubermatic", "namespace"),  # a misspelt key (namespaces) is refused, not ignored
    ("leaderElection.leaseDuration=15", "/leaderElection/leaseDuration"),
    ("replicas=0", "/replicas"),
    ("webhook.clientAuth.ca=x", "clientAuth"),
])
def test_values_schema_refuses_bad_values(flag: str, complaint: str) -> None:
    result = subprocess.run([chart.helm(), "template", str(chart.CHART), "--set", flag], capture_output=True,
                            text=True, check=False)
    assert result.returncode != 0, f"{flag} was accepted"
    assert "values don't meet the specifications of the schema" in result.stderr
    assert complaint in result.stderr, result.stderr


def test_self_signed_mode_keeps_its_ca_across_upgrades(control_plane: ControlPlane) -> None:
    """Issue 33: `helm upgrade` (a render with the cluster) reuses the CA and certificate stored at install, so the
    caBundle never changes under the running pods; only a render without a cluster makes new ones."""
    namespace = "chart-upgrade"
    control_plane.run_kubectl("create", "namespace", namespace, check=False)
    first = kinds(chart.rendered("--set", "webhook.certificates.mode=selfSigned", namespace=namespace))
    (made,) = [s for s in first["Secret"] if s["metadata"]["name"] == "credcheck-webhook-tls"]
    control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(made))
    try:
        upgraded = kinds(chart.documents(subprocess.run(
            [chart.helm(), "template", "credcheck", str(chart.CHART), "--namespace", namespace, "--dry-run=server",
             "--kubeconfig", str(control_plane.kubeconfig), "--set", "webhook.certificates.mode=selfSigned"],
            check=True, capture_output=True, text=True).stdout))
        (kept,) = [s for s in upgraded["Secret"] if s["metadata"]["name"] == "credcheck-webhook-tls"]
        (config,) = upgraded["ValidatingWebhookConfiguration"]
        again = kinds(chart.rendered("--set", "webhook.certificates.mode=selfSigned", namespace=namespace))
        (fresh,) = [s for s in again["Secret"] if s["metadata"]["name"] == "credcheck-webhook-tls"]
    finally:
        control_plane.run_kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    assert kept["data"] == made["data"], "the upgrade kept the CA, certificate and key"
    assert all(h["clientConfig"]["caBundle"] == made["data"]["ca.crt"] for h in config["webhooks"])
    assert fresh["data"]["ca.crt"] != made["data"]["ca.crt"], "(a render without the cluster cannot look it up)"


def test_rbac_grants_only_the_verbs_credcheck_calls() -> None:
    """Issue 33: no update on checks, status patch only, ExternalClusters and Seeds list/watch, core Events create,
    and Presets only when presets are checked."""
    def rules(*flags: str) -> list[dict[str, Any]]:
        docs = kinds(chart.rendered(*flags))
        # the Role in default for Events on KKP Clusters has its own test (test_chart_kkp_monitoring)
        return [r for kind in ("ClusterRole", "Role") for role in docs[kind]
                if role["metadata"]["name"] != "credcheck-cluster-events" for r in role["rules"]]

    granted = {(group, resource): set(r["verbs"]) for r in rules() for group in r["apiGroups"]
               for resource in r["resources"]}
    assert granted[("credcheck.io", "awscredentialchecks")] == {"get", "list", "watch", "create", "patch", "delete"}
    assert granted[("credcheck.io", "awscredentialchecks/status")] == {"patch"}
    assert granted[("kubermatic.k8c.io", "externalclusters")] == {"list", "watch"}
    assert granted[("kubermatic.k8c.io", "seeds")] == {"list", "watch"}
    assert granted[("", "events")] == {"create"} and ("events.k8s.io", "events") not in granted
    assert ("kubermatic.k8c.io", "presets") in granted
    without = {(g, res) for r in rules("--set", "presets=false") for g in r["apiGroups"] for res in r["resources"]}
    assert ("kubermatic.k8c.io", "presets") not in without
