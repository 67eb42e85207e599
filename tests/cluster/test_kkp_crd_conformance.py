"""The CRDs credcheck wrote from KKP's API types (credcheck_testground/kkp_crds) against KKP v2.31.0's own.

Every KKP manifest the test ground writes (kkp.seed, kkp.cluster with each optional field the tests use,
kkp.preset, kkp.eks_cluster) goes through `kubectl create --dry-run=server --validate=strict` on a real
kube-apiserver serving credcheck's CRDs: all are accepted, and each wrong one below is rejected naming its field.
Where KKP's own CRDs are on this machine (CREDCHECK_KKP_CRDS, or the shared folder beside the repository), a second
kube-apiserver serves them and both must decide every manifest alike, keep the same values of the fields credcheck
reads, and declare the same type, enum, default and required fields for every field credcheck's CRDs name.
Each set has a private control plane (two sets cannot serve one group at once), so the suite's stays as it is.
"""

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from credcheck.kube.kkp import read_cluster, read_external_cluster, seed_regions
from credcheck_testground import controlplane, kkp
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.processes import stop_all, wait_until

pytestmark = pytest.mark.cluster
NS = "kubermatic"
DROP = object()  # a _with() value: remove the field
ROLE_ARN = "arn:aws:iam::123456789012:role/kkp/kkp-provisioner"
BAD_INPUT = Path(__file__).resolve().parents[1] / "data" / "bad-input.yaml"


