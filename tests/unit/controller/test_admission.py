"""controller.admission: which writes the webhook judges and what a check's maker must be allowed to read (plain
values; the webhook's HTTP side is tested in test_webhook_rules.py and on the real apiserver)."""

import base64

from credcheck.controller.admission import (
    being_deleted,
    judged,
    preset_problems,
    required_access,
    secret_data,
    secret_problems,
    spec_problems,
)
from credcheck.kube.spec import AssumeRoleSpec, CheckSpec, PresetSource, SecretSource

ROLE = "arn:aws:iam::123456789012:role/kkp"


def test_a_secret_check_asks_for_its_secret_and_the_cluster_it_takes_an_external_id_from() -> None:
    spec = CheckSpec(SecretSource("credential-aws-a"), AssumeRoleSpec(ROLE, external_id_from_cluster="c1"))
    assert [(a.group, a.resource, a.name, a.namespace, a.what) for a in required_access("kubermatic", spec)] == [
        ("", "secrets", "credential-aws-a", "kubermatic", "Secret kubermatic/credential-aws-a"),
        ("kubermatic.k8c.io", "clusters", "c1", None, "Cluster c1")]
    preset = required_access("kubermatic", CheckSpec(PresetSource("team"), AssumeRoleSpec(ROLE, "given")))
    assert [(a.resource, a.name, a.namespace) for a in preset] == [("presets", "team", None)], \
        "an external ID written in the spec reads nothing"


def test_only_creates_and_changes_of_the_judged_part_are_judged() -> None:
    old = {"metadata": {"name": "a"}, "spec": {"interval": "6h"}}
    assert judged("CREATE", old, None, "spec")
    assert not judged("UPDATE", {**old, "metadata": {"labels": {"x": "y"}}}, old, "spec")
    assert judged("UPDATE", {"spec": {"interval": "1h"}}, old, "spec")
    assert not judged("DELETE", None, old, "spec")
    dying = {"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}, "spec": {"interval": "1h"}}
    assert being_deleted(dying) and not judged("UPDATE", dying, old, "spec")
    assert not judged("UPDATE", {"spec": {"aws": {}}}, {"spec": {}}, "spec.aws"), "an empty part is no part"


def test_a_secrets_data_is_read_as_it_will_be_stored() -> None:
    written = {"data": {"accessKeyId": base64.b64encode(b"AKIAIOSFODNN7EXAMPLE").decode(), "raw": "%%"},
               "stringData": {"secretAccessKey": "s3cret"}}
    assert secret_data(written) == {"accessKeyId": b"AKIAIOSFODNN7EXAMPLE", "raw": b"%%",
                                    "secretAccessKey": b"s3cret"}


def test_problems_name_the_field_never_the_value() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    problems = secret_problems({"accessKeyId": secret.encode(), "secretAccessKey": b"AKIAIOSFODNN7EXAMPLE"})
    assert problems and not any(secret in p or "AKIAIOSFODNN7EXAMPLE" in p for p in problems)
    assert preset_problems(preset({"accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": secret,
                                   "assumeRoleARN": "kkp"})) == ["spec.aws.assumeRoleARN 'kkp' is not an IAM role ARN"]
    assert preset_problems(preset({})) == [], "a Preset without AWS keys is not judged"


def preset(aws: object) -> dict[str, object]:
    return {"metadata": {"name": "team-a"}, "spec": {"aws": aws}}


def test_a_preset_whose_spec_aws_is_not_an_object_is_a_problem_naming_the_field_not_a_skip() -> None:
    assert preset_problems(preset("AKIAIOSFODNN7EXAMPLE")) == ["Preset team-a: spec.aws is a string, not an object"]
    assert preset_problems(preset({"accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x" * 40,
                                   "assumeRoleARN": 7})) == ["spec.aws.assumeRoleARN '7' is not an IAM role ARN"]


def test_a_checks_spec_problems_are_the_spec_parsers() -> None:
    assert spec_problems({"source": {"secretRef": {"name": "a"}}}, None) == []
    assert spec_problems({"source": {}, "region": "x"}, None) == [
        "spec.source needs exactly one of secretRef and presetRef", "spec.region 'x' is not an AWS region name"]
