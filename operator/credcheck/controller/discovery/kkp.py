"""Which Secrets discovery checks, and what the Clusters using one ask of its check (KKP's objects are read by
kube.kkp: this module decides on its values)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from credcheck.engine.target import Target
from credcheck.kube.bounds import DNS_SUBDOMAIN, MAX_NAME
from credcheck.kube.kkp import ImportedEKS, KKPCluster

SECRET_PREFIX = "credential-aws-"
COPY_NAME = "cloud-credentials"  # KKP's per-cluster copy in cluster-<id>, never checked again
EKS_PROFILE = "eks"


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
    clusters: tuple[Target, ...]  # spec.clusters: each Cluster's names, region and version
    note: str | None = None
    profile: str | None = None  # a profile the source demands (eks for an imported EKS cluster's Secret)
    role_generation: str | None = None  # the generation of the Cluster whose assume-role settings are used
    kkp_versions: tuple[tuple[str, str], ...] = ()  # (Cluster, the KKP version it reports)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(str(c.cluster) for c in self.clusters)


def merge_uses(uses: Iterable[KKPCluster], regions: Mapping[str, str] | None = None,
               eks: bool | Iterable[ImportedEKS] = False) -> CheckSettings:
    """Assume-role from the Clusters (the first by name if they disagree, noted); one spec entry per Cluster,
    its region looked up in the Seeds' datacenters. A Secret only ExternalClusters (EKS) use gets `eks`, with one
    entry per EKS cluster they name (its name and region: what the EKS profile's ARNs are asked on)."""
    ordered = sorted(uses, key=lambda u: u.name)
    if not ordered:
        imported = [] if isinstance(eks, bool) else list(eks)
        named = sorted({(e.name, e.region) for e in imported if e.name}, key=lambda e: (e[0] or "", e[1] or ""))
        # an EKS name may hold uppercase or '_' (AWS allows them); a check's Cluster names are DNS names (the CRD's
        # pattern): such a cluster is asked about as cluster/* rather than leaving the Secret without a check
        unfit = sorted({str(n) for n, _ in named if len(str(n)) > MAX_NAME or not DNS_SUBDOMAIN.fullmatch(str(n))})
        entries = tuple(Target(cluster=name, region=region) for name, region in named if name not in unfit)
        note = (f"EKS cluster(s) {', '.join(unfit)} have names a check cannot hold (not lowercase DNS names): "
                "their EKS calls are asked on cluster/*" if unfit else None)
        return CheckSettings(None, None, entries, note, profile=EKS_PROFILE if eks is True or imported else None)
    first = ordered[0]
    roles = {(u.assume_role_arn, u.external_id) for u in ordered}
    note = None
    if len(roles) > 1:
        note = (f"Clusters {', '.join(u.name for u in ordered)} use different assume-role settings; "
                f"checked with those of {first.name}")
    return CheckSettings(first.assume_role_arn, first.external_id,
                         tuple(_in_region(u.target, regions or {}) for u in ordered), note,
                         role_generation=first.generation,
                         kkp_versions=tuple((u.name, u.kkp_version) for u in ordered if u.kkp_version))


def _in_region(target: Target, regions: Mapping[str, str]) -> Target:
    """A Cluster with its region looked up in the Seeds' datacenters (an unknown one leaves it to the check)."""
    return replace(target, region=(regions.get(target.datacenter) or None) if target.datacenter else None)

