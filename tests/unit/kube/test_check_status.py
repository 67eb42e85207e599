"""The typed status (kube.check_status): what to_dict writes reads back the same, a status of an older version or a
hand-edited one parses, and the CRD's status schema declares every field the type can write. Plain values."""

from pathlib import Path
from typing import Any

import yaml

from credcheck.kube.check_status import (
    AccessKey,
    ActionEntry,
    BrokenFeature,
    CheckStatus,
    ClusterStatus,
    Condition,
    Denial,
    ExcessPermission,
    KeyFinding,
    Keys,
    ObservedDenials,
    Principal,
    RoleRemediation,
    Summary,
    Upgrade,
)

ROOT = Path(__file__).resolve().parents[3]
CRD = ROOT / "deploy" / "helm" / "credcheck" / "crds" / "awscredentialchecks.credcheck.io.yaml"
ACTION = ActionEntry("iam:PassRole", "arn:aws:iam::1:role/x", "implicitDeny", "required", ("machines",), "c1",
                     "keys", "machines run as the role", ("aws:SourceVpc",), ("p#1",))

# every field set, nested ones too: what to_dict writes of it is every path the status can have
FULL = CheckStatus(
    verdict="Insufficient", observed_generation=3,
    conditions=(Condition("Ready", "False", "MissingPermissions", "m", "2026-12-06T12:00:00Z", 3),),
    principal=Principal("arn:aws:iam::1:user/kkp", "1", "user", "arn:aws:iam::1:user/kkp", "aws"),
    access_key_id="AKIA************ABCD", profile="kkp", kkp_version="2.31", simulated_by="self",
    summary=Summary(4, 1, 2, 1, 0), broken_features=(BrokenFeature("machines", ("iam:PassRole",)),),
    missing=(ACTION,), remediation_policy="{}", role_remediation=(RoleRemediation("arn:aws:iam::1:role/cp", "{}"),),
    blockers=("an SCP denies it",), findings=("a finding",), last_check_time="2026-12-06T12:00:00Z",
    next_check_time="2026-12-06T18:00:00Z", consecutive_failures=1,
    clusters=(ClusterStatus("c1", "False", "eu-central-1", "1.34", "assume-role (CCM v1.34.0)", ("iam:PassRole",),
                            ("ec2:RunInstances",), ("a note",), "Stale", "2026-12-06T11:00:00Z", "RotationStuck",
                            "behind", "False", "will hang", ("roleARN is not an ARN",)),),
    upgrade=Upgrade("kkp-2.32", "2.32", 1, (ACTION,), "{}"),
    observed_denials=ObservedDenials("Observed", "1 refused", 24, ("eu-central-1",),
                                     (Denial("ec2:RunInstances", 3, "2026-12-06T10:00:00Z", "eu-central-1",
                                             "AccessDenied"),)),
    keys=Keys("Read", "m", "kkp", "self", ("iam:ListAccessKeys",),
              AccessKey("AKIA************ABCD", "Active", "2026-01-01T00:00:00Z", 339, "2026-12-06T10:00:00Z", None,
                        "ec2", "eu-central-1", "2026-12-01T00:00:00Z"),
              (AccessKey("AKIA************WXYZ", "Inactive", never_used=True),), (KeyFinding("OldKey", "old"),)),
    excess_permissions=(ExcessPermission("iam:CreateUser", "*", ("IAMFullAccess",)),),
    least_privilege_policy="{}", aws_calls={"iam:SimulatePrincipalPolicy": 1},
)


def test_a_full_status_reads_back_as_written() -> None:
    assert CheckStatus.from_dict(FULL.to_dict()) == FULL


def test_the_written_names_are_the_ones_kubectl_users_and_the_runbook_read() -> None:
    written = FULL.to_dict()
    assert written["clusters"][0]["credentialInUseSince"] == "2026-12-06T11:00:00Z"
    assert written["keys"]["current"]["inSecretSince"] == "2026-12-01T00:00:00Z"
    assert written["missing"][0]["missingContextKeys"] == ["aws:SourceVpc"]
    assert written["conditions"][0]["lastTransitionTime"] == "2026-12-06T12:00:00Z"
    assert written["observedDenials"]["windowHours"] == 24


def test_an_empty_status_writes_null_for_what_it_lacks_so_a_merge_patch_removes_it() -> None:
    written = CheckStatus().to_dict()
    assert written["keys"] is None and written["principal"] is None and written["leastPrivilegePolicy"] is None
    assert CheckStatus.from_dict(written) == CheckStatus()


