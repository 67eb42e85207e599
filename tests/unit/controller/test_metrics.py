"""Metrics: the 1/0 condition gauges, and a Grafana dashboard that queries only series credcheck exports."""

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from credcheck.controller import metrics
from credcheck.engine.aws import calls as aws_calls
from credcheck.kube.check_status import CheckStatus


def record(namespace: str, name: str, stored: Mapping[str, Any], interval: float) -> None:
    """metrics.record_status for a status as stored (read back as the informer reads it)."""
    metrics.record_status(namespace, name, CheckStatus.from_dict(stored), interval)

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "helm" / "credcheck" / "files" / "dashboard.json"


def _samples() -> set[str]:
    return {s.name for family in metrics.REGISTRY.collect() for s in family.samples}


def test_condition_gauges_are_one_hot_and_forgotten_on_delete() -> None:
    status = {"conditions": [{"type": "CredentialsValid", "status": "True"},
                             {"type": "PermissionsSufficient", "status": "False"},
                             {"type": "Ready", "status": "False"}],
              "summary": {"missingRequired": 3, "missingRecommended": 7}, "lastCheckTime": "2026-11-27T12:00:00Z"}
    record("kubermatic", "m1", status, 21600)
    value = metrics.REGISTRY.get_sample_value
    assert value("credcheck_check_condition", {"check_namespace": "kubermatic", "name": "m1", "condition": "Ready",
                                               "status": "False"}) == 1
    assert value("credcheck_check_condition", {"check_namespace": "kubermatic", "name": "m1", "condition": "Ready",
                                               "status": "True"}) == 0
    assert value("credcheck_missing_actions", {"check_namespace": "kubermatic", "name": "m1", "severity": "required"}) == 3
    assert value("credcheck_last_successful_check_timestamp_seconds",
                 {"check_namespace": "kubermatic", "name": "m1"}) == 1795780800.0
    metrics.forget("kubermatic", "m1")
    assert value("credcheck_check_condition", {"check_namespace": "kubermatic", "name": "m1", "condition": "Ready",
                                               "status": "False"}) is None


def test_unknown_verdicts_do_not_count_as_success() -> None:
    record("kubermatic", "m2", {"conditions": [{"type": "Ready", "status": "Unknown"}],
                                               "lastCheckTime": "2026-11-27T12:00:00Z"}, 600)
    assert metrics.REGISTRY.get_sample_value("credcheck_last_successful_check_timestamp_seconds",
                                             {"check_namespace": "kubermatic", "name": "m2"}) is None


def test_dashboard_queries_only_exported_series() -> None:
    record("kubermatic", "d", {"conditions": [{"type": "Ready", "status": "True"}],
                                              "summary": {}, "lastCheckTime": "2026-11-27T12:00:00Z"}, 600)
    aws_calls.record_aws_call("iam", "SimulatePrincipalPolicy", "throttled")
    metrics.CACHE.labels("hit").inc()
    metrics.CHECK_DURATION.observe(0.4)
    metrics.CHECKS.set(1)
    metrics.RELISTS.labels("secrets", "expired").inc()
    record("kubermatic", "d-broken", {"conditions": [
        {"type": "CredentialsValid", "status": "False", "reason": "InvalidCredentials"}], "clusters": [{"name": "c1"}]},
        600)
    exported = _samples()
    metrics.forget("kubermatic", "d-broken")
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(exprs) >= 8
    used = {name for expr in exprs for name in re.findall(r"\bcredcheck_[a-z_]+", expr)}
    assert used, "the dashboard queries credcheck's series"
    assert used <= exported, f"not exported: {sorted(used - exported)}"
    assert {"credcheck_recheck_round_duration_seconds", "credcheck_recheck_round_aws_calls"} <= used, \
        "the re-check round's duration and AWS calls are on the dashboard"
    assert "credcheck_cluster_not_ready" in used, "the KKP Clusters a credential breaks are on the dashboard"


def test_the_reason_series_follows_the_condition_and_goes_with_the_check() -> None:
    def reasons() -> set[tuple[str, str]]:
        return {(s.labels["condition"], s.labels["reason"]) for m in metrics.REGISTRY.collect()
                if m.name == "credcheck_check_reason" for s in m.samples
                if s.labels["name"] == "why" and s.value == 1}

    def status(reason: str) -> dict[str, object]:
        return {"conditions": [{"type": "Ready", "status": "False", "reason": reason},
                               {"type": "PermissionsSufficient", "status": "False", "reason": reason}]}

    record("kubermatic", "why", status("MissingPermissions"), 3600)
    assert reasons() == {("Ready", "MissingPermissions"), ("PermissionsSufficient", "MissingPermissions")}
    record("kubermatic", "why", status("ControlPlaneRoleTrustMissing"), 3600)
    assert reasons() == {("Ready", "ControlPlaneRoleTrustMissing"), ("PermissionsSufficient", "ControlPlaneRoleTrustMissing")}
    metrics.forget("kubermatic", "why")
    assert reasons() == set()


def test_only_clusters_the_verdict_breaks_carry_a_series_and_they_go_when_it_is_fixed() -> None:
    def clusters() -> set[tuple[str, str, str]]:
        return {(s.labels["cluster"], s.labels["condition"], s.labels["reason"]) for m in metrics.REGISTRY.collect()
                if m.name == "credcheck_cluster_not_ready" for s in m.samples if s.labels["name"] == "per-cluster"}

    broken = {"conditions": [{"type": "CredentialsValid", "status": "True", "reason": "Valid"},
                             {"type": "PermissionsSufficient", "status": "False", "reason": "MissingPermissions"},
                             {"type": "Ready", "status": "False", "reason": "MissingPermissions"}],
              "clusters": [{"name": "aaaa1111", "ready": "False", "missing": ["ec2:RunInstances"]},
                           {"name": "bbbb2222", "ready": "True"}]}
    record("kubermatic", "per-cluster", broken, 3600)
    assert clusters() == {("aaaa1111", "PermissionsSufficient", "MissingPermissions")}
    fixed = {"conditions": [{"type": "CredentialsValid", "status": "True", "reason": "Valid"},
                            {"type": "PermissionsSufficient", "status": "True", "reason": "AllRequiredAllowed"},
                            {"type": "Ready", "status": "True", "reason": "AllRequiredAllowed"}],
             "clusters": [{"name": "aaaa1111", "ready": "True"}, {"name": "bbbb2222", "ready": "True"}]}
    record("kubermatic", "per-cluster", fixed, 3600)
    assert clusters() == set()
    metrics.forget("kubermatic", "per-cluster")


def test_no_series_is_labelled_namespace_or_service() -> None:
    """A scrape's own target labels `namespace` (KKP's pods job, a ServiceMonitor) and `service` (a ServiceMonitor)
    would rename a metric's label of that name to exported_namespace / exported_service."""
    record("kubermatic", "labels", {"conditions": [{"type": "Ready", "status": "True"}]}, 600)
    aws_calls.record_aws_call("iam", "GetRole", "throttled")
    try:
        labelled = {m.name for m in metrics.REGISTRY.collect() for s in m.samples
                    if {"namespace", "service"} & set(s.labels)}
        assert labelled == set()
    finally:
        metrics.forget("kubermatic", "labels")
