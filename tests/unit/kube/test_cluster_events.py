"""Which Events on KKP Clusters a new status calls for, with what words, and whether to write them
(kube.cluster_events). Statuses written by hand as kube.status writes them; expected words written here."""

from datetime import UTC, datetime, timedelta
from typing import Any

from credcheck.kube.check_status import CheckStatus
from credcheck.kube.cluster_events import (
    NAMESPACE,
    ClusterEvent,
    decide,
    fixed_since,
    manifest,
    update,
    warning_names,
    write_plan,
)

NOW = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


def status(valid: str, sufficient: str, reason: str, clusters: list[dict[str, Any]],
           features: list[dict[str, Any]] | None = None) -> CheckStatus:
    ready = "True" if valid == sufficient == "True" else "False"
    return CheckStatus.from_dict({"conditions": [{"type": "CredentialsValid", "status": valid, "reason": reason},
                           {"type": "PermissionsSufficient", "status": sufficient, "reason": reason},
                           {"type": "Ready", "status": ready, "reason": reason}],
            "clusters": clusters, "brokenFeatures": features or []})


MISSING = status("True", "False", "MissingPermissions",
                 [{"name": "tenanta1", "ready": "False", "missing": ["ec2:RunInstances", "iam:PassRole"]},
                  {"name": "tenantb2", "ready": "True"}],
                 [{"feature": "machines", "missing": ["ec2:RunInstances", "iam:PassRole"]},
                  {"feature": "load-balancers", "missing": ["elasticloadbalancing:CreateLoadBalancer"]}])
READY = status("True", "True", "AllRequiredAllowed",
               [{"name": "tenanta1", "ready": "True"}, {"name": "tenantb2", "ready": "True"}])


def test_missing_permissions_warn_only_the_cluster_they_break_in_words_a_project_member_can_act_on() -> None:
    events = [e for e in decide(MISSING) if e.type == "Warning"]
    assert events == [ClusterEvent(
        "tenanta1", "Warning", "CredentialMissingPermissions",
        "The cloud credential this cluster uses lacks AWS permissions KKP needs: machines will fail for this cluster "
        "(AWS denies ec2:RunInstances, iam:PassRole). Ask your platform admin to grant them to the cluster's AWS "
        "credential.")]
    assert "tenantb2" not in events[0].message  # never another Cluster's name


def test_an_invalid_credential_warns_every_cluster_using_it() -> None:
    invalid = status("False", "Unknown", "InvalidCredentials", [{"name": "c1"}, {"name": "c2"}])
    events = decide(invalid)
    assert [(e.cluster, e.type, e.reason) for e in events] == [("c1", "Warning", "CredentialInvalid"),
                                                                ("c2", "Warning", "CredentialInvalid")]
    assert events[0].message == (
        "AWS rejects the cloud credential this cluster uses (InvalidCredentials): KKP cannot create, change or delete "
        "its machines, load balancers and volumes until the credential is replaced. Ask your platform admin to put a "
        "valid AWS key pair into this cluster's credential.")


def test_ready_clusters_are_normal_candidates_and_unknown_says_nothing() -> None:
    fixed = ClusterEvent("tenanta1", "Normal", "CredentialReady",
                         "The cloud credential this cluster uses can again do what KKP needs in AWS.")
    assert decide(READY) == [fixed, ClusterEvent("tenantb2", "Normal", "CredentialReady", fixed.message)]
    assert [e.type for e in decide(MISSING)] == ["Warning", "Normal"]  # tenantb2 is fine in MISSING
    unknown = CheckStatus.from_dict({"conditions": [{"type": "Ready", "status": "Unknown",
                                                     "reason": "SimulationNotPermitted"}],
                                     "clusters": [{"name": "tenanta1"}]})
    assert decide(unknown) == []  # not verified: neither broken nor fixed


def test_the_normal_event_is_posted_once_after_a_warning_and_never_for_a_cluster_never_broken() -> None:
    assert warning_names("c") == ["c.credcheck.credentialinvalid", "c.credcheck.credentialmissingpermissions"]
    warned = {"lastTimestamp": "2026-12-06T07:00:00Z"}
    assert not fixed_since([None, None], None), "never broken: no Event at all"
    assert fixed_since([None, warned], None)
    assert not fixed_since([None, warned], {"lastTimestamp": "2026-12-06T07:05:00Z"}), "said already"
    assert fixed_since([warned, {"lastTimestamp": "2026-12-06T08:00:00Z"}], {"lastTimestamp": "2026-12-06T07:05:00Z"})


def test_long_action_lists_are_cut_to_ten_and_counted() -> None:
    actions = [f"ec2:Action{i:02d}" for i in range(14)]
    many = status("True", "False", "MissingPermissions", [{"name": "c", "ready": "False", "missing": actions}],
                  [{"feature": "machines", "missing": actions}])
    assert "ec2:Action09 and 4 more)" in decide(many)[0].message
    assert "ec2:Action10" not in decide(many)[0].message


def test_one_event_per_cluster_and_reason_updated_not_multiplied() -> None:
    event = decide(MISSING)[0]
    assert event.type == "Warning"
    assert event.name == "tenanta1.credcheck.credentialmissingpermissions"
    made = manifest(event, "uid-1", NOW)
    assert made["metadata"]["namespace"] == NAMESPACE == "default"
    assert made["involvedObject"] == {"apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "name": "tenanta1",
                                      "uid": "uid-1"}
    assert made["count"] == 1 and made["firstTimestamp"] == made["lastTimestamp"] == "2026-12-06T07:00:00Z"
    assert write_plan(event, None, NOW) == "create"
    # the same words again within 5 minutes: left alone; later: one more occurrence on the same Event
    assert write_plan(event, made, NOW + timedelta(minutes=4)) == "skip"
    assert write_plan(event, made, NOW + timedelta(minutes=6)) == "update"
    assert update(event, made, NOW + timedelta(minutes=6)) == {
        "type": "Warning", "message": event.message, "count": 2, "lastTimestamp": "2026-12-06T07:06:00Z"}
    # other words (other actions missing) are written at once
    changed = ClusterEvent(event.cluster, event.type, event.reason, event.message + " x")
    assert write_plan(changed, made, NOW + timedelta(seconds=1)) == "update"
