"""An AWSCredentialCheck's spec as a typed value, parsed once where a handler receives the object (pure).

`parse_check` turns a stored check into a `CheckObject` (its spec and what discovery wrote beside it); `parse_spec`
is the same rules for a spec alone, so the admission webhook's refusals are exactly this module's problems, and a
stored object that no longer passes them (the CRD ratchets old objects) gets the same words as a condition.
`CheckSpec.to_manifest` is how discovery and the webhook's live check write a spec: nothing else builds one.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from credcheck.engine.credential import ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY
from credcheck.engine.target import Target
from credcheck.kube.bounds import bound_problems
from credcheck.kube.contract import (
    ANNOTATION_CLUSTERS,
    ANNOTATION_CONFLICT,
    ANNOTATION_KKP_VERSIONS,
    ANNOTATION_PROBLEM,
    EXTERNAL_ID,
    LABEL_DISCOVERED,
    MAX_INTERVAL,
    MIN_INTERVAL,
    ROLE_ARN,
    parse_duration,
)

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
PROFILE_REFERENCE = re.compile(r"configmap:[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[-._a-zA-Z0-9]+)?")


@dataclass(frozen=True)
class SpecProblem:
    """Why a spec cannot work: `reason` is the condition's reason, `message` tells the admin what to change."""

    reason: str
    message: str


@dataclass(frozen=True)
class SecretSource:
    name: str
    access_key_id_key: str = ACCESS_KEY_ID_KEY
    secret_access_key_key: str = SECRET_ACCESS_KEY_KEY


@dataclass(frozen=True)
class PresetSource:
    name: str


@dataclass(frozen=True)
class AssumeRoleSpec:
    role_arn: str
    external_id: str | None = None
    external_id_from_cluster: str | None = None  # the Cluster whose spec.cloud.aws.assumeRoleExternalID to read


# a spec.clusters[] entry is a Target (engine.target: one KKP Cluster, discovery to engine): its attribute -> the
# check's YAML field (the CRD's names; disableIAMReconciling is written only when true)
_CLUSTER_FIELDS = (("cluster", "name"), ("datacenter", "datacenter"), ("region", "region"),
                   ("kubernetes_version", "kubernetesVersion"), ("control_plane_role", "roleARN"),
                   ("instance_profile", "instanceProfileName"), ("security_group_id", "securityGroupID"),
                   ("vpc_id", "vpcID"))


@dataclass(frozen=True)
class Requirements:
    profile: str | None = None
    upgrade_profile: str | None = None
    include_recommended: bool | None = None
    skip_features: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckSpec:
    """What a check asks, as written; unset fields take the operator's defaults where they are resolved."""

    source: SecretSource | PresetSource
    assume_role: AssumeRoleSpec | None = None
    requirements: Requirements = field(default_factory=Requirements)
    region: str | None = None
    interval: str | None = None
    interval_seconds: float | None = None  # parsed from `interval`
    clusters: tuple[Target, ...] = ()  # spec.clusters[]: the KKP Clusters the credential serves
    suspend: bool = False

    def to_manifest(self) -> dict[str, Any]:
        """The spec as the CRD stores it (what discovery writes; parse_spec reads it back to an equal value)."""
        if isinstance(self.source, SecretSource):
            ref: dict[str, Any] = {"name": self.source.name}
            if self.source.access_key_id_key != ACCESS_KEY_ID_KEY:
                ref["accessKeyIdKey"] = self.source.access_key_id_key
            if self.source.secret_access_key_key != SECRET_ACCESS_KEY_KEY:
                ref["secretAccessKeyKey"] = self.source.secret_access_key_key
            out: dict[str, Any] = {"source": {"secretRef": ref}}
        else:
            out = {"source": {"presetRef": {"name": self.source.name}}}
        if self.assume_role is not None:
            role: dict[str, Any] = {"roleARN": self.assume_role.role_arn}
            if self.assume_role.external_id is not None:
                role["externalID"] = self.assume_role.external_id
            if self.assume_role.external_id_from_cluster:
                role["externalIDFrom"] = {"cluster": self.assume_role.external_id_from_cluster}
            out["assumeRole"] = role
        req = self.requirements
        requirements: dict[str, Any] = {"skipFeatures": list(req.skip_features)}
        if req.profile is not None:
            requirements["profile"] = req.profile
        if req.upgrade_profile is not None:
            requirements["upgradeProfile"] = req.upgrade_profile
        if req.include_recommended is not None:
            requirements["includeRecommended"] = req.include_recommended
        out["requirements"] = requirements
        if self.region is not None:
            out["region"] = self.region
        if self.interval is not None:
            out["interval"] = self.interval
        if self.clusters or isinstance(self.source, SecretSource):  # [] too: a merge patch then drops old entries
            out["clusters"] = [_cluster_manifest(c) for c in self.clusters]
        if self.suspend:
            out["suspend"] = True
        return out


