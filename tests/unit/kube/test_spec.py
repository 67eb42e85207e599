"""kube.spec: a check's spec parsed once, with the webhook's rules as its parse errors (plain values)."""

from typing import Any

import pytest

from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.engine.target import Target
from credcheck.kube.contract import ANNOTATION_CLUSTERS, ANNOTATION_PROBLEM, LABEL_DISCOVERED
from credcheck.kube.spec import (
    AssumeRoleSpec,
    CheckSpec,
    PresetSource,
    Requirements,
    SecretSource,
    SpecProblem,
    new_problems,
    parse_check,
    parse_spec,
)

ROLE = "arn:aws:iam::123456789012:role/kkp"
FULL: dict[str, Any] = {
    "source": {"secretRef": {"name": "credential-aws-a", "accessKeyIdKey": "id", "secretAccessKeyKey": "secret"}},
    "assumeRole": {"roleARN": ROLE, "externalIDFrom": {"cluster": "c1"}},
    "requirements": {"profile": "kkp-2.30", "upgradeProfile": "kkp-2.31", "includeRecommended": True,
                     "skipFeatures": ["eks", "control-plane-role"]},
    "region": "eu-west-1", "interval": "1h30m", "suspend": True,
    "clusters": [{"name": "c1", "region": "eu-central-1", "kubernetesVersion": "1.34.2", "roleARN": "cp",
                  "disableIAMReconciling": True}, "not an entry"],
}


def reasons(parsed: CheckSpec | list[SpecProblem]) -> list[str]:
    assert isinstance(parsed, list), f"expected problems, got {parsed}"
    return [p.reason for p in parsed]


def test_every_field_is_read_into_its_typed_place() -> None:
    spec = parse_spec(FULL, BUILTIN)
    assert spec == CheckSpec(
        SecretSource("credential-aws-a", access_key_id_key="id", secret_access_key_key="secret"),
        AssumeRoleSpec(ROLE, None, "c1"),
        Requirements("kkp-2.30", "kkp-2.31", True, ("control-plane-role", "eks")),
        region="eu-west-1", interval="1h30m", interval_seconds=5400.0,
        clusters=(Target(cluster="c1", region="eu-central-1", kubernetes_version="1.34.2", control_plane_role="cp",
                         disable_iam_reconciling=True),),
        suspend=True)


@pytest.mark.parametrize("spec", [
    CheckSpec(SecretSource("s")),
    CheckSpec(PresetSource("team"), requirements=Requirements(profile="kkp"), interval="6h", interval_seconds=21600),
    CheckSpec(SecretSource("s", "id", "key"), AssumeRoleSpec(ROLE, "ext-1"), Requirements("kkp", None, False, ("eks",)),
              region="us-east-1", clusters=(Target(cluster="a", datacenter="aws-fra", vpc_id="vpc-1"),), suspend=True),
])
def test_what_discovery_writes_reads_back_equal(spec: CheckSpec) -> None:
    assert parse_spec(spec.to_manifest(), BUILTIN) == spec


def test_a_secrets_spec_always_names_its_clusters_so_a_merge_patch_drops_old_ones() -> None:
    assert CheckSpec(SecretSource("s")).to_manifest()["clusters"] == []
    assert "clusters" not in CheckSpec(PresetSource("p")).to_manifest()


@pytest.mark.parametrize(("change", "reason"), [
    ({"source": {}}, "InvalidSource"),
    ({"source": {"secretRef": {"name": "a"}, "presetRef": {"name": "b"}}}, "InvalidSource"),
    ({"source": {"secretRef": {}}}, "InvalidSource"),
    ({"assumeRole": {"roleARN": "kkp"}}, "InvalidAssumeRoleARN"),
    ({"assumeRole": {"roleARN": ROLE, "externalID": "x"}}, "InvalidExternalID"),
    ({"assumeRole": {"roleARN": ROLE, "externalID": "abc", "externalIDFrom": {"cluster": "c"}}}, "InvalidExternalID"),
    ({"requirements": {"profile": "kkp-1.0"}}, "InvalidProfile"),
    ({"requirements": {"upgradeProfile": "configmap:Bad_Name"}}, "InvalidProfile"),
    ({"interval": "6 hours"}, "InvalidInterval"),
    ({"interval": "1m"}, "InvalidInterval"),
    ({"interval": "200h"}, "InvalidInterval"),
    ({"region": "Frankfurt"}, "InvalidRegion"),
])
def test_each_broken_rule_is_a_problem_with_its_own_reason(change: dict[str, Any], reason: str) -> None:
    assert reasons(parse_spec({"source": {"secretRef": {"name": "s"}}, **change}, BUILTIN)) == [reason]


def test_messages_tell_the_admin_what_to_write() -> None:
    problems = parse_spec({"source": {"secretRef": {"name": "s"}}, "interval": "2m", "region": "x"}, BUILTIN)
    assert isinstance(problems, list)
    assert [p.message for p in problems] == ["spec.interval '2m' is out of range: use 5m to 168h",
                                             "spec.region 'x' is not an AWS region name"]


def test_only_the_problems_a_change_brings_count_the_stored_ones_are_ratcheted() -> None:
    stored = {"source": {"secretRef": {"name": "s"}}, "interval": "1m"}
    assert new_problems({**stored, "region": "eu-west-1"}, stored, BUILTIN) == []
    assert [p.reason for p in new_problems({**stored, "region": "nowhere"}, stored, BUILTIN)] == ["InvalidRegion"]
    assert [p.reason for p in new_problems(stored, None, BUILTIN)] == ["InvalidInterval"]


def test_a_stored_check_carries_discoverys_marks_and_a_clusters_unusable_role_as_a_problem() -> None:
    body = {"metadata": {"namespace": "kubermatic", "name": "credential-aws-a", "generation": 4,
                         "labels": {LABEL_DISCOVERED: "true"},
                         "annotations": {ANNOTATION_CLUSTERS: "c1,c2", ANNOTATION_PROBLEM: "Cluster c1: fix it"}},
            "spec": {"source": {"secretRef": {"name": "credential-aws-a"}}, "interval": "6h"}}
    check = parse_check(body, BUILTIN)
    assert (check.namespace, check.name, check.generation) == ("kubermatic", "credential-aws-a", 4)
    assert check.discovered and check.used_by == ("c1", "c2")
    assert check.problems == (SpecProblem("InvalidAssumeRoleARN", "Cluster c1: fix it"),)
    assert check.spec is not None and check.spec.interval_seconds == 21600, "the spec is still read"
    plain = parse_check({"metadata": {"name": "x", "namespace": "n"}, "spec": {"source": {}}}, BUILTIN)
    assert plain.spec is None and not plain.discovered and [p.reason for p in plain.problems] == ["InvalidSource"]
