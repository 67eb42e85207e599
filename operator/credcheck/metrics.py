"""Prometheus metrics, in the style of external-secrets: one 1/0 gauge per check, condition and status.

Labels are bounded: namespace and name of each check, never action names or principals.
"""

import contextlib
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from credcheck.contract import parse_timestamp

REGISTRY = CollectorRegistry(auto_describe=True)
CONDITIONS = ("CredentialsValid", "PermissionsSufficient", "Ready", "UpgradeReady")
OPTIONAL = frozenset({"UpgradeReady"})  # only checks with an upgrade profile have it
STATUSES = ("True", "False", "Unknown")

CHECK_CONDITION = Gauge("credcheck_check_condition", "1 when the check's condition has this status, else 0",
                        ["namespace", "name", "condition", "status"], registry=REGISTRY)
CHECK_REASON = Gauge("credcheck_check_reason", "1 for the reason the check's condition gives now (alerts carry it)",
                     ["namespace", "name", "condition", "reason"], registry=REGISTRY)
_REASONS: dict[tuple[str, str, str], str] = {}  # the reason series each check's condition has, to drop on change
MISSING_ACTIONS = Gauge("credcheck_missing_actions", "actions the credential lacks, by severity",
                        ["namespace", "name", "severity"], registry=REGISTRY)
LAST_SUCCESS = Gauge("credcheck_last_successful_check_timestamp_seconds",
                     "when the check last reached a verdict (anything but Unknown)", ["namespace", "name"],
                     registry=REGISTRY)
INTERVAL = Gauge("credcheck_check_interval_seconds", "the check's re-check interval", ["namespace", "name"],
                 registry=REGISTRY)
CHECK_DURATION = Histogram("credcheck_check_duration_seconds", "wall time of one AWS check (cache misses only)",
                           buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=REGISTRY)
AWS_CALLS = Counter("credcheck_aws_api_calls_total", "AWS API calls by service, operation and outcome",
                    ["service", "operation", "outcome"], registry=REGISTRY)
AWS_THROTTLED = Counter("credcheck_aws_throttled_total", "AWS calls that failed throttled after retries",
                        ["service"], registry=REGISTRY)
CACHE = Counter("credcheck_cache_lookups_total", "verdict cache lookups", ["result"], registry=REGISTRY)
CHECKS = Gauge("credcheck_checks", "AWSCredentialChecks the operator serves", registry=REGISTRY)
SCHEDULER_ROUNDS = Counter("credcheck_scheduler_rounds_total", "rounds of the re-check scheduler", registry=REGISTRY)
SCHEDULER_SKIPPED = Counter("credcheck_scheduler_skipped_total",
                            "re-checks the scheduler could not request (retried next round)", registry=REGISTRY)
RESYNCS = Counter("credcheck_discovery_resyncs_total", "full discovery resyncs", registry=REGISTRY)
DISCOVERY_FAILURES = Counter("credcheck_discovery_failures_total",
                             "discovery attempts that failed (each retried with backoff)", registry=REGISTRY)
RESTARTS = Counter("credcheck_background_restarts_total", "background loops restarted after a failure", ["loop"],
                   registry=REGISTRY)


def record_status(namespace: str, name: str, status: Mapping[str, Any], interval_seconds: float) -> None:
    current = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    reasons = {c.get("type"): str(c.get("reason") or "") for c in status.get("conditions") or []}
    for condition in CONDITIONS:
        _record_reason(namespace, name, condition, reasons.get(condition))
        if condition not in current and condition in OPTIONAL:
            for value in STATUSES:
                _remove(CHECK_CONDITION, namespace, name, condition, value)
            continue
        for value in STATUSES:
            CHECK_CONDITION.labels(namespace, name, condition, value).set(1 if current.get(condition) == value else 0)
    summary = status.get("summary") or {}
    MISSING_ACTIONS.labels(namespace, name, "required").set(summary.get("missingRequired", 0))
    MISSING_ACTIONS.labels(namespace, name, "recommended").set(summary.get("missingRecommended", 0))
    INTERVAL.labels(namespace, name).set(interval_seconds)
    checked = status.get("lastCheckTime")
    if current.get("Ready") in ("True", "False") and checked:
        moment = parse_timestamp(str(checked))
        LAST_SUCCESS.labels(namespace, name).set(moment.timestamp())


def forget(namespace: str, name: str) -> None:
    """Drop a deleted check's series, so dashboards and alerts don't see ghosts."""
    for condition in CONDITIONS:
        for value in STATUSES:
            _remove(CHECK_CONDITION, namespace, name, condition, value)
        _record_reason(namespace, name, condition, None)
    for severity in ("required", "recommended"):
        _remove(MISSING_ACTIONS, namespace, name, severity)
    _remove(LAST_SUCCESS, namespace, name)
    _remove(INTERVAL, namespace, name)


def _record_reason(namespace: str, name: str, condition: str, reason: str | None) -> None:
    """One series per check and condition, labelled with its current reason; the old reason's series goes."""
    key = (namespace, name, condition)
    old = _REASONS.pop(key, None)
    if old is not None and old != reason:
        _remove(CHECK_REASON, namespace, name, condition, old)
    if reason:
        CHECK_REASON.labels(namespace, name, condition, reason).set(1)
        _REASONS[key] = reason


def _remove(metric: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):  # never recorded
        metric.remove(*labels)


def record_aws_call(service: str, operation: str, outcome: str) -> None:
    AWS_CALLS.labels(service, operation, outcome).inc()
    if outcome == "throttled":
        AWS_THROTTLED.labels(service).inc()
