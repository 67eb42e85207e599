"""KKP objects as a v2.31 seed holds them, and the CRDs that serve them on the local control plane.

Two sets of CRDs for Clusters, Presets, Seeds and ExternalClusters (kubermatic.k8c.io/v1):
- credcheck's own (`kkp_crds/`, shipped with this package): written by hand from KKP v2.31.0's Go API types,
  covering the fields credcheck and this test ground read or write with KKP's types, required fields, enums and
  defaults, and keeping every other field as given (x-kubernetes-preserve-unknown-fields). A clean clone uses them.
- KKP's own (v2.31.0's generated `pkg/crd/k8c.io`, Apache-2.0), never copied into this repository: optional
  conformance data, from the folder $CREDCHECK_KKP_CRDS names or the team's shared folder beside the repository.

`crd_dir()` picks, in order: CREDCHECK_KKP_CRDS (a folder holding KKP's files, or `credcheck` to force ours), the
shared folder when it holds KKP's files, else ours. `crd_source()` says which ("kkp" or "credcheck");
tests/cluster/test_kkp_crd_conformance.py proves every manifest below is accepted alike under both.
"""

import os
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[2]
OWN_CRDS = Path(__file__).resolve().parent / "kkp_crds"
KKP_VERSION = "v2.31.0"
CRD_NAMES = ("clusters.kubermatic.k8c.io", "presets.kubermatic.k8c.io", "seeds.kubermatic.k8c.io",
             "externalclusters.kubermatic.k8c.io")
CRD_FILES = tuple(f"kubermatic.k8c.io_{name.split('.')[0]}.yaml" for name in CRD_NAMES)  # KKP's file names
OWN_CRD_FILES = tuple(f"{name}.yaml" for name in CRD_NAMES)
FORCE_OWN = "credcheck"  # CREDCHECK_KKP_CRDS=credcheck: use credcheck's CRDs even where KKP's are at hand
# two AWS datacenters of the local seed, as KKP names them in a Seed
DATACENTERS = {"aws-eu-central-1a": "eu-central-1", "aws-us-east-1a": "us-east-1"}
API = "kubermatic.k8c.io/v1"
Source = Literal["kkp", "credcheck"]


def _shared_kkp_crds() -> Path:
    return REPO.parent / "shared" / "kkp" / "crds"  # optional conformance data; else CREDCHECK_KKP_CRDS names one


