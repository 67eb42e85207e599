"""KKP objects as a v2.31 seed holds them: manifests valid under KKP's own CRDs (shared/kkp/crds).

The CRDs are KKP v2.31.0's own (Apache-2.0), read from the shared folder beside the repository, never copied
into it: set CREDCHECK_KKP_CRDS to another folder holding them.
"""

import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
CRD_FILES = ("kubermatic.k8c.io_clusters.yaml", "kubermatic.k8c.io_presets.yaml", "kubermatic.k8c.io_seeds.yaml",
             "kubermatic.k8c.io_externalclusters.yaml")
CRD_NAMES = ("clusters.kubermatic.k8c.io", "presets.kubermatic.k8c.io", "seeds.kubermatic.k8c.io",
             "externalclusters.kubermatic.k8c.io")
# two AWS datacenters of the local seed, as KKP names them in a Seed
DATACENTERS = {"aws-eu-central-1a": "eu-central-1", "aws-us-east-1a": "us-east-1"}
API = "kubermatic.k8c.io/v1"


def crd_dir() -> Path:
    folder = Path(os.environ.get("CREDCHECK_KKP_CRDS") or REPO.parent / "shared" / "kkp" / "crds")
    missing = [f for f in CRD_FILES if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"KKP's CRDs {', '.join(missing)} are not in {folder}: set CREDCHECK_KKP_CRDS to "
                                "the folder holding KKP v2.31.0's pkg/crd/k8c.io CRDs")
    return folder


def crd_paths() -> list[Path]:
    folder = crd_dir()
    return [folder / f for f in CRD_FILES]


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