def _cluster_manifest(entry: Target) -> dict[str, Any]:
    out: dict[str, Any] = {key: getattr(entry, attr) for attr, key in _CLUSTER_FIELDS
                           if getattr(entry, attr) is not None}
    if entry.disable_iam_reconciling:
        out["disableIAMReconciling"] = True
    return out


@dataclass(frozen=True)
class CheckObject:
    """A stored check: its spec (or why it cannot work) and what discovery wrote beside it."""

    namespace: str
    name: str
    generation: int | None
    spec: CheckSpec | None  # None when the spec itself cannot be read
    problems: tuple[SpecProblem, ...]  # why the check cannot work (always some when spec is None)
    discovered: bool = False  # made by discovery (label credcheck.io/discovered)
    used_by: tuple[str, ...] = ()  # the Clusters discovery found using the source
    conflict: str | None = None  # discovery would make a check of this name: why it left this one alone (#33)
    kkp_versions: tuple[tuple[str, str], ...] = ()  # (Cluster, the KKP version it reports), as discovery found


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _source(raw: Mapping[str, Any], problems: list[SpecProblem]) -> SecretSource | PresetSource | None:
    secret, preset = raw.get("secretRef"), raw.get("presetRef")
    if (secret is None) == (preset is None):
        problems.append(SpecProblem("InvalidSource", "spec.source needs exactly one of secretRef and presetRef"))
        return None
    if secret is not None:
        ref = _mapping(secret)
        if not _text(ref.get("name")):
            problems.append(SpecProblem("InvalidSource", "spec.source.secretRef needs a name"))
            return None
        return SecretSource(str(ref["name"]), str(ref.get("accessKeyIdKey") or ACCESS_KEY_ID_KEY),
                            str(ref.get("secretAccessKeyKey") or SECRET_ACCESS_KEY_KEY))
    name = _text(_mapping(preset).get("name"))
    if name is None:
        problems.append(SpecProblem("InvalidSource", "spec.source.presetRef needs a name"))
        return None
    return PresetSource(name)


def _assume_role(raw: Mapping[str, Any], problems: list[SpecProblem]) -> AssumeRoleSpec | None:
    if not raw:
        return None
    arn = str(raw.get("roleARN", ""))
    if not ROLE_ARN.match(arn):
        problems.append(SpecProblem("InvalidAssumeRoleARN", f"spec.assumeRole.roleARN {raw.get('roleARN')!r} is not "
                                    "an IAM role ARN (arn:aws:iam::123456789012:role/NAME)"))
    external = raw.get("externalID")
    if external is not None and not EXTERNAL_ID.fullmatch(str(external)):
        problems.append(SpecProblem("InvalidExternalID", "spec.assumeRole.externalID must be 2-1224 characters of "
                                    "letters, digits and +=,.@:/-"))
    source = _text(_mapping(raw.get("externalIDFrom")).get("cluster"))
    if external is not None and raw.get("externalIDFrom"):
        problems.append(SpecProblem("InvalidExternalID", "spec.assumeRole takes externalID or externalIDFrom, not "
                                    "both"))
    return AssumeRoleSpec(arn, None if external is None else str(external), source)


def _requirements(raw: Mapping[str, Any], builtin: tuple[str, ...], problems: list[SpecProblem]) -> Requirements:
    for key in ("profile", "upgradeProfile"):
        profile = raw.get(key)
        if profile is not None and profile not in builtin and not PROFILE_REFERENCE.fullmatch(str(profile)):
            problems.append(SpecProblem("InvalidProfile", f"spec.requirements.{key} {profile!r} is unknown: use "
                                        f"{', '.join(builtin)} or configmap:NAME/KEY"))
    include = raw.get("includeRecommended")
    return Requirements(_text(raw.get("profile")), _text(raw.get("upgradeProfile")),
                        None if include is None else bool(include),
                        tuple(sorted(str(f) for f in raw.get("skipFeatures") or [])))


