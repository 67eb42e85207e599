"""kube.sources: where a check's credential comes from (a Secret with KKP's or the check's own key names, a Preset's
spec.aws, a Cluster's external ID), read the same for the operator and the CLI, with plain objects in a fake."""

from typing import Any

from credcheck.engine.model import AssumeRole, Credential, Status, Verdict
from credcheck.kube.client import ReadFailure
from credcheck.kube.sources import read_source, secret_credential
from credcheck.kube.spec import AssumeRoleSpec, CheckSpec, PresetSource, SecretSource

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROLE = "arn:aws:iam::123456789012:role/kkp"


class Reads:
    """The three reads a source takes, from plain values (absent: the client's ReadFailure words)."""

    def __init__(self, secrets: dict[tuple[str, str], dict[str, bytes]] | None = None,
                 presets: dict[str, dict[str, Any]] | None = None,
                 clusters: dict[str, dict[str, Any]] | None = None) -> None:
        self.secrets, self.presets, self.clusters = secrets or {}, presets or {}, clusters or {}

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | ReadFailure:
        found = self.secrets.get((namespace, name))
        return found if found is not None else ReadFailure("SecretNotFound", f"Secret {namespace}/{name} is gone")

    def preset(self, name: str) -> dict[str, Any] | ReadFailure:
        return self.presets.get(name) or ReadFailure("PresetNotFound", f"Preset {name} does not exist")

    def cluster(self, name: str) -> dict[str, Any] | ReadFailure:
        return self.clusters.get(name) or ReadFailure("ClusterNotFound", f"Cluster {name} cannot be read")


def kkp_secret(id_key: str = "accessKeyId", secret_key: str = "secretAccessKey") -> dict[str, bytes]:
    return {id_key: KEY_ID.encode(), secret_key: SECRET.encode()}


def cluster(secret: str = "credential-aws-abc", role: str = ROLE, external: Any = "ext-1") -> dict[str, Any]:
    return {"metadata": {"name": "abc"}, "spec": {"cloud": {"aws": {
        "credentialsReference": {"name": secret, "namespace": "kubermatic"}, "assumeRoleARN": role,
        "assumeRoleExternalID": external}}}}


def test_a_secret_with_kkps_key_names_or_the_checks_own() -> None:
    reads = Reads({("kubermatic", "kkp"): kkp_secret(), ("kubermatic", "own"): kkp_secret("id", "key")})
    assert read_source(reads, "kubermatic", CheckSpec(SecretSource("kkp"))) == (Credential(KEY_ID, SECRET), None)
    assert read_source(reads, "kubermatic", CheckSpec(SecretSource("own", "id", "key"))) == (
        Credential(KEY_ID, SECRET), None)
    wrong = read_source(reads, "kubermatic", CheckSpec(SecretSource("own")))
    assert isinstance(wrong, Verdict) and (wrong.status, wrong.reason) == (Status.INVALID, "MalformedCredential")
    gone = secret_credential(reads, "kubermatic", SecretSource("missing"))
    assert isinstance(gone, Verdict) and (gone.status, gone.reason) == (Status.INVALID, "SecretNotFound")


def test_a_secret_being_written_is_read_from_the_data_given_not_the_api() -> None:
    found = secret_credential(Reads(), "kubermatic", SecretSource("new"), kkp_secret())
    assert found == Credential(KEY_ID, SECRET)


def test_a_presets_keys_and_its_own_assume_role() -> None:
    preset = {"metadata": {"name": "team"}, "spec": {"aws": {"accessKeyID": KEY_ID, "secretAccessKey": SECRET,
                                                             "assumeRoleARN": ROLE, "assumeRoleExternalID": "ext-9"}}}
    reads = Reads(presets={"team": preset})
    assert read_source(reads, "kubermatic", CheckSpec(PresetSource("team"))) == (
        Credential(KEY_ID, SECRET), AssumeRole(ROLE, "ext-9"))
    other = "arn:aws:iam::123456789012:role/check"
    assert read_source(reads, "kubermatic", CheckSpec(PresetSource("team"), AssumeRoleSpec(other, "x-1"))) == (
        Credential(KEY_ID, SECRET), AssumeRole(other, "x-1")), "the check's own role wins"


def test_a_preset_without_aws_or_with_a_malformed_one_says_what_to_fix() -> None:
    reads = Reads(presets={"gcp": {"metadata": {"name": "gcp"}, "spec": {"gcp": {}}},
                           "odd": {"metadata": {"name": "odd"}, "spec": {"aws": ["keys"]}},
                           "bad-id": {"metadata": {"name": "bad-id"}, "spec": {"aws": {
                               "accessKeyID": KEY_ID, "secretAccessKey": SECRET, "assumeRoleARN": ROLE,
                               "assumeRoleExternalID": "x"}}}})
    none = read_source(reads, "kubermatic", CheckSpec(PresetSource("gcp")))
    assert isinstance(none, Verdict) and (none.status, none.reason) == (Status.MISCONFIGURED, "PresetHasNoAWS")
    odd = read_source(reads, "kubermatic", CheckSpec(PresetSource("odd")))
    assert isinstance(odd, Verdict) and (odd.status, odd.reason) == (Status.MISCONFIGURED, "InvalidPreset")
    assert odd.message == "Preset odd: spec.aws is a list, not an object: fix the Preset"
    bad = read_source(reads, "kubermatic", CheckSpec(PresetSource("bad-id")))
    assert isinstance(bad, Verdict) and bad.reason == "InvalidExternalID" and "'x'" not in bad.message
    gone = read_source(reads, "kubermatic", CheckSpec(PresetSource("nobody")))
    assert isinstance(gone, Verdict) and (gone.status, gone.reason) == (Status.INVALID, "PresetNotFound")


def test_the_external_id_comes_from_the_named_cluster_only_for_its_own_secret_and_role() -> None:
    spec = CheckSpec(SecretSource("credential-aws-abc"), AssumeRoleSpec(ROLE, external_id_from_cluster="abc"))
    secrets = {("kubermatic", "credential-aws-abc"): kkp_secret()}
    assert read_source(Reads(secrets, clusters={"abc": cluster()}), "kubermatic", spec) == (
        Credential(KEY_ID, SECRET), AssumeRole(ROLE, "ext-1"))
    for other in (cluster(secret="credential-aws-other"), cluster(role="arn:aws:iam::123456789012:role/other")):
        refused = read_source(Reads(secrets, clusters={"abc": other}), "kubermatic", spec)
        assert isinstance(refused, Verdict) and refused.reason == "ExternalIDUnavailable"
    odd = read_source(Reads(secrets, clusters={"abc": cluster(external=["ext-1"])}), "kubermatic", spec)
    assert isinstance(odd, Verdict) and odd.reason == "ExternalIDUnavailable"
    assert odd.message == ("Cluster abc: spec.cloud.aws.assumeRoleExternalID is a list, not a string: fix the "
                           "Cluster")
    missing = read_source(Reads(secrets), "kubermatic", spec)
    assert isinstance(missing, Verdict) and (missing.status, missing.reason) == (Status.MISCONFIGURED,
                                                                                 "ExternalIDUnavailable")
