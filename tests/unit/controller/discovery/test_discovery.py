import json

import pytest

from credcheck.controller.discovery.desired import desired_for_preset, desired_for_secret, needs_update
from credcheck.controller.discovery.kkp import is_credential_secret, merge_uses
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.engine.target import Target
from credcheck.kube.kkp import ImportedEKS, KKPCluster, read_cluster, read_external_cluster, seed_regions
from credcheck.kube.spec import CheckSpec, parse_spec


def use(cluster: str, role: str | None = None, ext: str | None = None, disable: bool = False,
        generation: str | None = None) -> KKPCluster:
    return KKPCluster(Target(cluster=cluster, disable_iam_reconciling=disable), ("kubermatic", "credential-aws-x"),
                      role, ext, generation)


def test_a_clusters_entry_takes_the_region_from_the_seeds_datacenter() -> None:
    found = read_cluster({"metadata": {"name": "abc"}, "spec": {"version": "1.34.2", "cloud": {"dc": "aws-fra", "aws": {
        "credentialsReference": {"name": "s", "namespace": "kubermatic"}, "roleARN": "cp"}}}})
    assert found is not None
    seed = {"spec": {"datacenters": {"aws-fra": {"spec": {"aws": {"region": "eu-central-1"}}},
                                     "os-x": {"spec": {"openstack": {}}}}}}
    assert merge_uses([found], seed_regions(seed)).clusters == (Target(
        cluster="abc", datacenter="aws-fra", region="eu-central-1", kubernetes_version="1.34.2",
        control_plane_role="cp"),)
    assert merge_uses([found], {}).clusters[0].region is None, "an unknown datacenter leaves the region to the check"


def test_external_eks_clusters_secret() -> None:
    assert merge_uses([], eks=True).profile == "eks"
    assert merge_uses([use("a")], eks=True).profile is None, "a Cluster's use decides"


def test_an_imported_eks_clusters_name_and_region_become_the_checks_cluster_entry() -> None:
    """issue 31 (5): the EKS profile's ARNs are asked on the EKS cluster KKP manages (cloudSpec.eks.name, region),
    not on cluster/*."""
    external = {"metadata": {"name": "ext-1"}, "spec": {"cloudSpec": {"eks": {
        "name": "prod-eks", "region": "eu-west-1",
        "credentialsReference": {"name": "credential-aws-e1", "namespace": "kubermatic"}}}}}
    found = read_external_cluster(external)
    assert found is not None
    settings = merge_uses([], eks=[found, ImportedEKS("ext-2")])
    assert settings.profile == "eks"
    assert settings.clusters == (Target(cluster="prod-eks", region="eu-west-1"),)


def test_which_secrets_are_credentials() -> None:
    assert is_credential_secret("kubermatic", "credential-aws-abc", referenced=False)
    assert is_credential_secret("kubermatic", "shared-aws", referenced=True)
    assert not is_credential_secret("kubermatic", "credential-gcp-abc", referenced=False)
    assert not is_credential_secret("cluster-abc", "cloud-credentials", referenced=True), "KKP's copy"


def test_merge_uses() -> None:
    assert merge_uses([]).assume_role_arn is None
    merged = merge_uses([use("b", "arn:aws:iam::1:role/b", disable=True), use("a", "arn:aws:iam::1:role/a")])
    assert merged.assume_role_arn == "arn:aws:iam::1:role/a" and merged.names == ("a", "b")
    assert merged.note is not None and "different assume-role settings" in merged.note
    assert merged.clusters == (Target(cluster="a"), Target(cluster="b", disable_iam_reconciling=True)), \
        "IAM reconciling is a per-Cluster setting"


def test_desired_check_and_updates() -> None:
    role = "arn:aws:iam::111122223333:role/r"
    desired = desired_for_secret("kubermatic", "credential-aws-X_1", resource_version="42",
                                 uses=merge_uses([use("a", role, "e")]), profile="kkp", interval="6h")
    assert desired["metadata"]["name"] == "credential-aws-x-1-fa682b95", "a name a check cannot have: hashed"
    assert desired["metadata"]["labels"]["credcheck.io/discovered"] == "true"
    assert desired["spec"]["assumeRole"] == {"roleARN": role, "externalIDFrom": {"cluster": "a"}}
    assert desired["metadata"]["annotations"]["credcheck.io/clusters"] == "a"
    current = {"metadata": {"annotations": {"credcheck.io/source-version": "42", "credcheck.io/clusters": "a",
                                            "credcheck.io/source-problem": "",
                                            "credcheck.io/external-id-from": "a@"}},
               "spec": {"source": {"secretRef": {"name": "credential-aws-X_1", "accessKeyIdKey": "accessKeyId"}},
                        "assumeRole": {"roleARN": role, "externalIDFrom": {"cluster": "a"}},
                        "requirements": {"profile": "kkp", "skipFeatures": []}, "interval": "6h", "suspend": False,
                        "clusters": [{"name": "a"}]}}
    assert not needs_update(current, desired), "API defaults don't count as a difference"
    rotated = {**current, "metadata": {"annotations": {**current["metadata"]["annotations"],
                                                       "credcheck.io/source-version": "43"}}}
    assert needs_update(rotated, desired)
    no_role = {**current, "spec": {**current["spec"], "assumeRole": None}}
    assert needs_update(no_role, desired)


def test_a_malformed_cluster_role_arn_becomes_a_reported_problem() -> None:
    desired = desired_for_secret("kubermatic", "credential-aws-x", resource_version="1",
                                 uses=merge_uses([use("c9", "not-an-arn", "e")]), profile="kkp", interval="6h")
    assert "assumeRole" not in desired["spec"], "the CRD would refuse the write"
    problem = desired["metadata"]["annotations"]["credcheck.io/source-problem"]
    assert problem.startswith("Cluster c9: spec.cloud.aws.assumeRoleARN 'not-an-arn' is not an IAM role ARN")


