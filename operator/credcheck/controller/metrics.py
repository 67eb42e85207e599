"""Prometheus metrics, in the style of external-secrets: one 1/0 gauge per check, condition and status.

Labels are bounded: the namespace and name of each check, never action names or principals. The check's namespace
is the label `check_namespace`, never `namespace`: a scrape sets its own target label `namespace` (KKP's `pods` job and
a ServiceMonitor both: the pod's namespace), which would rename a metric's `namespace` to `exported_namespace` and
leave every expression reading the wrong one. Per KKP Cluster, only Clusters the verdict breaks carry a series
(`credcheck_cluster_not_ready`): at most one per Cluster of the seed, none for a Ready one.
"""

import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from credcheck.engine.aws import calls as aws_calls
from credcheck.engine.keyfacts import READ
from credcheck.engine.keys import KINDS as KEY_FINDINGS
from credcheck.kube.check_status import READY, AccessKey, CheckStatus, ExcessPermission, KeyFinding, Keys, Summary
from credcheck.kube.contract import parse_timestamp
from credcheck.kube.impact import broken_clusters

REGISTRY = CollectorRegistry(auto_describe=True)
CONDITIONS = ("CredentialsValid", "PermissionsSufficient", READY, "UpgradeReady", "RotationComplete")
OPTIONAL = frozenset({"UpgradeReady", "RotationComplete"})  # only with an upgrade profile; only with Clusters
STATUSES = ("True", "False", "Unknown")


@dataclass(frozen=True, slots=True)
class _CheckSeries:
    """What one check's series say, kept as one small record (a labelled gauge child per series cost ~11 KB a
    check); the series are made from it at scrape time."""

    conditions: tuple[tuple[str, str, str], ...]  # (condition, status, reason) of each condition it reports
    missing_required: float
    missing_recommended: float
    last_success: float | None
    interval: float
    clusters: tuple[tuple[str, str, str], ...] = ()  # (cluster, condition, reason) of each Cluster it breaks
    key_created: float | None = None  # status.keys.current.created, when the key facts were read
    key_findings: tuple[str, ...] | None = None  # the key findings' types; None: facts not read
    excess: float | None = None  # status.excessPermissions' length; None: not asked


_CHECKS: dict[tuple[str, str], _CheckSeries] = {}
_CHECKS_LOCK = threading.Lock()


class _PerCheck(Collector):
    """credcheck_check_condition, _check_reason, _missing_actions, _last_successful_check_timestamp_seconds and
    _check_interval_seconds, one series set per live check, from the records."""

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        with _CHECKS_LOCK:
            records = list(_CHECKS.items())
        return iter(self._families(records))

    @staticmethod
    def _families(records: list[tuple[tuple[str, str], _CheckSeries]] | None = None) -> list[Metric]:
        condition = GaugeMetricFamily("credcheck_check_condition",
                                      "1 when the check's condition has this status, else 0",
                                      labels=["check_namespace", "name", "condition", "status"])
        reason = GaugeMetricFamily("credcheck_check_reason",
                                   "1 for the reason the check's condition gives now (alerts carry it)",
                                   labels=["check_namespace", "name", "condition", "reason"])
        missing = GaugeMetricFamily("credcheck_missing_actions", "actions the credential lacks, by severity",
                                    labels=["check_namespace", "name", "severity"])
        success = GaugeMetricFamily("credcheck_last_successful_check_timestamp_seconds",
                                    "when the check last reached a verdict (anything but Unknown)",
                                    labels=["check_namespace", "name"])
        interval = GaugeMetricFamily("credcheck_check_interval_seconds", "the check's re-check interval",
                                     labels=["check_namespace", "name"])
        cluster = GaugeMetricFamily("credcheck_cluster_not_ready",
                                    "1 for each KKP Cluster the check's verdict breaks (Ready Clusters have no series)",
                                    labels=["check_namespace", "name", "cluster", "condition", "reason"])
        for (namespace, name), record in records or ():
            for kind, status, why in record.conditions:
                for value in STATUSES:
                    condition.add_metric([namespace, name, kind, value], 1.0 if status == value else 0.0)
                if why:
                    reason.add_metric([namespace, name, kind, why], 1.0)
            missing.add_metric([namespace, name, "required"], record.missing_required)
            missing.add_metric([namespace, name, "recommended"], record.missing_recommended)
            if record.last_success is not None:
                success.add_metric([namespace, name], record.last_success)
            interval.add_metric([namespace, name], record.interval)
            for broken in record.clusters:
                cluster.add_metric([namespace, name, *broken], 1.0)
        age, findings, excess = _hygiene_families(records or ())
        return [condition, reason, missing, success, interval, cluster, age, findings, excess]


def _hygiene_families(records: Iterable[tuple[tuple[str, str], _CheckSeries]]) -> list[GaugeMetricFamily]:
    """credcheck_access_key_age_seconds, credcheck_access_key_finding and credcheck_excess_permissions: labels
    check_namespace, name (and the finding's type, one of three); never a key id."""
    age = GaugeMetricFamily("credcheck_access_key_age_seconds", "age of the access key the check's credential holds",
                            labels=["check_namespace", "name"])
    finding = GaugeMetricFamily("credcheck_access_key_finding", "1 when the check's keys have this finding, else 0",
                                labels=["check_namespace", "name", "finding"])
    excess = GaugeMetricFamily("credcheck_excess_permissions",
                               "high-risk actions KKP never calls that the credential may do",
                               labels=["check_namespace", "name"])
    now = time.time()
    for (namespace, name), record in records:
        if record.key_created is not None:
            age.add_metric([namespace, name], max(0.0, now - record.key_created))
        if record.key_findings is not None:
            for kind in KEY_FINDINGS:
                finding.add_metric([namespace, name, kind], 1.0 if kind in record.key_findings else 0.0)
        if record.excess is not None:
            excess.add_metric([namespace, name], record.excess)
    return [age, finding, excess]


