"""The rotation decision per Cluster, from plain values (no Kubernetes, no AWS)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from credcheck.controller.rotation import (
    ClusterKeys,
    Decision,
    InUse,
    KeyDigest,
    Rollout,
    decide,
    newly_stuck,
    rollouts,
    rotation_condition,
)

NOW = datetime(2026, 12, 6, 6, 0, tzinfo=UTC)
GRACE = timedelta(minutes=15)
NEW, OLD = "digest-new", "digest-old"


def keys(**kw: Any) -> ClusterKeys:
    base: dict[str, Any] = {"cluster": "c1", "namespace": "cluster-c1", "source": "Secret kubermatic/credential-aws-a",
                               "source_digest": NEW, "copy_digest": NEW, "copy_version": "42",
                               "rollouts": (Rollout("machine-controller", "42"),
                                            Rollout("aws-cloud-controller-manager", "42"))}
    base.update(kw)
    return ClusterKeys(**base)


def test_digests_are_equal_for_equal_keys_and_differ_per_process_key() -> None:
    one = KeyDigest(b"k" * 32)
    assert one.of("AKIAEXAMPLE", b"s3cret") == one.of(b"AKIAEXAMPLE", "s3cret\n")
    assert one.of("AKIAEXAMPLE", "s3cret") != one.of("AKIAEXAMPLE", "other")
    assert KeyDigest(b"x" * 32).of("AKIAEXAMPLE", "s3cret") != one.of("AKIAEXAMPLE", "s3cret")
    assert "AKIA" not in one.of("AKIAEXAMPLE", "s3cret")


def test_copy_and_every_rollout_at_the_copys_revision_is_current() -> None:
    d = decide(keys(), None, NOW, GRACE)
    assert (d.state, d.since) == (InUse.CURRENT, NOW)


def test_a_copy_with_other_keys_is_rotating_within_the_grace_and_says_not_to_deactivate() -> None:
    d = decide(keys(copy_digest=OLD), None, NOW, GRACE)
    assert d.state is InUse.ROTATING
    assert "do not deactivate the old key yet" in d.message


def test_a_rollout_not_at_the_copys_revision_is_named() -> None:
    d = decide(keys(rollouts=(Rollout("machine-controller", "41"), Rollout("usercluster-controller", "42"))),
               None, NOW, GRACE)
    assert d.state is InUse.ROTATING
    assert d.lagging == ("machine-controller (revision 41, copy at 42)",)
    assert "machine-controller" in d.message and "usercluster-controller" not in d.message


def test_a_rollout_at_the_revision_but_not_finished_lags() -> None:
    mid = Rollout("aws-cloud-controller-manager", "42", generation=3, observed_generation=3, replicas=2,
                  updated_replicas=1)
    d = decide(keys(rollouts=(mid,)), None, NOW, GRACE)
    assert d.state is InUse.ROTATING and d.lagging == ("aws-cloud-controller-manager (rollout 1/2 updated)",)
    unobserved = Rollout("aws-cloud-controller-manager", "42", generation=4, observed_generation=3)
    assert decide(keys(rollouts=(unobserved,)), None, NOW, GRACE).state is InUse.ROTATING


def test_rotating_past_the_grace_turns_stale_and_keeps_its_since_afterwards() -> None:
    began = NOW - timedelta(minutes=16)
    d = decide(keys(copy_digest=OLD), ("Rotating", began), NOW, GRACE)
    assert (d.state, d.reason, d.since) == (InUse.STALE, "RotationStuck", NOW)
    later = decide(keys(copy_digest=OLD), ("Stale", NOW), NOW + timedelta(hours=1), GRACE)
    assert (later.state, later.since) == (InUse.STALE, NOW)
    within = decide(keys(copy_digest=OLD), ("Rotating", NOW - timedelta(minutes=14)), NOW, GRACE)
    assert (within.state, within.since) == (InUse.ROTATING, NOW - timedelta(minutes=14))


def test_a_paused_cluster_behind_is_stale_at_once_and_says_it_is_paused() -> None:
    d = decide(keys(copy_digest=OLD, paused=True), None, NOW, GRACE)
    assert (d.state, d.reason) == (InUse.STALE, "ClusterPaused")
    assert "paused" in d.message and "do not deactivate the old key yet" in d.message


def test_a_preset_made_cluster_whose_preset_keys_changed_is_stale() -> None:
    d = decide(keys(preset="team-a", preset_digest=OLD), None, NOW, GRACE)
    assert (d.state, d.reason) == (InUse.STALE, "PresetKeysNotCopied")
    assert "team-a" in d.message and "#11860" in d.message
    assert decide(keys(preset="team-a", preset_digest=NEW), None, NOW, GRACE).state is InUse.CURRENT
    assert decide(keys(preset="team-a", preset_digest=None), None, NOW, GRACE).state is InUse.CURRENT


def test_a_missing_copy_or_an_unreadable_one_is_unknown_with_why() -> None:
    d = decide(keys(copy_missing=True, copy_digest=None), None, NOW, GRACE)
    assert (d.state, d.reason) == (InUse.UNKNOWN, "NoCopyYet")
    d = decide(keys(unknown="credcheck may not get cluster-c1/cloud-credentials"), None, NOW, GRACE)
    assert (d.state, d.reason) == (InUse.UNKNOWN, "NotVerified") and "may not" in d.message


def test_keys_aws_refuses_are_invalid_even_when_behind() -> None:
    d = decide(keys(copy_digest=OLD, refused=True), ("Rotating", NOW), NOW, GRACE)
    assert (d.state, d.reason) == (InUse.INVALID, "KeysRefused")
    assert "do not deactivate" not in d.message


def test_rotation_condition_false_when_any_cluster_is_behind_unknown_when_unverified_true_when_all_current() -> None:
    cur = Decision(InUse.CURRENT, NOW, "RunsOnCurrentKeys", "ok")
    rot = Decision(InUse.ROTATING, NOW, "RotationInProgress", "copy behind")
    stale = Decision(InUse.STALE, NOW, "RotationStuck", "stuck")
    unk = Decision(InUse.UNKNOWN, NOW, "NoCopyYet", "no copy")
    bad = Decision(InUse.INVALID, NOW, "KeysRefused", "refused")
    assert rotation_condition({"a": cur, "b": cur})[:2] == ("True", "AllClustersCurrent")
    assert rotation_condition({"a": cur, "b": unk})[:2] == ("Unknown", "NotVerified")
    assert rotation_condition({"a": rot, "b": unk})[:2] == ("False", "RotationInProgress")
    status, reason, message = rotation_condition({"a": rot, "b": stale})
    assert (status, reason) == ("False", "RotationStuck") and "Cluster a" in message and "Cluster b" in message
    assert rotation_condition({"a": stale, "b": bad})[1] == "ClusterKeysRefused"
    assert rotation_condition({})[0] == "Unknown"


def test_an_event_is_due_only_when_a_cluster_turns_stale_or_invalid() -> None:
    stale = Decision(InUse.STALE, NOW, "RotationStuck", "stuck")
    assert newly_stuck(stale, ("Rotating", NOW))
    assert newly_stuck(stale, None)
    assert not newly_stuck(stale, ("Stale", NOW))
    assert not newly_stuck(Decision(InUse.ROTATING, NOW, "RotationInProgress", "x"), None)


def deployment(name: str, *, env: bool = True, revision: str | None = "42", replicas: int = 1,
               updated: int = 1, generation: int = 2, observed: int = 2) -> dict[str, object]:
    """A Deployment shaped as KKP renders them (env from cloud-credentials: pkg/resources/data.go:875-903)."""
    container = {"name": "c", "env": [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": {"secretKeyRef": {
        "name": "cloud-credentials" if env else "other", "key": "accessKeyId"}}}]}
    labels = {"app": name} | ({"cloud-credentials-secret-revision": revision} if revision else {})
    return {"metadata": {"name": name, "generation": generation},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": labels},
                                                        "spec": {"containers": [container]}}},
            "status": {"observedGeneration": observed, "updatedReplicas": updated}}


def test_only_deployments_reading_the_copy_are_followed_with_their_revision_and_rollout() -> None:
    volume = deployment("usercluster-webhook", env=False)
    template = volume["spec"]["template"]  # type: ignore[index]
    template["spec"]["volumes"] = [{"name": "v", "secret": {"secretName": "cloud-credentials"}}]
    got = rollouts([deployment("machine-controller", revision="41", updated=0, replicas=2),
                    deployment("kube-apiserver", env=False), volume])
    assert got == (Rollout("machine-controller", "41", 2, 2, 2, 0), Rollout("usercluster-webhook", "42", 2, 2, 1, 1))
