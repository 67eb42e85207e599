"""Reading KKP's objects (plain dicts): which Secret a Cluster uses, with what settings, in which region."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from credcheck.kube.bounds import DNS_SUBDOMAIN, MAX_NAME
from credcheck.kube.spec import ClusterEntry

SECRET_PREFIX = "credential-aws-"
COPY_NAME = "cloud-credentials"  # KKP's per-cluster copy in cluster-<id>, never checked again
EKS_PROFILE = "eks"


@dataclass(frozen=True)
class ClusterUse:
    """One KKP Cluster that uses an AWS credential Secret, with what KKP's calls for it depend on."""

    cluster: str
    secret_namespace: str
    secret_name: str
    assume_role_arn: str | None
    external_id: str | None
    disable_iam_reconciling: bool
    datacenter: str | None = None  # spec.cloud.dc: its region is in a Seed
    version: str | None = None  # spec.version: decides the cloud-controller-manager
    role_arn: str | None = None  # spec.cloud.aws.roleARN (the control-plane role; a name or an ARN)
    instance_profile: str | None = None
    security_group_id: str | None = None
    vpc_id: str | None = None
    generation: str | None = None  # metadata.generation: changes with the spec (its external ID included)
    kkp_version: str | None = None  # the KKP version its conditions report (kubermaticVersion, cluster.go:646-647)

    def spec_entry(self, regions: Mapping[str, str]) -> ClusterEntry:
        """This Cluster as an entry of the check's spec.clusters."""
        return ClusterEntry(name=self.cluster or None, datacenter=self.datacenter,
                            region=(regions.get(self.datacenter) or None) if self.datacenter else None,
                            kubernetes_version=self.version, role_arn=self.role_arn,
                            instance_profile_name=self.instance_profile, security_group_id=self.security_group_id,
                            vpc_id=self.vpc_id, disable_iam_reconciling=self.disable_iam_reconciling)


def cluster_use(cluster: Mapping[str, Any], require_reference: bool = True) -> ClusterUse | None:
    """The AWS credential use of a Cluster object, or None for a non-AWS cluster or one without a reference
    (unless `require_reference` is off, as for a manifest given to the CLI)."""
    aws = ((cluster.get("spec") or {}).get("cloud") or {}).get("aws")
    if not isinstance(aws, Mapping):
        return None
    ref = aws.get("credentialsReference") or {}
    name, namespace = ref.get("name") or "", ref.get("namespace") or ""
    if require_reference and (not name or not namespace):
        return None
    spec = cluster.get("spec") or {}

    def text(value: Any) -> str | None:
        return str(value) if value else None

    return ClusterUse(
        cluster=str((cluster.get("metadata") or {}).get("name", "")),
        secret_namespace=str(namespace), secret_name=str(name),
        assume_role_arn=aws.get("assumeRoleARN") or None,
        external_id=aws.get("assumeRoleExternalID") or None,
        disable_iam_reconciling=bool(aws.get("disableIAMReconciling", False)),
        datacenter=text((spec.get("cloud") or {}).get("dc")), version=text(spec.get("version")),
        role_arn=text(aws.get("roleARN")), instance_profile=text(aws.get("instanceProfileName")),
        security_group_id=text(aws.get("securityGroupID")), vpc_id=text(aws.get("vpcID")),
        generation=text((cluster.get("metadata") or {}).get("generation")),
        kkp_version=reported_kkp_version(cluster),
    )


def reported_kkp_version(cluster: Mapping[str, Any]) -> str | None:
    """The newest KKP version a Cluster's conditions report (a map by condition type in KKP's API, each with
    kubermaticVersion: kubermatic/kubermatic@v2.31.0:sdk/apis/kubermatic/v1/cluster.go:646-647)."""
    conditions = (cluster.get("status") or {}).get("conditions") or {}
    entries = conditions.values() if isinstance(conditions, Mapping) else conditions if isinstance(
        conditions, list) else ()
    versions = sorted({str(c["kubermaticVersion"]) for c in entries
                       if isinstance(c, Mapping) and c.get("kubermaticVersion")})
    return versions[-1] if versions else None


def external_cluster_secret(external: Mapping[str, Any]) -> tuple[str, str] | None:
    """The Secret (namespace, name) of an imported EKS cluster (ExternalCluster spec.cloudSpec.eks)."""
    eks = ((external.get("spec") or {}).get("cloudSpec") or {}).get("eks")
    ref = (eks or {}).get("credentialsReference") or {} if isinstance(eks, Mapping) else {}
    name, namespace = ref.get("name"), ref.get("namespace")
    return (str(namespace), str(name)) if name and namespace else None


