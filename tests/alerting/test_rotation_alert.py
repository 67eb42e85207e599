"""CredcheckRotationStuck end to end (issue 34): a KKP Cluster left on its old key past the grace makes Debian's
Prometheus fire the shipped rule with the Cluster's `cluster` label, from the running operator's /metrics; KKP
catching up (copy and Deployments on the new key) ends it.

Test values, none in the shipped chart: the rule's `for:` is 2 s (shipped 5m) in a copy of the shipped rules
(`monitoring.rules_with_for`: only `for` changes); Prometheus scrapes and evaluates every 1 s; the operator's grace
is 5 s and it looks again every 2 s while a Cluster is behind. The test ground plays KKP (tests/cluster/
test_rotation.py's KKP helper: the copy and the Deployments as KKP v2.31.0 makes them).
"""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster.conftest import GOOD_POLICY, LEAKS, NS, Seed, running_operator, wait_for
from cluster.test_rotation import KKP, apply, wait_in_use
from credcheck_testground import kkp, monitoring
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.processes import stop_all

pytestmark = [pytest.mark.cluster, pytest.mark.aws, pytest.mark.alerting]
ALERT = "CredcheckRotationStuck"
RUNBOOK = "https://runbooks.example/credcheck/runbook.md"  # the chart value runbookBaseURL


@pytest.fixture
def prometheus_state(tmp_path: Path) -> Iterator[Path]:
    try:
        monitoring.binary("prometheus")
    except monitoring.MissingTool as missing:
        pytest.fail(str(missing))
    state = tmp_path / "monitoring"
    state.mkdir()
    try:
        yield state
    finally:
        stop_all(state)


@pytest.mark.timeout(240)
def test_a_cluster_stuck_on_its_old_key_fires_the_alert_with_its_cluster_label_and_catching_up_ends_it(
        control_plane: ControlPlane, local_aws: LocalAWS, prometheus_state: Path, tmp_path: Path) -> None:
    with running_operator(control_plane, local_aws, tmp_path / "operator", rotation_grace="5s",
                          rotation_recheck="2s") as op:
        prometheus = monitoring.start_prometheus(prometheus_state, [op.metrics_url.removeprefix("http://")],
                                                 monitoring.rules_with_for("2s", monitoring.shipped_rules(RUNBOOK)), interval="1s")
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        unique = uuid.uuid4().hex[:8]
        user = f"rotating-{unique}"
        _, old = local_aws.create_user(user, [GOOD_POLICY])
        LEAKS.add(old.access_key_id, old.secret_access_key)
        secret, cluster = f"credential-aws-alert{unique}", f"alert{unique}"
        seed.kkp_secret(secret, old)
        apply(seed, kkp.cluster(cluster, secret, NS))
        ground = KKP(seed, cluster)
        try:
            ground.rolls_out(ground.copies(old))
            wait_in_use(seed, secret, cluster, "Current")

            def firing() -> list[dict[str, object]]:
                return [a for a in prometheus.alerts() if a["labels"].get("alertname") == ALERT
                        and a["labels"].get("cluster") == cluster and a["state"] == "firing"]
            assert not firing()
            new = local_aws.rotate_key(user)
            LEAKS.add(new.access_key_id, new.secret_access_key)
            seed.kkp_secret(secret, new)  # KKP does not copy it: the Cluster stays on the old key
            wait_in_use(seed, secret, cluster, "Stale", timeout=60)
            (alert,) = wait_for(firing, f"{ALERT} firing for Cluster {cluster}", timeout=60)
            labels = alert["labels"]
            assert isinstance(labels, dict)
            assert {k: labels.get(k) for k in ("severity", "service", "resource", "cluster")} == {
                "severity": "warning", "service": "credcheck", "resource": f"{NS}/{secret}", "cluster": cluster}
            annotations = alert["annotations"]
            assert isinstance(annotations, dict)
            assert annotations["runbook_url"] == f"{RUNBOOK}#credcheckrotationstuck"
            assert cluster in str(annotations["message"]) and "Do not deactivate the old key yet" in str(
                annotations["description"])

            ground.rolls_out(ground.copies(new))  # KKP catches up
            wait_in_use(seed, secret, cluster, "Current", timeout=60)
            wait_for(lambda: not firing(), f"{ALERT} to end for Cluster {cluster}", timeout=60)
        finally:
            seed.kubectl("delete", "clusters.kubermatic.k8c.io", cluster, "--ignore-not-found", "--wait=false")
            seed.kubectl("delete", "secret", secret, "-n", NS, "--ignore-not-found")
