"""kube.kkp, the one reader of KKP's objects, on plain dicts: what it reads from good objects (the field names are
KKP's: kubermatic/kubermatic@v2.31.0:sdk/apis/kubermatic/v1/cluster.go:1525-1556, preset.go:289-304,
external_cluster.go:256-266, datacenter.go:299, 842-845), what absent fields give, and precise errors for fields of
the wrong type."""

from typing import Any

import pytest

from credcheck.engine.target import Target
from credcheck.kube.kkp import (
    ImportedEKS,
    KKPCluster,
    KKPObjectError,
    cluster_kkp_versions,
    control_plane,
    preset_aws,
    read_cluster,
    read_external_cluster,
    seed_kkp_version,
    seed_regions,
)

REF = {"name": "credential-aws-abc", "namespace": "kubermatic"}


def cluster(aws: Any, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "abc", "generation": 3}, "spec": {"cloud": {"dc": "aws-fra", "aws": aws}, **spec}}


# --- Cluster ---

def test_a_clusters_aws_spec_reads_into_one_target_and_kkps_own_settings() -> None:
    found = read_cluster(cluster({
        "credentialsReference": REF, "assumeRoleARN": "arn:aws:iam::1:role/r", "assumeRoleExternalID": "e",
        "disableIAMReconciling": True, "roleARN": "cp", "instanceProfileName": "", "securityGroupID": "sg-1",
        "vpcID": "vpc-1"}, version="1.34.2"))
    assert found == KKPCluster(
        Target(cluster="abc", datacenter="aws-fra", kubernetes_version="1.34.2", control_plane_role="cp",
               security_group_id="sg-1", vpc_id="vpc-1", disable_iam_reconciling=True),
        ("kubermatic", "credential-aws-abc"), "arn:aws:iam::1:role/r", "e", generation="3")
    assert found.name == "abc"
    assert found.target.region is None, "the region is the Seed's datacenter's to tell"
    assert found.target.assume_role_arn is None, "the check's assume-role is the engine's to set"


def test_a_cluster_of_another_provider_or_without_a_secret_is_none_unless_no_reference_is_needed() -> None:
    assert read_cluster({"metadata": {"name": "x"}, "spec": {"cloud": {"openstack": {}}}}) is None
    assert read_cluster({"spec": {"cloud": {"aws": {}}}}) is None, "no credentialsReference: not discovery's"
    assert read_cluster({"spec": {"cloud": {"aws": {"credentialsReference": {"name": "s"}}}}}) is None, "no namespace"
    manifest = read_cluster({"spec": {"cloud": {"aws": {}}}}, require_reference=False)
    assert manifest == KKPCluster(Target(), None), "a manifest for the CLI: every field absent"
    assert read_cluster({}) is None and read_cluster({"spec": None}) is None


@pytest.mark.parametrize(("obj", "message"), [
    (cluster({"credentialsReference": "credential-aws-abc"}),
     "Cluster abc: spec.cloud.aws.credentialsReference is a string, not an object"),
    (cluster({"credentialsReference": REF, "disableIAMReconciling": "yes"}),
     "Cluster abc: spec.cloud.aws.disableIAMReconciling is a string, not true or false"),
    (cluster({"credentialsReference": REF, "roleARN": ["cp"]}),
     "Cluster abc: spec.cloud.aws.roleARN is a list, not a string"),
    (cluster({"credentialsReference": {"name": {"n": 1}, "namespace": "kubermatic"}}),
     "Cluster abc: spec.cloud.aws.credentialsReference.name is an object, not a string"),
    ({"metadata": {"name": "abc"}, "spec": {"cloud": []}}, "Cluster abc: spec.cloud is a list, not an object"),
    ({"metadata": {"name": "abc"}, "spec": "x"}, "Cluster abc: spec is a string, not an object"),
    ({"metadata": []}, "Cluster metadata is a list, not an object"),
    ({"metadata": {"name": "abc"}, "spec": {"cloud": {"aws": {}}}, "status": {"conditions": "Ready"}},
     "Cluster abc: status.conditions is a string, not an object"),
])
def test_a_cluster_field_of_the_wrong_type_is_a_precise_error_naming_the_field(obj: dict[str, Any],
                                                                               message: str) -> None:
    with pytest.raises(KKPObjectError) as raised:
        read_cluster(obj, require_reference=False)
    assert str(raised.value) == message


def test_the_newest_kkp_version_a_clusters_conditions_report_map_or_list() -> None:
    by_type = {"status": {"conditions": {"A": {"kubermaticVersion": "v2.31.9"}, "B": {"kubermaticVersion": "v2.32.0"},
                                         "C": {"status": "True"}}}}
    assert cluster_kkp_versions(by_type) == ("v2.31.9", "v2.32.0")
    assert cluster_kkp_versions({"status": {"conditions": [{"kubermaticVersion": "v2.30.1"}, "odd"]}}) == ("v2.30.1",)
    assert cluster_kkp_versions({}) == ()
    found = read_cluster({**cluster({"credentialsReference": REF}), **by_type})
    assert found is not None and found.kkp_version == "v2.32.0"