def _interval(raw: Any, problems: list[SpecProblem]) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        seconds = parse_duration(str(raw))
    except ValueError as err:
        problems.append(SpecProblem("InvalidInterval", f"spec.interval: {err}"))
        return None
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        problems.append(SpecProblem("InvalidInterval", f"spec.interval {raw!r} is out of range: use 5m to 168h"))
        return None
    return seconds


def _clusters(raw: Any) -> tuple[Target, ...]:
    entries = [e for e in raw or [] if isinstance(e, Mapping)]
    def fields(entry: Mapping[str, Any]) -> dict[str, Any]:
        return {attr: _text(entry.get(key)) for attr, key in _CLUSTER_FIELDS}
    return tuple(Target(**fields(e), disable_iam_reconciling=bool(e.get("disableIAMReconciling", False)))
                 for e in entries)


def parse_spec(raw: Mapping[str, Any] | None, builtin: tuple[str, ...]) -> CheckSpec | list[SpecProblem]:
    """The typed spec, or every reason it cannot work. `builtin` names the built-in profiles."""
    spec = _mapping(raw)
    problems: list[SpecProblem] = []
    source = _source(_mapping(spec.get("source")), problems)
    role = _assume_role(_mapping(spec.get("assumeRole")), problems)
    requirements = _requirements(_mapping(spec.get("requirements")), builtin, problems)
    seconds = _interval(spec.get("interval"), problems)
    region = _text(spec.get("region"))
    if region is not None and not REGION.match(region):
        problems.append(SpecProblem("InvalidRegion", f"spec.region {region!r} is not an AWS region name"))
    problems.extend(SpecProblem(reason, message) for reason, message in bound_problems(spec))  # kube.bounds
    if problems or source is None:
        return problems
    return CheckSpec(source, role, requirements, region, _text(spec.get("interval")), seconds,
                     _clusters(spec.get("clusters")), bool(spec.get("suspend", False)))


def new_problems(raw: Mapping[str, Any] | None, old: Mapping[str, Any] | None,
                 builtin: tuple[str, ...]) -> list[SpecProblem]:
    """The problems a spec change brings: those the stored spec already had are the CRD's to ratchet."""
    def problems(spec: Mapping[str, Any] | None) -> list[SpecProblem]:
        parsed = parse_spec(spec, builtin)
        return parsed if isinstance(parsed, list) else []
    before = set(problems(old)) if old is not None else set()
    return [p for p in problems(raw) if p not in before]


def parse_check(body: Mapping[str, Any], builtin: tuple[str, ...]) -> CheckObject:
    """A stored check, read once: a Cluster's unusable assume-role ARN that discovery could not write into the spec
    (the CRD refuses it) comes as a problem like any other."""
    meta = _mapping(body.get("metadata"))
    annotations, labels = _mapping(meta.get("annotations")), _mapping(meta.get("labels"))
    parsed = parse_spec(_mapping(body.get("spec")), builtin)
    problems = tuple(parsed) if isinstance(parsed, list) else ()
    if annotations.get(ANNOTATION_PROBLEM):
        problems = (SpecProblem("InvalidAssumeRoleARN", str(annotations[ANNOTATION_PROBLEM])), *problems)
    generation = meta.get("generation")
    return CheckObject(
        namespace=str(meta.get("namespace")), name=str(meta.get("name")),
        generation=int(generation) if isinstance(generation, int) else None,
        spec=parsed if isinstance(parsed, CheckSpec) else None, problems=problems,
        discovered=labels.get(LABEL_DISCOVERED) == "true",
        used_by=tuple(c for c in str(annotations.get(ANNOTATION_CLUSTERS) or "").split(",") if c),
        conflict=_text(annotations.get(ANNOTATION_CONFLICT)) if labels.get(LABEL_DISCOVERED) != "true" else None,
        kkp_versions=tuple((c, v) for c, _, v in (pair.partition("=") for pair in
                                                  str(annotations.get(ANNOTATION_KKP_VERSIONS) or "").split(";"))
                           if c and v))