def test_list_entries_leave_out_what_they_do_not_say() -> None:
    written = CheckStatus(clusters=(ClusterStatus("c1"),)).to_dict()
    assert written["clusters"] == [{"name": "c1"}]


def test_a_status_of_an_older_version_parses() -> None:
    """As credcheck wrote it before the type existed: principal with three keys, no verdict, no roleRemediation,
    unknown fields (kopf's own) and a Cluster entry without a per-Cluster verdict."""
    old: dict[str, Any] = {
        "observedGeneration": 2, "kopf": {"progress": {}},
        "conditions": [{"type": "Ready", "status": "True", "reason": "AllRequiredAllowed", "message": "ok",
                        "lastTransitionTime": "2026-11-01T00:00:00Z", "observedGeneration": 2}],
        "principal": {"arn": "arn:aws:iam::1:user/kkp", "account": "1", "type": "user"},
        "summary": {"checked": 3, "allowed": 3, "missingRequired": 0, "missingRecommended": 0},
        "clusters": [{"name": "c1"}], "remediationPolicy": None, "consecutiveFailures": 0}
    status = CheckStatus.from_dict(old)
    assert status.verdict is None and status.role_remediation == ()
    assert status.ready == Condition("Ready", "True", "AllRequiredAllowed", "ok", "2026-11-01T00:00:00Z", 2)
    assert status.principal == Principal("arn:aws:iam::1:user/kkp", "1", "user")
    assert status.summary == Summary(3, 3, 0, 0, 0), "a count it did not write: 0"
    assert status.clusters == (ClusterStatus("c1"),) and status.cluster("c1") == ClusterStatus("c1")
    assert "kopf" not in status.to_dict()


def test_wrong_types_and_broken_entries_fall_back_instead_of_failing() -> None:
    status = CheckStatus.from_dict({
        "conditions": [{"type": "Ready", "status": "False"}, {"status": "True"}, "not an object"],
        "clusters": "not a list", "consecutiveFailures": "three", "summary": {"checked": "7"},
        "keys": {"user": "no state"}, "principal": ["not", "an", "object"], "verdict": 5,
        "excessPermissions": [{"action": "iam:CreateUser", "allowedBy": "IAMFullAccess"}]})
    assert [c.type for c in status.conditions] == ["Ready"], "a condition without a type cannot stand: left out"
    assert status.clusters == () and status.consecutive_failures == 0 and status.summary == Summary(checked=7)
    assert status.keys is None and status.principal is None and status.verdict == "5"
    assert status.excess_permissions == (ExcessPermission("iam:CreateUser"),)
    assert CheckStatus.from_dict(None) == CheckStatus()


def test_with_conditions_replaces_by_type_and_adds_new_ones_at_the_end() -> None:
    status = CheckStatus(conditions=(Condition("Ready", "True"), Condition("RotationComplete", "False")))
    changed = status.with_conditions([Condition("RotationComplete", "True"), Condition("DiscoveryConflict", "True")])
    assert [(c.type, c.status) for c in changed.conditions] == [
        ("Ready", "True"), ("RotationComplete", "True"), ("DiscoveryConflict", "True")]


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every field path of a written status ("clusters[].credentialInUse"); a map's own keys (awsCalls) are data."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            if key != "awsCalls":
                out |= _paths(inner, path)
    elif isinstance(value, list):
        for item in value:
            out |= _paths(item, f"{prefix}[]")
    return out


def _declared(schema: dict[str, Any], path: str) -> bool:
    node = schema
    for part in path.split("."):
        is_list = part.endswith("[]")
        properties = node.get("properties") or {}
        if part.removesuffix("[]") not in properties:
            return False
        node = properties[part.removesuffix("[]")]
        if is_list:
            node = node.get("items") or {}
    return True


def test_the_crd_status_schema_declares_every_field_the_typed_status_writes() -> None:
    """Derived from a full CheckStatus, not listed by hand: a field added to the type and not to the CRD fails here
    (the apiserver would prune it, and `kubectl explain` would know nothing of it)."""
    crd = yaml.safe_load(CRD.read_text())
    status = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    assert not status.get("x-kubernetes-preserve-unknown-fields"), "the status as a whole is declared"
    written = _paths(FULL.to_dict())
    assert len(written) > 90
    assert sorted(p for p in written if not _declared(status, p)) == []
