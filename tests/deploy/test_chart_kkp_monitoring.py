"""The chart as KKP's seed monitoring needs it (kubermatic v2.31.0 charts/monitoring, no prometheus-operator): pods
annotated for KKP's `pods` scrape job, the rules as a plain rules file in a ConfigMap, the dashboard as a ConfigMap in
Grafana's namespace, each switchable, and one rules source for the PrometheusRule, the ConfigMap and the tests."""

from typing import Any

import yaml

from credcheck_testground import chart, monitoring

BASE = "https://runbooks.example/credcheck/runbook.md"


def pod_annotations(*flags: str) -> dict[str, str]:
    deployment = next(d for d in chart.rendered(*flags) if d["kind"] == "Deployment")
    found: dict[str, str] = deployment["spec"]["template"]["metadata"].get("annotations") or {}
    return found


def monitoring_docs(*flags: str) -> dict[str, dict[str, Any]]:
    docs = chart.rendered(*flags, "--show-only", "templates/monitoring.yaml")
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


def test_pods_are_annotated_for_kkps_pods_scrape_job_by_default_and_in_the_plain_manifests() -> None:
    assert pod_annotations() == {"prometheus.io/scrape": "true", "prometheus.io/port": "8080",
                                 "prometheus.io/path": "/metrics"}
    assert pod_annotations("--set", "metrics.port=9090")["prometheus.io/port"] == "9090"
    assert pod_annotations("--set", "metrics.podAnnotations=false") == {}
    plain = [d for d in yaml.safe_load_all((chart.MANIFESTS / "credcheck.yaml").read_text())
             if d and d["kind"] == "Deployment"]
    assert plain[0]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


def test_rules_render_as_prometheusrule_configmap_or_both_from_the_one_file() -> None:
    assert monitoring_docs("--set", "prometheusRule.enabled=true").keys() == {"PrometheusRule/credcheck"}
    assert monitoring_docs("--set", "rulesConfigMap.enabled=true").keys() == {"ConfigMap/credcheck-rules"}
    both = monitoring_docs("--set", "prometheusRule.enabled=true", "--set", "rulesConfigMap.enabled=true",
                           "--set", f"runbookBaseURL={BASE}/")
    config_map = both["ConfigMap/credcheck-rules"]
    assert config_map["metadata"]["namespace"] == "monitoring"  # where KKP's Prometheus mounts it from
    file_text = config_map["data"]["credcheck-rules.yaml"]
    assert file_text == monitoring.rules_text(BASE).rstrip("\n")  # the testground's and promtool's rendering
    assert yaml.safe_load(file_text) == both["PrometheusRule/credcheck"]["spec"] == monitoring.shipped_rules(BASE)
    urls = [r["annotations"]["runbook_url"] for g in yaml.safe_load(file_text)["groups"] for r in g["rules"]]
    assert urls and all(u.startswith(f"{BASE}#credcheck") for u in urls)


def test_without_runbook_base_url_no_alert_links_anywhere() -> None:
    docs = monitoring_docs("--set", "prometheusRule.enabled=true", "--set", "rulesConfigMap.enabled=true")
    assert "runbook_url" not in docs["ConfigMap/credcheck-rules"]["data"]["credcheck-rules.yaml"]
    assert docs["PrometheusRule/credcheck"]["spec"] == monitoring.shipped_rules()
    assert "RUNBOOK_BASE_URL" not in chart.render_text("--set", "prometheusRule.enabled=true")


def test_dashboard_configmap_goes_where_grafana_mounts_it() -> None:
    default = monitoring_docs("--set", "dashboard.enabled=true")["ConfigMap/credcheck-dashboard"]
    assert default["metadata"]["namespace"] == "kubermatic"
    kkp = monitoring_docs("--set", "dashboard.enabled=true", "--set", "dashboard.namespace=monitoring")
    assert kkp["ConfigMap/credcheck-dashboard"]["metadata"]["namespace"] == "monitoring"


def test_cluster_events_need_only_get_create_patch_on_events_in_default() -> None:
    """Events about a cluster-scoped KKP Cluster live in default (the apiserver's Event validation): a Role there,
    nothing cluster-wide, no delete, no other kind; rotation's Events go through the same writer (read, then created or
    updated), so with only them the same verbs; both switched off, the Role goes too."""
    docs = chart.rendered()
    (role,) = [d for d in docs if d["kind"] == "Role" and d["metadata"]["name"] == "credcheck-cluster-events"]
    assert role["metadata"]["namespace"] == "default"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["get", "create", "patch"]}]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CREDCHECK_CLUSTER_EVENTS"] == "true"
    rotation_only = chart.rendered("--set", "clusterEvents=false")  # rotation's Events (issue 34), updated in place
    (role,) = [d for d in rotation_only if d["kind"] == "Role" and d["metadata"]["name"] == "credcheck-cluster-events"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["get", "create", "patch"]}]
    off = chart.rendered("--set", "clusterEvents=false", "--set", "rotation.enabled=false")
    assert not [d for d in off if d["metadata"]["name"] == "credcheck-cluster-events"]