def kkp_crd_dir() -> Path | None:
    """The folder holding KKP's own CRDs on this machine, or None: CREDCHECK_KKP_CRDS when it names a folder
    (which must hold them all), else the shared folder when it holds them."""
    named = os.environ.get("CREDCHECK_KKP_CRDS", "")
    if named and named != FORCE_OWN:
        folder = Path(named)
        missing = [f for f in CRD_FILES if not (folder / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"CREDCHECK_KKP_CRDS={named}: KKP's CRDs {', '.join(missing)} are not there; name the folder "
                f"holding KKP {KKP_VERSION}'s pkg/crd/k8c.io CRDs, `{FORCE_OWN}` for credcheck's own, or unset it")
        return folder
    shared = _shared_kkp_crds()
    return shared if all((shared / f).is_file() for f in CRD_FILES) else None


def _in_use() -> tuple[Source, Path]:
    kkp = None if os.environ.get("CREDCHECK_KKP_CRDS") == FORCE_OWN else kkp_crd_dir()
    return ("kkp", kkp) if kkp is not None else ("credcheck", OWN_CRDS)


def crd_source() -> Source:
    """Whose CRDs the test ground installs: KKP's own ("kkp"), or those credcheck wrote ("credcheck")."""
    return _in_use()[0]


def crd_dir() -> Path:
    """The folder of the CRDs in use (see crd_source)."""
    return _in_use()[1]


def crd_paths() -> list[Path]:
    source, folder = _in_use()
    return [folder / f for f in (CRD_FILES if source == "kkp" else OWN_CRD_FILES)]


def own_crd_paths() -> list[Path]:
    return [OWN_CRDS / f for f in OWN_CRD_FILES]


def crd_description() -> str:
    """One line for a log or a demo: whose CRDs serve KKP's objects, and from where."""
    source, folder = _in_use()
    if source == "kkp":
        return f"KKP {KKP_VERSION}'s own CRDs ({folder})"
    return f"KKP's CRDs written by credcheck from KKP {KKP_VERSION}'s API types ({folder})"


def seed(name: str = "kubermatic", namespace: str = "kubermatic",
         datacenters: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Seed", "metadata": {"name": name, "namespace": namespace},
            "spec": {"country": "DE", "location": "local",
                     "kubeconfig": {"name": "kubeconfig-seed", "namespace": namespace},
                     "datacenters": {dc: {"country": "DE", "location": dc, "spec": {"aws": {"region": region}}}
                                     for dc, region in (datacenters or DATACENTERS).items()}}}


def cluster(name: str, secret: str, namespace: str = "kubermatic", *, dc: str = "aws-eu-central-1a",
            version: str = "1.34.2", **aws: Any) -> dict[str, Any]:
    """A Cluster as KKP stores it; `aws` adds or overrides spec.cloud.aws fields (roleARN, assumeRoleARN, …)."""
    fields = {"credentialsReference": {"name": secret, "namespace": namespace}, "roleARN": "",
              "instanceProfileName": "", "securityGroupID": "", "vpcID": "", "routeTableID": "", **aws}
    return {"apiVersion": API, "kind": "Cluster", "metadata": {"name": name},
            "spec": {"humanReadableName": name, "version": version, "exposeStrategy": "NodePort",
                     "clusterNetwork": {"dnsDomain": "cluster.local", "proxyMode": "ipvs",
                                        "pods": {"cidrBlocks": ["172.25.0.0/16"]},
                                        "services": {"cidrBlocks": ["10.240.16.0/20"]}},
                     "cloud": {"dc": dc, "providerName": "aws", "aws": fields}}}


def preset(name: str, aws: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Preset", "metadata": {"name": name}, "spec": {"aws": aws}}


def eks_cluster(name: str, secret: str, namespace: str = "kubermatic", region: str = "eu-central-1") -> dict[str, Any]:
    return {"apiVersion": API, "kind": "ExternalCluster", "metadata": {"name": name},
            "spec": {"humanReadableName": name, "version": "1.33.0", "pause": False,
                     "cloudSpec": {"providerName": "eks", "eks": {
                         "name": name, "region": region,
                         "credentialsReference": {"name": secret, "namespace": namespace}}}}}


# --- what KKP makes in a Cluster's namespace for its credential (issue 34), as kubermatic/kubermatic@v2.31.0 does ---
COPY_SECRET = "cloud-credentials"  # pkg/resources/resources.go:405 (ClusterCloudCredentialsSecretName)
REVISION_LABEL = "cloud-credentials-secret-revision"  # related_revisions.go:108: "<secret>-secret-revision"
# the Deployments whose containers read the copy as environment variables: machine-controller and its webhook, the
# user-cluster controller and webhook (data.GetEnvVars, pkg/resources/data.go:875-903; names resources.go:78,82,98,
# 1041) and the AWS cloud-controller-manager (pkg/resources/cloudcontroller/aws.go:35,88-110)
CREDENTIAL_DEPLOYMENTS = ("machine-controller", "machine-controller-webhook", "usercluster-controller",
                          "usercluster-webhook", "aws-cloud-controller-manager")


def cluster_namespace(cluster_name: str) -> str:
    """KKP's namespace of a Cluster's control plane (status.namespaceName: "cluster-" + name)."""
    return f"cluster-{cluster_name}"


def credential_copy(cluster_name: str, access_key_id: str, secret_access_key: str) -> dict[str, Any]:
    """The copy KKP's cluster-credentials controller writes: the source Secret's data, unchanged
    (cluster-credentials-controller/controller.go:230-236), under KKP's key names (resources.go:679-680)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": COPY_SECRET, "namespace": cluster_namespace(cluster_name)},
            "stringData": {"accessKeyId": access_key_id, "secretAccessKey": secret_access_key}}


def credential_deployment(cluster_name: str, name: str, revision: str, replicas: int = 1) -> dict[str, Any]:
    """One of KKP's Deployments reading the copy: env AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from it
    (data.go:899-900, aws.go:91-108) and the pod-template label RelatedRevisionsLabels sets to the copy's
    resourceVersion (related_revisions.go:107-125,176-181,202-207)."""
    def ref(key: str) -> dict[str, Any]:
        return {"secretKeyRef": {"name": COPY_SECRET, "key": key}}
    labels = {"app": name, REVISION_LABEL: revision}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": cluster_namespace(cluster_name)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                         "name": name, "image": "registry.k8s.io/pause:3.10",
                         "env": [{"name": "AWS_ACCESS_KEY_ID", "valueFrom": ref("accessKeyId")},
                                 {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": ref("secretAccessKey")}]}]}}}}
