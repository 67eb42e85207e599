"""Key age, key findings and excess permissions as metrics: bounded labels, never a key id."""

import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import generate_latest

from credcheck.controller import metrics
from credcheck.kube.check_status import CheckStatus


def record(namespace: str, name: str, stored: Mapping[str, Any], interval: float) -> None:
    """metrics.record_status for a status as stored (read back as the informer reads it)."""
    metrics.record_status(namespace, name, CheckStatus.from_dict(stored), interval)

STATUS = {
    "conditions": [{"type": "Ready", "status": "True", "reason": "AllRequiredAllowed"}],
    "lastCheckTime": "2026-12-06T12:00:00Z",
    "keys": {"state": "Read", "user": "kkp",
             "current": {"accessKeyId": "AKIA************ABCD", "status": "Active", "created": "2026-01-01T00:00:00Z"},
             "findings": [{"type": "OldKey", "message": "access key AKIA************ABCD is old"}]},
    "excessPermissions": [{"action": "iam:CreateUser", "resource": "*"}, {"action": "kms:ScheduleKeyDeletion",
                                                                          "resource": "*"}],
}


def test_key_age_findings_and_excess_are_exported_and_forgotten() -> None:
    record("kubermatic", "h1", STATUS, 21600)
    value = metrics.REGISTRY.get_sample_value
    age = value("credcheck_access_key_age_seconds", {"check_namespace": "kubermatic", "name": "h1"})
    created = 1767225600.0  # 2026-01-01T00:00:00Z
    assert age is not None and abs(age - (time.time() - created)) < 60
    labels = {"check_namespace": "kubermatic", "name": "h1"}
    assert value("credcheck_access_key_finding", {**labels, "finding": "OldKey"}) == 1
    assert value("credcheck_access_key_finding", {**labels, "finding": "UnusedKey"}) == 0
    assert value("credcheck_access_key_finding", {**labels, "finding": "OtherKeyInUse"}) == 0
    assert value("credcheck_excess_permissions", labels) == 2
    text = generate_latest(metrics.REGISTRY).decode()
    assert "ABCD" not in text and "accessKeyId" not in text, "no key id, masked or not, in a label"
    metrics.forget("kubermatic", "h1")
    assert value("credcheck_access_key_age_seconds", labels) is None


def test_unread_facts_export_no_key_series() -> None:
    record("kubermatic", "h2", {**STATUS, "keys": {"state": "Unknown", "findings": []},
                                               "excessPermissions": None}, 21600)
    value = metrics.REGISTRY.get_sample_value
    labels = {"check_namespace": "kubermatic", "name": "h2"}
    assert value("credcheck_access_key_age_seconds", labels) is None
    assert value("credcheck_access_key_finding", {**labels, "finding": "OldKey"}) is None
    assert value("credcheck_excess_permissions", labels) is None
    metrics.forget("kubermatic", "h2")


def test_the_schedulers_trimmed_status_gives_the_same_series() -> None:
    stored = CheckStatus.from_dict(STATUS)
    trimmed = CheckStatus(conditions=stored.conditions, last_check_time=stored.last_check_time,
                          **metrics.hygiene_fields(stored))
    assert "AKIA" not in str(trimmed) and "is old" not in str(trimmed), "only what the series need is kept"
    metrics.record_status("kubermatic", "h3", trimmed, 21600)
    value = metrics.REGISTRY.get_sample_value
    labels = {"check_namespace": "kubermatic", "name": "h3"}
    assert value("credcheck_access_key_finding", {**labels, "finding": "OldKey"}) == 1
    assert value("credcheck_excess_permissions", labels) == 2
    assert value("credcheck_access_key_age_seconds", labels) is not None
    metrics.forget("kubermatic", "h3")
