"""The Events on a check and on a KKP Cluster are one shape (kube/events.py): the same fields, named or generated."""

from datetime import UTC, datetime

from credcheck.controller.checker import check_event
from credcheck.kube.cluster_events import ClusterEvent, manifest

NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


def test_a_checks_event_and_a_clusters_event_have_the_same_fields() -> None:
    body = {"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
            "metadata": {"namespace": "kubermatic", "name": "c", "uid": "u", "resourceVersion": "7"}}
    on_check = check_event(body, "Warning", "MissingPermissions", "x" * 2000, NOW)
    on_cluster = manifest(ClusterEvent("c1", "Warning", "CredentialInvalid", "bad"), "u1", NOW)
    assert set(on_check) == set(on_cluster)
    assert on_check["metadata"] == {"namespace": "kubermatic", "generateName": "c."}, "named by the apiserver"
    assert on_cluster["metadata"]["name"] == ClusterEvent("c1", "Warning", "CredentialInvalid", "bad").name
    assert len(on_check["message"]) == 1024, "an Event keeps at most 1024 characters of its message"
    assert on_check["involvedObject"]["resourceVersion"] == "7"
    assert on_cluster["involvedObject"] == {"apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "name": "c1",
                                           "uid": "u1"}
    assert on_check["firstTimestamp"] == on_cluster["lastTimestamp"] == "2026-12-06T11:00:00Z"