def test_a_clusters_control_plane_namespace_pause_uid_and_preset() -> None:
    found = control_plane({"metadata": {"name": "abc", "uid": "u-1", "annotations": {"presetName": "team"}},
                           "spec": {"pause": True}, "status": {"namespaceName": "cluster-abc-x"}})
    assert (found.namespace, found.paused, found.uid, found.preset) == ("cluster-abc-x", True, "u-1", "team")
    bare = control_plane({"metadata": {"name": "abc"}})
    assert (bare.namespace, bare.paused, bare.uid, bare.preset) == ("cluster-abc", False, "", None)
    with pytest.raises(KKPObjectError, match=r"^Cluster abc: spec.pause is a string, not true or false$"):
        control_plane({"metadata": {"name": "abc"}, "spec": {"pause": "true"}})


# --- Seed ---

def test_a_seeds_aws_datacenters_give_their_regions_others_are_left_out() -> None:
    seed = {"metadata": {"name": "europe"}, "spec": {"datacenters": {
        "aws-fra": {"spec": {"aws": {"region": "eu-central-1"}}}, "os-x": {"spec": {"openstack": {}}},
        "empty": None}}, "status": {"versions": {"kubermatic": "v2.31.0"}}}
    assert seed_regions(seed) == {"aws-fra": "eu-central-1"}
    assert seed_kkp_version(seed) == "v2.31.0"
    assert seed_regions({}) == {} and seed_kkp_version({}) is None
    with pytest.raises(KKPObjectError, match=r"^Seed europe: datacenter aws-fra: spec.aws is a list, not an object$"):
        seed_regions({"metadata": {"name": "europe"}, "spec": {"datacenters": {"aws-fra": {"spec": {"aws": []}}}}})
    with pytest.raises(KKPObjectError, match=r"^Seed europe: spec.datacenters is a list, not an object$"):
        seed_regions({"metadata": {"name": "europe"}, "spec": {"datacenters": ["aws-fra"]}})


# --- Preset ---

def test_a_presets_aws_spec_its_keys_as_data_never_in_its_repr() -> None:
    found = preset_aws({"metadata": {"name": "team"}, "spec": {"aws": {
        "accessKeyID": "AKIAEXAMPLEEXAMPLE00", "secretAccessKey": "s" * 40, "assumeRoleARN": "arn:aws:iam::1:role/r",
        "assumeRoleExternalID": "e-1", "isCustomizable": True}}})
    assert found is not None
    assert found.data == {"accessKeyID": b"AKIAEXAMPLEEXAMPLE00", "secretAccessKey": b"s" * 40,
                          "assumeRoleARN": b"arn:aws:iam::1:role/r", "assumeRoleExternalID": b"e-1"}
    assert (found.assume_role_arn, found.external_id) == ("arn:aws:iam::1:role/r", "e-1")
    assert "AKIA" not in repr(found) and "sss" not in repr(found)
    assert preset_aws({"spec": {"aws": {}}}) is None and preset_aws({"spec": {"gcp": {}}}) is None
    with pytest.raises(KKPObjectError, match=r"^Preset team: spec.aws is a string, not an object$"):
        preset_aws({"metadata": {"name": "team"}, "spec": {"aws": "keys"}})
    with pytest.raises(KKPObjectError, match=r"^Preset team: spec.aws.assumeRoleARN is a list, not a string$"):
        preset_aws({"metadata": {"name": "team"}, "spec": {"aws": {"assumeRoleARN": ["a"]}}})


# --- ExternalCluster ---

def test_an_imported_eks_clusters_name_region_and_secret() -> None:
    external = {"metadata": {"name": "ext-1"}, "spec": {"cloudSpec": {"eks": {
        "name": "prod-eks", "region": "eu-west-1", "credentialsReference": REF}}}}
    assert read_external_cluster(external) == ImportedEKS("ext-1", "prod-eks", "eu-west-1",
                                                          ("kubermatic", "credential-aws-abc"))
    assert read_external_cluster({"metadata": {"name": "g"}, "spec": {"cloudSpec": {"gke": {}}}}) is None
    assert read_external_cluster({"metadata": {"name": "e"}, "spec": {"cloudSpec": {"eks": {}}}}) == ImportedEKS("e")
    with pytest.raises(KKPObjectError, match=r"^ExternalCluster e: spec.cloudSpec.eks.region is a boolean, not a"):
        read_external_cluster({"metadata": {"name": "e"}, "spec": {"cloudSpec": {"eks": {"region": True}}}})
