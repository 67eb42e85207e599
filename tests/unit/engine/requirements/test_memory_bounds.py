"""Memory bounded by design: what the operator keeps per Cluster, Secret and check is small and goes with them;
caches have a fixed size. Measured with tracemalloc on plain values."""

import tracemalloc
from collections.abc import Callable

from credcheck.controller import metrics
from credcheck.controller.discovery.store import Store
from credcheck.engine.requirements.profiles import EXPANDED, EXPANSIONS, load_profile
from credcheck.engine.target import Target
from credcheck.kube.check_status import CheckStatus


def retained(work: Callable[[], object]) -> tuple[float, object]:
    """Bytes still allocated after `work()` (what it keeps, not what it used on the way), and its result."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = work()
        return tracemalloc.get_traced_memory()[0] - before, result
    finally:
        tracemalloc.stop()


def test_expanding_the_requirements_of_thousands_of_clusters_keeps_a_fixed_amount() -> None:
    """An expansion is about 85 KB (119 requirements of one Cluster); kept per Cluster for ever, 2,000 Clusters
    held 170 MB. Now the last EXPANSIONS are kept, whatever the number of Clusters, and deleted ones age out."""
    profile = load_profile("kkp")

    def expand() -> None:
        for i in range(400):
            profile.requirements("123456789012", target=Target(cluster=f"c{i}", region="eu-central-1",
                                                                kubernetes_version="1.34.2"))

    kept, _ = retained(expand)
    assert len(EXPANDED) <= EXPANSIONS
    assert kept < 4 * 2**20, f"400 Clusters' expansions kept {kept / 2**20:.1f} MiB"
    again = Target(cluster="c399", region="eu-central-1", kubernetes_version="1.34.2")
    assert profile.requirements("123456789012", target=again) is profile.requirements("123456789012", target=again)


def test_a_checks_metric_series_cost_under_a_kilobyte() -> None:
    """Twenty labelled gauge children per check cost about 11 KB; one record per check, made into series at
    scrape time, about 0.6 KB."""
    status = {"conditions": [{"type": "CredentialsValid", "status": "True", "reason": "Valid"},
                             {"type": "PermissionsSufficient", "status": "False", "reason": "MissingPermissions"},
                             {"type": "Ready", "status": "False", "reason": "MissingPermissions"}],
              "summary": {"missingRequired": 3, "missingRecommended": 1}, "lastCheckTime": "2026-11-27T12:00:00Z"}
    stored = CheckStatus.from_dict(status)
    names = [f"credential-aws-mem-{i:04d}" for i in range(1000)]

    def record() -> None:
        for name in names:
            metrics.record_status("kubermatic", name, stored, 21600)

    kept, _ = retained(record)
    try:
        assert kept / len(names) < 1024, f"{kept / len(names):.0f} bytes per check"
        assert metrics.REGISTRY.get_sample_value("credcheck_missing_actions", {
            "check_namespace": "kubermatic", "name": names[-1], "severity": "required"}) == 3
    finally:
        for name in names:
            metrics.forget("kubermatic", name)
    assert metrics.REGISTRY.get_sample_value("credcheck_missing_actions", {
        "check_namespace": "kubermatic", "name": names[-1], "severity": "required"}) is None


def test_a_secret_costs_the_informer_its_name_and_resource_version() -> None:
    def fill() -> Store[tuple[str, str], str]:
        store: Store[tuple[str, str], str] = Store()
        for i in range(10_000):
            name = f"unrelated-secret-{i:05d}"
            store.put(("kubermatic", name), (("kubermatic", name), str(1_000_000 + i)))
        return store

    kept, store = retained(fill)
    assert kept / 10_000 < 360, f"{kept / 10_000:.0f} bytes per Secret (~300 with its name and version strings; was ~580)"
    assert isinstance(store, Store) and store.replace({}, scope="kubermatic")[1], "and goes with them"