@dataclass(frozen=True)
class ImportedEKS:
    """An imported EKS cluster (ExternalCluster spec.cloudSpec.eks): KKP's object, and the EKS cluster's name and
    region it manages (the ARNs KKP's EKS calls act on: eks/provider.go:195-214)."""

    external: str
    name: str | None = None
    region: str | None = None


def imported_eks(external: Mapping[str, Any]) -> ImportedEKS:
    eks = ((external.get("spec") or {}).get("cloudSpec") or {}).get("eks")
    eks = eks if isinstance(eks, Mapping) else {}
    name, region = eks.get("name"), eks.get("region")
    return ImportedEKS(str((external.get("metadata") or {}).get("name", "")), str(name) if name else None,
                       str(region) if region else None)


def seed_regions(seed: Mapping[str, Any]) -> dict[str, str]:
    """Datacenter name -> AWS region, from a Seed (spec.datacenters[<dc>].spec.aws.region)."""
    out: dict[str, str] = {}
    for name, dc in (((seed.get("spec") or {}).get("datacenters")) or {}).items():
        region = (((dc or {}).get("spec") or {}).get("aws") or {}).get("region")
        if region:
            out[str(name)] = str(region)
    return out


def is_kkp_copy(namespace: str, name: str) -> bool:
    return namespace.startswith("cluster-") and name == COPY_NAME


def is_credential_secret(namespace: str, name: str, referenced: bool) -> bool:
    """A KKP AWS credential Secret: named credential-aws-*, or referenced by a Cluster (never KKP's copies)."""
    if is_kkp_copy(namespace, name):
        return False
    return name.startswith(SECRET_PREFIX) or referenced


@dataclass(frozen=True)
class CheckSettings:
    """What the referencing Clusters ask of a discovered check."""

    assume_role_arn: str | None
    external_id: str | None
    clusters: tuple[ClusterEntry, ...]  # spec.clusters: each Cluster's names, region and version
    note: str | None = None
    profile: str | None = None  # a profile the source demands (eks for an imported EKS cluster's Secret)
    role_generation: str | None = None  # the generation of the Cluster whose assume-role settings are used
    kkp_versions: tuple[tuple[str, str], ...] = ()  # (Cluster, the KKP version it reports)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(str(c.name) for c in self.clusters)


def merge_uses(uses: Iterable[ClusterUse], regions: Mapping[str, str] | None = None,
               eks: bool | Iterable[ImportedEKS] = False) -> CheckSettings:
    """Assume-role from the Clusters (the first by name if they disagree, noted); one spec entry per Cluster,
    its region looked up in the Seeds' datacenters. A Secret only ExternalClusters (EKS) use gets `eks`, with one
    entry per EKS cluster they name (its name and region: what the EKS profile's ARNs are asked on)."""
    ordered = sorted(uses, key=lambda u: u.cluster)
    if not ordered:
        imported = [] if isinstance(eks, bool) else list(eks)
        named = sorted({(e.name, e.region) for e in imported if e.name}, key=lambda e: (e[0] or "", e[1] or ""))
        # an EKS name may hold uppercase or '_' (AWS allows them); a check's Cluster names are DNS names (the CRD's
        # pattern): such a cluster is asked about as cluster/* rather than leaving the Secret without a check
        unfit = sorted({str(n) for n, _ in named if len(str(n)) > MAX_NAME or not DNS_SUBDOMAIN.fullmatch(str(n))})
        entries = tuple(ClusterEntry(name=name, region=region) for name, region in named if name not in unfit)
        note = (f"EKS cluster(s) {', '.join(unfit)} have names a check cannot hold (not lowercase DNS names): "
                "their EKS calls are asked on cluster/*" if unfit else None)
        return CheckSettings(None, None, entries, note, profile=EKS_PROFILE if eks is True or imported else None)
    first = ordered[0]
    roles = {(u.assume_role_arn, u.external_id) for u in ordered}
    note = None
    if len(roles) > 1:
        note = (f"Clusters {', '.join(u.cluster for u in ordered)} use different assume-role settings; "
                f"checked with those of {first.cluster}")
    return CheckSettings(first.assume_role_arn, first.external_id,
                         tuple(u.spec_entry(regions or {}) for u in ordered), note,
                         role_generation=first.generation,
                         kkp_versions=tuple((u.cluster, u.kkp_version) for u in ordered if u.kkp_version))