def _with(manifest: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `manifest` with the dotted `path` set to `value` (or removed, for DROP)."""
    out = copy.deepcopy(manifest)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return out


def good_manifests() -> dict[str, dict[str, Any]]:
    """Every shape of KKP object the test ground, the tests and the demo write."""
    cluster = kkp.cluster("c1", "credential-aws-c1", NS)
    found: dict[str, dict[str, Any]] = {
        "seed": kkp.seed(namespace=NS),
        "seed-one-datacenter": kkp.seed("s1", NS, {"dc-1": "ap-south-1"}),
        "cluster": cluster,
        "cluster-us-east-1-own-role": kkp.cluster("own4", "credential-aws-own4", NS, dc="aws-us-east-1a",
                                                  version="1.35.1", roleARN="team-a-control-plane"),
        "cluster-assume-role-iam-off": kkp.cluster("c2", "credential-aws-c2", NS, assumeRoleARN=ROLE_ARN,
                                                   assumeRoleExternalID="ext-1", disableIAMReconciling=True),
        "cluster-iam-off": kkp.cluster("off1", "credential-aws-off1", NS, disableIAMReconciling=True),
        "cluster-every-name": kkp.cluster("names1", "credential-aws-names1", NS, roleARN=ROLE_ARN.replace("kkp/", ""),
                                          instanceProfileName="kkp-nodes", securityGroupID="sg-0123456789abcdef0",
                                          vpcID="vpc-0123456789abcdef0", routeTableID="rtb-0123456789abcdef0"),
        "cluster-paused": _with(cluster, "spec.pause", True),
        "preset-keys": kkp.preset("team-a", {"accessKeyID": "AKIAIOSFODNN7EXAMPLE",
                                             "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}),
        "preset-assume-role": kkp.preset("team-b", {"accessKeyID": "AKIAIOSFODNN7EXAMPLE",
                                                    "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ",
                                                    "assumeRoleARN": "arn:aws:iam::123:role/x"}),
        "preset-every-field": kkp.preset("team-c", {
            "enabled": True, "isCustomizable": False, "datacenter": "aws-eu-central-1a",
            "accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "assumeRoleARN": ROLE_ARN, "assumeRoleExternalID": "ext-1", "vpcID": "vpc-1", "routeTableID": "rtb-1",
            "instanceProfileName": "kkp-nodes", "securityGroupID": "sg-1", "roleARN": "kkp-control-plane"}),
        "eks": kkp.eks_cluster("eks1", "credential-aws-eks1", NS),
    }
    for case in yaml.safe_load(BAD_INPUT.read_text()):  # the bad-input corpus' Clusters are valid KKP objects
        if "cluster" in case:
            found[f"corpus-{case['name']}"] = kkp.cluster(case["name"], f"credential-aws-{case['name']}", NS,
                                                          **case["cluster"])
    return found


def bad_manifests() -> dict[str, tuple[dict[str, Any], str]]:
    """Manifests KKP refuses, each with the field its refusal must name."""
    cluster = kkp.cluster("bad", "credential-aws-bad", NS)
    seed = kkp.seed("bad", NS, {"dc-1": "eu-central-1"})
    preset = kkp.preset("bad", {"accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x" * 40})
    eks = kkp.eks_cluster("bad", "credential-aws-bad", NS)
    cases = {
        "cluster-iam-switch-not-a-boolean": (cluster, "spec.cloud.aws.disableIAMReconciling", "yes"),
        "cluster-reference-not-an-object": (cluster, "spec.cloud.aws.credentialsReference", "credential-aws-bad"),
        "cluster-without-vpc-id": (cluster, "spec.cloud.aws.vpcID", DROP),
        "cluster-without-role-arn": (cluster, "spec.cloud.aws.roleARN", DROP),
        "cluster-misspelt-aws-field": (cluster, "spec.cloud.aws.roleArn", "team-a"),
        "cluster-without-datacenter": (cluster, "spec.cloud.dc", DROP),
        "cluster-without-provider": (cluster, "spec.cloud.providerName", DROP),
        "cluster-without-version": (cluster, "spec.version", DROP),
        "cluster-version-not-a-string": (cluster, "spec.version", 1.34),
        "cluster-unknown-expose-strategy": (cluster, "spec.exposeStrategy", "Ingress"),
        "cluster-unknown-proxy-mode": (cluster, "spec.clusterNetwork.proxyMode", "userspace"),
        "cluster-pods-without-cidr-blocks": (cluster, "spec.clusterNetwork.pods.cidrBlocks", DROP),
        "seed-without-kubeconfig": (seed, "spec.kubeconfig", DROP),
        "seed-datacenter-without-region": (seed, "spec.datacenters.dc-1.spec.aws.region", DROP),
        "seed-region-not-a-string": (seed, "spec.datacenters.dc-1.spec.aws.region", 1),
        "seed-datacenter-without-spec": (seed, "spec.datacenters.dc-1.spec", DROP),
        "preset-without-secret-access-key": (preset, "spec.aws.secretAccessKey", DROP),
        "preset-misspelt-key-id": (preset, "spec.aws.accessKeyId", "AKIAIOSFODNN7EXAMPLE"),
        "preset-enabled-not-a-boolean": (preset, "spec.aws.enabled", "true"),
        "eks-unknown-provider": (eks, "spec.cloudSpec.providerName", "EKS"),
        "eks-without-pause": (eks, "spec.pause", DROP),
        "eks-without-region": (eks, "spec.cloudSpec.eks.region", DROP),
        "eks-role-spelt-as-in-a-cluster": (eks, "spec.cloudSpec.eks.roleARN", ROLE_ARN),
    }
    return {name: (_with(manifest, path, value), path) for name, (manifest, path, value) in cases.items()}


# outside the fields credcheck's CRDs cover, they keep what they are given: KKP's refuse an unknown field there
UNCOVERED = {"cluster-unknown-spec-field": (kkp.cluster("u1", "credential-aws-u1", NS), "spec.noSuchField"),
             "cluster-unknown-cloud-field": (kkp.cluster("u2", "credential-aws-u2", NS), "spec.cloud.noSuchField"),
             "preset-unknown-spec-field": (kkp.preset("u3", {"accessKeyID": "AKIAIOSFODNN7EXAMPLE",
                                                             "secretAccessKey": "x" * 40}), "spec.noSuchField")}
KEPT = "kept as given"


def uncovered() -> dict[str, tuple[dict[str, Any], str]]:
    return {name: (_with(manifest, path, KEPT), path) for name, (manifest, path) in UNCOVERED.items()}


@dataclass(frozen=True)
class Admission:
    accepted: bool
    stored: dict[str, Any] | None  # the object as admitted (defaults applied), when accepted
    error: str


def admit(cp: ControlPlane, manifest: dict[str, Any]) -> Admission:
    done = cp.run_kubectl("create", "--dry-run=server", "--validate=strict", "-o", "json", "-f", "-",
                          input_text=json.dumps(manifest), check=False)
    accepted = done.returncode == 0
    return Admission(accepted, json.loads(done.stdout) if accepted else None, done.stderr.strip())


def _serving(tmp_path_factory: pytest.TempPathFactory, name: str, crds: list[Path]) -> Iterator[ControlPlane]:
    """A private kube-apiserver + etcd serving `crds` and the namespace Seeds live in."""
    state = tmp_path_factory.mktemp(name)
    try:
        cp = controlplane.start(state)
        cp.run_kubectl("apply", "--server-side", *[arg for path in crds for arg in ("-f", str(path))])
        for crd in kkp.CRD_NAMES:
            cp.run_kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{crd}")
        wait_until(lambda: cp.run_kubectl("get", ",".join(kkp.CRD_NAMES), "-A", check=False).returncode == 0,
                   f"{name}: the KKP kinds in discovery", timeout=30)
        cp.run_kubectl("create", "namespace", NS)
        yield cp
    finally:
        stop_all(state)


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    yield from _serving(tmp_path_factory, "crds-credcheck", kkp.own_crd_paths())


@pytest.fixture(scope="module")
def kkps_crds() -> Path:
    folder = kkp.kkp_crd_dir()
    if folder is None:
        pytest.skip("KKP's own CRDs are not on this machine: set CREDCHECK_KKP_CRDS to the folder holding KKP "
                    f"{kkp.KKP_VERSION}'s pkg/crd/k8c.io CRDs to compare credcheck's with them")
    return folder


@pytest.fixture(scope="module")
def theirs(kkps_crds: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    yield from _serving(tmp_path_factory, "crds-kkp", [kkps_crds / f for f in kkp.CRD_FILES])


def everything() -> dict[str, dict[str, Any]]:
    return {**good_manifests(), **{name: m for name, (m, _) in bad_manifests().items()},
            **{name: m for name, (m, _) in uncovered().items()}}


@pytest.fixture(scope="module")
def ours_decided(ours: ControlPlane) -> dict[str, Admission]:
    return {name: admit(ours, manifest) for name, manifest in everything().items()}


@pytest.fixture(scope="module")
def theirs_decided(theirs: ControlPlane) -> dict[str, Admission]:
    return {name: admit(theirs, manifest) for name, manifest in everything().items()}


# --- always: credcheck's CRDs alone ---

def test_credchecks_crds_accept_every_manifest_the_test_ground_writes(ours_decided: dict[str, Admission]) -> None:
    refused = {name: ours_decided[name].error for name in good_manifests() if not ours_decided[name].accepted}
    assert not refused, refused


def test_credchecks_crds_refuse_each_wrong_manifest_naming_its_field(ours_decided: dict[str, Admission]) -> None:
    wrong = {}
    for name, (_, field) in bad_manifests().items():
        got = ours_decided[name]
        if got.accepted or field not in got.error:
            wrong[name] = f"expected a refusal naming {field}; got " + (got.error or "accepted")
    assert not wrong, wrong


def test_credchecks_crds_keep_fields_they_do_not_cover(ours_decided: dict[str, Admission]) -> None:
    for name, (_, path) in uncovered().items():
        node: Any = ours_decided[name].stored
        assert node is not None, ours_decided[name].error
        for key in path.split("."):
            node = node[key]
        assert node == KEPT, name


def test_the_crd_files_say_they_are_credchecks_not_kkps() -> None:
    for path in kkp.own_crd_paths():
        text = path.read_text()
        assert "written by credcheck from KKP's API types; this is NOT KKP's own CRD" in text.splitlines()[0], path
        assert "kubermatic/kubermatic@v2.31.0:sdk/apis/kubermatic/v1/" in text, path
        assert "controller-gen" not in text, f"{path} must not be KKP's generated CRD"


# --- where KKP's own CRDs are at hand: both sets side by side ---

def test_both_sets_decide_every_manifest_alike(ours_decided: dict[str, Admission],
                                               theirs_decided: dict[str, Admission]) -> None:
    bad = bad_manifests()
    disagree = {}
    for name in [*good_manifests(), *bad]:
        mine, kkps = ours_decided[name], theirs_decided[name]
        field = bad[name][1] if name in bad else None
        if mine.accepted != kkps.accepted:
            disagree[name] = (f"credcheck's CRDs {'accept' if mine.accepted else 'refuse'} it, KKP's "
                              f"{'accept' if kkps.accepted else 'refuse'} it ({field or 'a valid manifest'}): "
                              f"{mine.error or kkps.error}")
        elif field and field not in kkps.error:
            disagree[name] = f"KKP's CRDs refuse it, but not naming {field}: {kkps.error}"
    assert not disagree, json.dumps(disagree, indent=1)


def test_outside_the_covered_fields_only_kkps_crds_are_strict(ours_decided: dict[str, Admission],
                                                              theirs_decided: dict[str, Admission]) -> None:
    """The one known difference: KKP's CRDs refuse an unknown field anywhere; credcheck's keep it where they
    do not cover KKP's fields (spec, spec.cloud, …) and refuse it inside what they cover (spec.cloud.aws, …)."""
    for name, (_, path) in uncovered().items():
        assert ours_decided[name].accepted, ours_decided[name].error
        assert not theirs_decided[name].accepted and path in theirs_decided[name].error, theirs_decided[name]


def test_credcheck_reads_the_same_from_objects_admitted_by_either(ours_decided: dict[str, Admission],
                                                                  theirs_decided: dict[str, Admission]) -> None:
    def reads(stored: dict[str, Any]) -> Any:
        kind = stored["kind"]
        if kind == "Cluster":
            return read_cluster(stored)
        if kind == "Seed":
            return seed_regions(stored)
        if kind == "ExternalCluster":
            return read_external_cluster(stored)
        return stored["spec"].get("aws")

    differ = {}
    for name in good_manifests():
        mine, kkps = ours_decided[name].stored, theirs_decided[name].stored
        assert mine is not None and kkps is not None
        if reads(mine) != reads(kkps):
            differ[name] = (reads(mine), reads(kkps))
    assert not differ, differ


def test_every_field_credchecks_crds_name_is_declared_as_kkp_declares_it(kkps_crds: Path) -> None:
    """Type, enum, default, list-map type and required fields, field by field; a closed object (no
    x-kubernetes-preserve-unknown-fields) has exactly KKP's fields; names, scope, status and printer columns."""
    problems: list[str] = []
    for path in kkp.own_crd_paths():
        mine = yaml.safe_load(path.read_text())
        kkps = yaml.safe_load((kkps_crds / f"kubermatic.k8c.io_{mine['spec']['names']['plural']}.yaml").read_text())
        kind = mine["spec"]["names"]["kind"]
        for key in ("group", "names", "scope"):
            if mine["spec"][key] != kkps["spec"][key]:
                problems.append(f"{kind} {key}: {mine['spec'][key]} (KKP: {kkps['spec'][key]})")
        [version], [their_version] = mine["spec"]["versions"], kkps["spec"]["versions"]
        for key in ("name", "subresources", "additionalPrinterColumns"):
            if (version.get(key) or None) != (their_version.get(key) or None):
                problems.append(f"{kind} {key}: {version.get(key)} (KKP: {their_version.get(key)})")
        _compare(version["schema"]["openAPIV3Schema"], their_version["schema"]["openAPIV3Schema"], kind, problems)
    assert not problems, "\n".join(problems)


def _compare(mine: dict[str, Any], kkps: dict[str, Any], where: str, problems: list[str]) -> None:
    covered = "properties" in mine or "items" in mine or isinstance(mine.get("additionalProperties"), dict)
    for key in ("type", "enum", "default", "x-kubernetes-map-type"):
        if mine.get(key) != kkps.get(key):
            problems.append(f"{where}: {key} {mine.get(key)!r} (KKP: {kkps.get(key)!r})")
    if covered and sorted(mine.get("required", [])) != sorted(kkps.get("required", [])):
        problems.append(f"{where}: required {mine.get('required')} (KKP: {kkps.get('required')})")
    theirs = kkps.get("properties", {})
    closed = "properties" in mine and not mine.get("x-kubernetes-preserve-unknown-fields")
    if closed and set(mine["properties"]) != set(theirs):
        problems.append(f"{where}: closed with fields {sorted(mine['properties'])} (KKP: {sorted(theirs)})")
    for name, sub in mine.get("properties", {}).items():
        if name in theirs:
            _compare(sub, theirs[name], f"{where}.{name}", problems)
        else:
            problems.append(f"{where}.{name}: not a field of KKP's")
    if "items" in mine:
        _compare(mine["items"], kkps.get("items", {}), f"{where}[]", problems)
    if isinstance(mine.get("additionalProperties"), dict):
        _compare(mine["additionalProperties"], kkps.get("additionalProperties") or {}, f"{where}[*]", problems)