def test_the_external_id_stays_in_the_cluster_and_its_generation_re_checks() -> None:
    role = "arn:aws:iam::111122223333:role/r"
    secret = "hunter2-external-id-of-the-cluster"
    first = use("a", role, secret, generation="3")
    desired = desired_for_secret("kubermatic", "credential-aws-x", resource_version="1", uses=merge_uses([first]),
                                 profile="kkp", interval="6h")
    assert secret not in json.dumps(desired), "discovery writes where to read the external ID, never the ID"
    assert desired["metadata"]["annotations"]["credcheck.io/external-id-from"] == "a@3"
    changed = use("a", role, "another-id", generation="4")
    again = desired_for_secret("kubermatic", "credential-aws-x", resource_version="1", uses=merge_uses([changed]),
                               profile="kkp", interval="6h")
    assert needs_update(desired, again), "a new Cluster generation (its external ID changed) updates the check"
    without = desired_for_secret("kubermatic", "credential-aws-x", resource_version="1",
                                 uses=merge_uses([use("a", role)]), profile="kkp", interval="6h")
    assert without["spec"]["assumeRole"] == {"roleARN": role}


def test_a_presets_check_reads_its_role_from_the_preset() -> None:
    desired = desired_for_preset("kubermatic", "team-a", resource_version="9", profile="kkp", interval="6h")
    assert "assumeRole" not in desired["spec"], "the Preset's role and external ID are read at check time"


def test_the_kkp_version_clusters_report_rides_to_the_check_and_back() -> None:
    """Deliverable 3 of issue 31: a Cluster's conditions carry KKP's version (kubermaticVersion, a map by condition
    type: kubermatic/kubermatic@v2.31.0:sdk/apis/kubermatic/v1/cluster.go:646-647); discovery writes it beside the
    check, which reads it back to warn about a version no profile covers."""
    from credcheck.engine.requirements.profiles import BUILTIN  # noqa: PLC0415
    from credcheck.kube.spec import parse_check  # noqa: PLC0415

    cluster = {"metadata": {"name": "abc"}, "spec": {"cloud": {"aws": {
        "credentialsReference": {"name": "credential-aws-abc", "namespace": "kubermatic"}}}},
        "status": {"conditions": {"SeedResourcesUpToDate": {"status": "True", "kubermaticVersion": "v2.32.0"},
                                  "ClusterControllerReconciledSuccessfully": {"kubermaticVersion": "v2.31.9"}}}}
    found = read_cluster(cluster)
    assert found is not None and found.kkp_version == "v2.32.0", "the newest one the conditions report"
    desired = desired_for_secret("kubermatic", "credential-aws-abc", resource_version="1", uses=merge_uses([found]),
                                 profile="kkp", interval="6h")
    assert desired["metadata"]["annotations"]["credcheck.io/kkp-versions"] == "abc=v2.32.0"
    assert parse_check(desired, BUILTIN).kkp_versions == (("abc", "v2.32.0"),)
    before = desired_for_secret("kubermatic", "credential-aws-abc", resource_version="1",
                                uses=merge_uses([use("abc")]), profile="kkp", interval="6h")
    assert needs_update(before, desired), "a new KKP version updates the check"


def test_an_eks_name_a_check_cannot_hold_is_asked_on_cluster_star_and_noted_never_a_check_apiserver_refuses() -> None:
    """AWS allows uppercase and '_' in EKS names; a check's Cluster names are DNS names (the CRD's pattern): the
    check is still written (without that entry), and its note says why."""
    found = merge_uses([], eks=[ImportedEKS("ext-1", "Prod_EKS", "eu-west-1"),
                                ImportedEKS("ext-2", "prod-eks", "eu-west-1")])
    assert [c.cluster for c in found.clusters] == ["prod-eks"]
    assert found.note is not None and "Prod_EKS" in found.note and "cluster/*" in found.note
    raw = {"source": {"secretRef": {"name": "credential-aws-e1"}}, "requirements": {"profile": "eks"},
           "clusters": [{"name": c.cluster, "region": c.region} for c in found.clusters]}
    assert isinstance(parse_spec(raw, BUILTIN), CheckSpec), "what discovery writes parses"


def test_a_kkp_object_with_a_field_of_the_wrong_type_is_left_out_of_the_store_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """Never a silent skip, never an informer that stops: the object is not indexed and the log names its field."""
    from credcheck.controller.discovery import service  # noqa: PLC0415

    odd = {"metadata": {"name": "abc"}, "spec": {"cloud": {"aws": {"credentialsReference": "credential-aws-abc"}}}}
    with caplog.at_level("WARNING", logger="credcheck.controller.discovery"):
        assert service._cluster(odd) is None
        assert service._external({"metadata": {"name": "e"}, "spec": {"cloudSpec": {"eks": []}}}) is None
        assert service._seed({"metadata": {"name": "s"}, "spec": {"datacenters": {"dc": []}}}) is None
        name, view = service._preset({"metadata": {"name": "team"}, "spec": {"aws": {"assumeRoleARN": ["x"]}}})
    assert name == "team" and view.has_aws, "a Preset is still checked: its check names the field"
    assert "Cluster abc: spec.cloud.aws.credentialsReference is a string, not an object" in caplog.text
    assert "Seed s: datacenter dc is a list, not an object" in caplog.text
    good = {"metadata": {"name": "abc"}, "spec": {"cloud": {"aws": {"credentialsReference": {
        "name": "credential-aws-abc", "namespace": "kubermatic"}}}}}
    found = service._cluster(good)
    assert found is not None and found[0] == ("kubermatic", "credential-aws-abc")
