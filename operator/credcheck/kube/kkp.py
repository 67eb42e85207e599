"""KKP's objects read once: Cluster, Seed, Preset and ExternalCluster (plain dicts from the API) as frozen values.

KKP's field names are read here and nowhere else in credcheck (pure: no I/O). A field of the wrong type (the
apiserver's schema normally prevents it) raises `KKPObjectError` naming the object and the field; an absent or empty
field is None. The fields, from kubermatic/kubermatic@v2.31.0:
- Cluster `spec.cloud.aws` (AWSCloudSpec, sdk/apis/kubermatic/v1/cluster.go:1525-1556): credentialsReference
  {name, namespace} (:1526), assumeRoleARN (:1535), assumeRoleExternalID (:1539), vpcID (:1540), roleARN (the
  control-plane role, :1542), instanceProfileName (:1544), securityGroupID (:1545), disableIAMReconciling (:1556);
  `spec.cloud.dc` (:1253), `spec.version` (:147), `spec.pause` (:263), `status.namespaceName` (:694), each
  condition's kubermaticVersion (:646-647), the `presetName` annotation (:49-50).
- Seed `spec.datacenters[<dc>].spec.aws.region` (sdk/apis/kubermatic/v1/datacenter.go:299, 513, 530, 842-845) and
  `status.versions.kubermatic` (datacenter.go:249, 263).
- Preset `spec.aws` (sdk/apis/kubermatic/v1/preset.go:63, 289-304): accessKeyID, secretAccessKey, assumeRoleARN,
  assumeRoleExternalID.
- ExternalCluster `spec.cloudSpec.eks` (sdk/apis/kubermatic/v1/external_cluster.go:135, 175, 256-266):
  credentialsReference, name, region.
A credential Secret's keys (`accessKeyId`, `secretAccessKey`) are the engine's to parse: engine.credential.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credcheck.engine.target import Target

PRESET_ANNOTATION = "presetName"  # the Preset a Cluster was created from (cluster.go:49-50)


class KKPObjectError(ValueError):
    """A KKP object with a field of the wrong type: the message names the object and the field, never a value."""


SecretRef = tuple[str, str]  # (namespace, name) of a credential Secret


@dataclass(frozen=True, slots=True)  # one per AWS Cluster in discovery's store
class KKPCluster:
    """A KKP Cluster on AWS: the Cluster as the engine asks about it (`target`, its region still the Seed's to tell)
    and what only KKP's side needs (which Secret, which role it assumes, its generation and reported version)."""

    target: Target
    secret: SecretRef | None  # spec.cloud.aws.credentialsReference
    assume_role_arn: str | None = None
    external_id: str | None = None  # spec.cloud.aws.assumeRoleExternalID
    generation: str | None = None  # metadata.generation: changes with the spec (its external ID included)
    kkp_version: str | None = None  # the newest KKP version its conditions report

    @property
    def name(self) -> str:
        return self.target.cluster or ""


@dataclass(frozen=True)
class ControlPlane:
    """Where a Cluster's control plane runs and what the rotation check needs of the Cluster object."""

    name: str
    namespace: str  # status.namespaceName, else cluster-<name>
    paused: bool
    uid: str
    preset: str | None  # the Preset it was created from (annotation presetName)


@dataclass(frozen=True)
class PresetAWS:
    """A Preset's spec.aws: its string fields as a Secret's data (what engine.credential parses; never shown)."""

    data: Mapping[str, bytes] = field(repr=False)
    assume_role_arn: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class ImportedEKS:
    """An imported EKS cluster (ExternalCluster spec.cloudSpec.eks): KKP's object, and the EKS cluster's name and
    region it manages (the ARNs KKP's EKS calls act on: pkg/provider/cloud/eks/provider.go:195-214)."""

    external: str
    name: str | None = None
    region: str | None = None
    secret: SecretRef | None = None  # spec.cloudSpec.eks.credentialsReference


# --- typed field access: absent is None, a wrong type is a precise error ---

def _kind_of(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _object(value: Any, *what: str) -> Mapping[str, Any]:
    """`what` names the field, joined only for an error (reads of well-formed objects build no message)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise KKPObjectError(f"{''.join(what)} is {_kind_of(value)}, not an object")
    return value


def _path(obj: Mapping[str, Any], what: str, *keys: str) -> Mapping[str, Any]:
    """The object at obj[keys[0]][keys[1]]...; {} when any is absent."""
    here = obj
    for i, key in enumerate(keys):
        value = here.get(key)
        here = value if isinstance(value, Mapping) else _object(value, what, ": ", ".".join(keys[:i + 1]))
    return here


def _text(value: Any, *what: str) -> str | None:
    """A string field (a number too, as generation is): None when absent or empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KKPObjectError(f"{''.join(what)} is {_kind_of(value)}, not a string")
    return str(value)


def _flag(value: Any, *what: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise KKPObjectError(f"{''.join(what)} is {_kind_of(value)}, not true or false")
    return value


def _name(obj: Mapping[str, Any], kind: str) -> str:
    if not isinstance(obj, Mapping):
        raise KKPObjectError(f"a {kind} is {_kind_of(obj)}, not an object")
    return _text(_object(obj.get("metadata"), kind, " metadata").get("name"), kind, " metadata.name") or ""


def _reference(ref: Mapping[str, Any], what: str) -> SecretRef | None:
    name, namespace = _text(ref.get("name"), what, ".name"), _text(ref.get("namespace"), what, ".namespace")
    return (namespace, name) if name and namespace else None


# --- Cluster ---

def read_cluster(cluster: Mapping[str, Any], require_reference: bool = True) -> KKPCluster | None:
    """A Cluster on AWS, or None for a Cluster of another provider or, with `require_reference`, one that names no
    credential Secret (a manifest given to the CLI needs none)."""
    name = _name(cluster, "Cluster")
    what = f"Cluster {name}" if name else "Cluster"
    spec = _path(cluster, what, "spec")
    cloud = _path(cluster, what, "spec", "cloud")
    aws = cloud.get("aws")
    if not isinstance(aws, Mapping):
        return None  # another provider (an AWS Cluster's spec.cloud.aws is an object, however empty)
    where = (what, ": spec.cloud.aws")
    ref = aws.get("credentialsReference")
    secret = None if ref is None else _reference(_object(ref, *where, ".credentialsReference"),
                                                 f"{what}: spec.cloud.aws.credentialsReference")
    if require_reference and secret is None:
        return None
    target = Target(
        cluster=name or None,
        datacenter=_text(cloud.get("dc"), what, ": spec.cloud.dc"),
        kubernetes_version=_text(spec.get("version"), what, ": spec.version"),
        control_plane_role=_text(aws.get("roleARN"), *where, ".roleARN"),
        instance_profile=_text(aws.get("instanceProfileName"), *where, ".instanceProfileName"),
        security_group_id=_text(aws.get("securityGroupID"), *where, ".securityGroupID"),
        vpc_id=_text(aws.get("vpcID"), *where, ".vpcID"),
        disable_iam_reconciling=_flag(aws.get("disableIAMReconciling"), *where, ".disableIAMReconciling"))
    versions = _kkp_versions(cluster, what)
    return KKPCluster(
        target, secret,
        assume_role_arn=_text(aws.get("assumeRoleARN"), *where, ".assumeRoleARN"),
        external_id=_text(aws.get("assumeRoleExternalID"), *where, ".assumeRoleExternalID"),
        generation=_text(_object(cluster.get("metadata")).get("generation"), what, ": metadata.generation"),
        kkp_version=versions[-1] if versions else None)


def cluster_kkp_versions(cluster: Mapping[str, Any]) -> tuple[str, ...]:
    """The KKP versions a Cluster's conditions report, sorted (a map by condition type in KKP's API, each with
    kubermaticVersion: kubermatic/kubermatic@v2.31.0:sdk/apis/kubermatic/v1/cluster.go:646-647; a list is read too)."""
    name = _name(cluster, "Cluster")
    return _kkp_versions(cluster, f"Cluster {name}" if name else "Cluster")


def _kkp_versions(cluster: Mapping[str, Any], what: str) -> tuple[str, ...]:
    conditions = _path(cluster, what, "status").get("conditions") or {}
    if isinstance(conditions, Mapping):
        entries: Any = conditions.values()
    elif isinstance(conditions, list):
        entries = conditions
    else:
        raise KKPObjectError(f"{what}: status.conditions is {_kind_of(conditions)}, not an object")
    if not entries:
        return ()
    return tuple(sorted({str(c["kubermaticVersion"]) for c in entries
                         if isinstance(c, Mapping) and c.get("kubermaticVersion")}))


def control_plane(cluster: Mapping[str, Any]) -> ControlPlane:
    """Where a Cluster's control plane (and KKP's copy of its credential) lives, and what it was created from."""
    name = _name(cluster, "Cluster")
    what = f"Cluster {name}"
    meta = _object(cluster.get("metadata"))
    annotations = _object(meta.get("annotations"), what, ": metadata.annotations")
    return ControlPlane(
        name, _text(_path(cluster, what, "status").get("namespaceName"), what, ": status.namespaceName")
        or f"cluster-{name}",
        paused=_flag(_path(cluster, what, "spec").get("pause"), what, ": spec.pause"),
        uid=_text(meta.get("uid"), what, ": metadata.uid") or "",
        preset=_text(annotations.get(PRESET_ANNOTATION), what, f": the {PRESET_ANNOTATION} annotation"))


# --- Seed ---

def seed_regions(seed: Mapping[str, Any]) -> dict[str, str]:
    """Datacenter name -> AWS region, from a Seed (spec.datacenters[<dc>].spec.aws.region); other providers' are
    left out."""
    what = f"Seed {_name(seed, 'Seed')}".rstrip()
    out: dict[str, str] = {}
    for name, dc in _path(seed, what, "spec", "datacenters").items():
        at = f"{what}: datacenter {name}"
        region = _text(_path(_object(dc, at), at, "spec", "aws").get("region"), at, ": spec.aws.region")
        if region:
            out[str(name)] = region
    return out


def seed_kkp_version(seed: Mapping[str, Any]) -> str | None:
    """The KKP version a Seed reports (status.versions.kubermatic)."""
    what = f"Seed {_name(seed, 'Seed')}".rstrip()
    return _text(_path(seed, what, "status", "versions").get("kubermatic"), what, ": status.versions.kubermatic")


# --- Preset ---

def preset_aws(preset: Mapping[str, Any]) -> PresetAWS | None:
    """A Preset's spec.aws, or None when it has none (or an empty one: a Preset for other providers)."""
    what = f"Preset {_name(preset, 'Preset')}".rstrip()
    aws = _path(preset, what, "spec", "aws")
    if not aws:
        return None
    where = f"{what}: spec.aws"
    return PresetAWS({str(k): v.encode() for k, v in aws.items() if isinstance(v, str)},
                     _text(aws.get("assumeRoleARN"), where, ".assumeRoleARN"),
                     _text(aws.get("assumeRoleExternalID"), where, ".assumeRoleExternalID"))


# --- ExternalCluster ---

def read_external_cluster(external: Mapping[str, Any]) -> ImportedEKS | None:
    """An imported EKS cluster (spec.cloudSpec.eks), or None for another kind of ExternalCluster."""
    name = _name(external, "ExternalCluster")
    what = f"ExternalCluster {name}".rstrip()
    eks = _path(external, what, "spec", "cloudSpec").get("eks")
    if not isinstance(eks, Mapping):
        return None
    where = f"{what}: spec.cloudSpec.eks"
    return ImportedEKS(name, _text(eks.get("name"), where, ".name"), _text(eks.get("region"), where, ".region"),
                       _reference(_object(eks.get("credentialsReference"), where, ".credentialsReference"),
                                  f"{where}.credentialsReference"))
