"""What the status and the Cluster's Event get from the rotation decisions (plain values)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from fakes import FakeKube

from credcheck.controller import rotation_service
from credcheck.controller.metrics import REGISTRY
from credcheck.controller.rotation import Decision, InUse, decide
from credcheck.controller.rotation_service import (
    Followed,
    _publish,
    apply,
    apply_deletion,
    follow,
    forget,
)
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.client import ReadFailure
from credcheck.kube.cluster_events import ClusterEvent, manifest
from credcheck.kube.spec import CheckObject, parse_check

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
EARLIER = "2026-12-06T05:00:00Z"


def applied(status: dict[str, Any], followed: Followed, previous: dict[str, Any], now: datetime,
            **kw: Any) -> dict[str, Any]:
    """rotation_service.apply on statuses as stored, and the status it writes."""
    return apply(CheckStatus.from_dict(status), followed, CheckStatus.from_dict(previous), now, **kw).to_dict()


def test_each_cluster_gets_its_state_and_rotation_complete_keeps_its_transition_time() -> None:
    status = {"clusters": [{"name": "a", "ready": "True"}], "conditions": [{"type": "Ready", "status": "True"}],
              "nextCheckTime": "2026-12-06T12:00:00Z"}
    previous = {"conditions": [{"type": "RotationComplete", "status": "False", "lastTransitionTime": EARLIER}]}
    rotating = Decision(InUse.ROTATING, NOW, "RotationInProgress", "copy behind; do not deactivate the old key yet")
    status = applied(status, Followed({"a": rotating, "b": rotating}), previous, NOW, generation=3, recheck_seconds=60)
    a, b = status["clusters"]
    assert (a["credentialInUse"], a["credentialInUseSince"], b["name"]) == ("Rotating", "2026-12-06T06:00:00Z", "b")
    ready, rotation = status["conditions"]
    assert (ready["type"], ready["status"]) == ("Ready", "True"), "RotationComplete never changes Ready"
    assert (rotation["status"], rotation["lastTransitionTime"]) == ("False", EARLIER)
    assert status["nextCheckTime"] == "2026-12-06T06:01:00Z", "a Rotating Cluster is looked at again soon"


def test_a_stale_cluster_is_looked_at_again_soon_so_a_deactivated_old_key_shows() -> None:
    status = {"clusters": [{"name": "a"}], "nextCheckTime": "2026-12-06T12:00:00Z"}
    status = applied(status, Followed({"a": Decision(InUse.STALE, NOW, "RotationStuck", "x")}), {}, NOW, generation=1,
          recheck_seconds=60)
    assert status["nextCheckTime"] == "2026-12-06T06:01:00Z"


def test_a_cluster_without_a_copy_yet_is_looked_at_soon_only_within_the_grace() -> None:
    fresh = Decision(InUse.UNKNOWN, NOW, "NoCopyYet", "no copy")
    status = {"clusters": [{"name": "a"}], "nextCheckTime": "2026-12-06T12:00:00Z"}
    status = applied(status, Followed({"a": fresh}), {}, NOW, generation=1, recheck_seconds=60, grace_seconds=900)
    assert status["nextCheckTime"] == "2026-12-06T06:01:00Z"
    old = Decision(InUse.UNKNOWN, NOW - timedelta(minutes=16), "NoCopyYet", "no copy")
    status = {"clusters": [{"name": "a"}], "nextCheckTime": "2026-12-06T12:00:00Z"}
    status = applied(status, Followed({"a": old}), {}, NOW, generation=1, recheck_seconds=60, grace_seconds=900)
    assert status["nextCheckTime"] == "2026-12-06T12:00:00Z", "past the grace: the check's own interval"


def test_a_current_cluster_keeps_the_checks_own_schedule() -> None:
    status = {"clusters": [{"name": "a"}], "nextCheckTime": "2026-12-06T12:00:00Z"}
    status = applied(status, Followed({"a": Decision(InUse.CURRENT, NOW, "RunsOnCurrentKeys", "ok")}), {}, NOW,
          generation=1, recheck_seconds=60)
    assert status["nextCheckTime"] == "2026-12-06T12:00:00Z"
    assert status["conditions"][0]["status"] == "True"


def test_deletion_readiness_and_config_findings_land_per_cluster_with_the_builtin_profile() -> None:
    status = {"clusters": [{"name": "a", "ready": "False", "missing": ["ec2:DeleteSecurityGroup"]},
                           {"name": "b"}]}
    status = apply_deletion(CheckStatus.from_dict(status), "kkp").to_dict()
    assert status["clusters"][0]["deletionReady"] == "False"
    assert "deletionReady" not in status["clusters"][1], "no verdict for b: nothing said"


def test_the_event_names_the_kkp_cluster_by_kind_name_and_uid_one_event_per_cluster_and_reason() -> None:
    event = manifest(ClusterEvent("c1", "Warning", "ClusterRotationStuck", "stuck"), "uid-1", NOW)
    assert event["involvedObject"] == {"apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "name": "c1",
                                       "uid": "uid-1"}
    assert (event["type"], event["metadata"]["namespace"]) == ("Warning", "default")
    assert event["metadata"]["name"] == "c1.credcheck.clusterrotationstuck", "updated in place, never multiplied"


def test_a_deleted_checks_clusters_leave_the_stuck_metric() -> None:
    def value() -> float | None:
        labels = {"check_namespace": "ns", "name": "gone", "cluster": "c"}
        return REGISTRY.get_sample_value("credcheck_rotation_stuck", labels)
    _publish("ns", "gone", {"c": Decision(InUse.STALE, NOW, "RotationStuck", "x")})
    assert value() == 1.0
    forget("ns", "gone")
    assert value() is None


def test_an_imported_eks_clusters_check_is_not_followed_kkp_makes_no_copy_for_it() -> None:
    def check(profile: str) -> CheckObject:
        spec = {"source": {"secretRef": {"name": "credential-aws-x"}}, "requirements": {"profile": profile},
                "clusters": [{"name": "my-eks", "region": "eu-west-1"}]}
        return parse_check({"metadata": {"namespace": "kubermatic", "name": "x"}, "spec": spec}, BUILTIN)

    kube = FakeKube()
    kube.fail("secret_data", RuntimeError("no apiserver here"))
    runtime = Runtime(Settings(rotation=True, region="us-east-1", rotation_grace="15m"), kube, VerdictCache(0),
                      ThreadPoolExecutor(1))
    assert asyncio.run(follow(runtime, check("eks"), CheckStatus(), NOW)) is None
    assert kube.called("secret_data") == []
    followed = asyncio.run(follow(runtime, check("kkp"), CheckStatus(), NOW))
    assert kube.called("secret_data") == [("kubermatic", "credential-aws-x")] and followed is not None  # followed
    assert followed.decisions["my-eks"].state is InUse.UNKNOWN


def test_a_cluster_made_from_a_preset_credcheck_may_not_read_is_unknown_never_current() -> None:
    """Whether a Preset's keys moved on (kubermatic/kubermatic#11860) is unverified when the Preset can't be read."""
    keys = {"accessKeyId": b"AKIAEXAMPLEEXAMPLE12", "secretAccessKey": b"s" * 40}

    source = rotation_service._digest(keys)
    for preset, expected in ((ReadFailure("PresetForbidden", "no"), InUse.UNKNOWN),
                             (ReadFailure("PresetNotFound", "gone"), InUse.CURRENT)):
        seed = FakeKube(clusters={"c1": {"metadata": {"name": "c1", "uid": "u1", "annotations": {"presetName": "team-a"}},
                                         "spec": {}}},
                        copies={("cluster-c1", "cloud-credentials"): (keys, "7")}, presets={"team-a": preset})
        runtime = Runtime(Settings(), seed, VerdictCache(0), ThreadPoolExecutor(1))
        found, _ = rotation_service._read_cluster(runtime, "c1", "Secret kubermatic/credential-aws-c1",
                                                  source, "eu-west-1")
        assert seed.called("preset") == [("team-a",)]
        assert decide(found, None, NOW, timedelta(minutes=15)).state is expected, preset