REGISTRY.register(_PerCheck())
for _collector in aws_calls.COLLECTORS:  # the engine counts its AWS calls; the operator serves them
    REGISTRY.register(_collector)
CHECK_DURATION = Histogram("credcheck_check_duration_seconds", "wall time of one AWS check (cache misses only)",
                           buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=REGISTRY)
CACHE = Counter("credcheck_cache_lookups_total", "verdict cache lookups", ["result"], registry=REGISTRY)
CHECKS = Gauge("credcheck_checks", "AWSCredentialChecks the operator serves", registry=REGISTRY)
SCHEDULER_ROUNDS = Counter("credcheck_scheduler_rounds_total", "rounds of the re-check scheduler", registry=REGISTRY)
SCHEDULER_SKIPPED = Counter("credcheck_scheduler_skipped_total",
                            "re-checks the scheduler could not run (due again after --retry-base)", registry=REGISTRY)
RESYNCS = Counter("credcheck_discovery_resyncs_total", "full discovery resyncs", registry=REGISTRY)
DISCOVERY_FAILURES = Counter("credcheck_discovery_failures_total",
                             "discovery attempts that failed (each retried with backoff)", registry=REGISTRY)
RESTARTS = Counter("credcheck_background_restarts_total", "background loops restarted after a failure", ["loop"],
                   registry=REGISTRY)
RELISTS = Counter("credcheck_watch_relists_total",
                  "full lists of a watched kind: at start, every resync interval, and when a watch expired (410)",
                  ["kind", "reason"], registry=REGISTRY)
ROUND_DURATION = Gauge("credcheck_recheck_round_duration_seconds",
                       "how long the last full re-check round took (every check re-checked once)", registry=REGISTRY)
ROUND_CALLS = Gauge("credcheck_recheck_round_aws_calls",
                    "AWS API calls made during the last full re-check round (every call and retry, GetRole included)",
                    registry=REGISTRY)
ROUND_CHECKS = Gauge("credcheck_recheck_round_checks", "checks re-checked in the last full round", registry=REGISTRY)
ROUND_PROGRESS = Gauge("credcheck_recheck_round_pending", "checks of the current round not re-checked yet",
                       registry=REGISTRY)
RECHECK_BACKLOG = Gauge("credcheck_recheck_backlog",
                        "checks due whose re-check waits for their account's AWS call budget", registry=REGISTRY)


def record_status(namespace: str, name: str, status: CheckStatus, interval_seconds: float) -> None:
    conditions = {c.type: c for c in status.conditions}
    reported = tuple(
        (kind, sys.intern(conditions[kind].status if kind in conditions else ""),
         sys.intern(conditions[kind].reason if kind in conditions else ""))
        for kind in CONDITIONS if kind in conditions or kind not in OPTIONAL)
    summary = status.summary or Summary()
    ready = status.ready.status if status.ready is not None else ""
    checked = status.last_check_time
    last = parse_timestamp(checked).timestamp() if ready in ("True", "False") and checked else None
    with _CHECKS_LOCK:
        previous = _CHECKS.get((namespace, name))
        if last is None and previous is not None:
            last = previous.last_success  # an Unknown verdict keeps the time of the last real one
        _CHECKS[(sys.intern(namespace), name)] = _CheckSeries(
            reported, float(summary.missing_required), float(summary.missing_recommended),
            last, float(interval_seconds),
            tuple((b.cluster, b.condition, sys.intern(b.reason)) for b in broken_clusters(status)), *_hygiene(status))


def hygiene_fields(status: CheckStatus) -> dict[str, Any]:
    """What the key and excess series need of a stored status, and no more (the scheduler keeps it per check)."""
    keys, excess = status.keys, status.excess_permissions
    return {
        "keys": None if keys is None else Keys(
            keys.state, current=AccessKey("", created=keys.current.created) if keys.current is not None else None,
            findings=tuple(KeyFinding(f.type) for f in keys.findings)),
        "excess_permissions": None if excess is None else tuple(ExcessPermission(e.action) for e in excess)}


def _hygiene(status: CheckStatus) -> tuple[float | None, tuple[str, ...] | None, float | None]:
    keys = status.keys
    created = keys.current.created if keys is not None and keys.current is not None else None
    when = parse_timestamp(created).timestamp() if created else None
    kinds = (tuple(sys.intern(f.type) for f in keys.findings) if keys is not None and keys.state == READ else None)
    excess = status.excess_permissions
    return when, kinds, float(len(excess)) if excess is not None else None


def forget(namespace: str, name: str) -> None:
    """Drop a deleted check's series, so dashboards and alerts don't see ghosts."""
    with _CHECKS_LOCK:
        _CHECKS.pop((namespace, name), None)
