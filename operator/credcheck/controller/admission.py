"""What the admission webhook says about a write (pure): which writes it judges, what a check's maker must be
allowed to read, and problems with a check's spec or a credential.

The webhook judges only changes: an UPDATE that leaves a check's spec, a Secret's data or a Preset's spec.aws as
they were passes (kopf's and discovery's metadata patches, labels, finalizers), and so does any write to an object
being deleted. The CRD enforces the check's shape itself (CEL rules; stored objects are ratcheted), so a rule
added later never locks an existing object.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credcheck.controller.settings import parse_duration
from credcheck.engine.credential import credential_problems
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.contract import EXTERNAL_ID, KKP_GROUP, MAX_INTERVAL, MIN_INTERVAL, ROLE_ARN

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
PROFILE_REFERENCE = re.compile(r"configmap:[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[-._a-zA-Z0-9]+)?")
JUDGED = ("CREATE", "UPDATE")


def being_deleted(obj: Mapping[str, Any] | None) -> bool:
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def judged(operation: str, obj: Mapping[str, Any] | None, old: Mapping[str, Any] | None, part: str) -> bool:
    """Whether the webhook looks at a write at all: a CREATE, or an UPDATE that changes `part` (spec, data, …) of
    an object not being deleted."""
    if operation not in JUDGED or being_deleted(obj) or being_deleted(old):
        return False
    return operation == "CREATE" or _part(obj, part) != _part(old, part)


def _part(obj: Mapping[str, Any] | None, path: str) -> Any:
    value: Any = obj or {}
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if value not in ({}, []) else None


def secret_data(obj: Mapping[str, Any] | None) -> dict[str, bytes]:
    """A Secret's data as the apiserver will store it (stringData folded in; undecodable values kept raw)."""
    out: dict[str, bytes] = {}
    for key, value in ((obj or {}).get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            out[str(key)] = str(value).encode()
    out.update({str(k): str(v).encode() for k, v in ((obj or {}).get("stringData") or {}).items()})
    return out


@dataclass(frozen=True)
class Access:
    """One `get` a check's maker must be allowed: what a check reads acts with the rights of whoever writes it."""

    group: str
    resource: str
    name: str
    namespace: str | None
    what: str  # for the refusal: "Secret kubermatic/x"


def required_access(namespace: str, spec: Mapping[str, Any]) -> list[Access]:
    """The reads a check's spec makes on its maker's behalf: its source Secret or Preset, and the Cluster whose
    assume-role external ID it uses."""
    source = spec.get("source") or {}
    needed: list[Access] = []
    secret = (source.get("secretRef") or {}).get("name")
    if secret:
        needed.append(Access("", "secrets", str(secret), namespace, f"Secret {namespace}/{secret}"))
    preset = (source.get("presetRef") or {}).get("name")
    if preset:
        needed.append(Access(KKP_GROUP, "presets", str(preset), None, f"Preset {preset}"))
    cluster = (((spec.get("assumeRole") or {}).get("externalIDFrom")) or {}).get("cluster")
    if cluster:
        needed.append(Access(KKP_GROUP, "clusters", str(cluster), None, f"Cluster {cluster}"))
    return needed


def new_problems(spec: Mapping[str, Any], old_spec: Mapping[str, Any] | None) -> list[str]:
    """The problems a spec change brings: those the stored spec already had are the CRD's to ratchet."""
    before = set(check_spec_problems(old_spec)) if old_spec else set()
    return [p for p in check_spec_problems(spec) if p not in before]


def check_spec_problems(spec: Mapping[str, Any]) -> list[str]:
    """Why an AWSCredentialCheck spec cannot work; empty when it can."""
    problems: list[str] = []
    source = spec.get("source") or {}
    if ("secretRef" in source) == ("presetRef" in source):
        problems.append("spec.source needs exactly one of secretRef and presetRef")
    role = spec.get("assumeRole") or {}
    if role and not ROLE_ARN.match(str(role.get("roleARN", ""))):
        problems.append(f"spec.assumeRole.roleARN {role.get('roleARN')!r} is not an IAM role ARN "
                        "(arn:aws:iam::123456789012:role/NAME)")
    if role.get("externalID") is not None and not EXTERNAL_ID.fullmatch(str(role["externalID"])):
        problems.append("spec.assumeRole.externalID must be 2-1224 characters of letters, digits and +=,.@:/-")
    if role.get("externalID") is not None and role.get("externalIDFrom"):
        problems.append("spec.assumeRole takes externalID or externalIDFrom, not both")
    requirements = spec.get("requirements") or {}
    for key in ("profile", "upgradeProfile"):
        profile = requirements.get(key)
        if profile is not None and profile not in BUILTIN and not PROFILE_REFERENCE.fullmatch(str(profile)):
            problems.append(f"spec.requirements.{key} {profile!r} is unknown: use {', '.join(BUILTIN)} "
                            "or configmap:NAME/KEY")
    interval = spec.get("interval")
    if interval is not None:
        try:
            seconds = parse_duration(str(interval))
        except ValueError as err:
            problems.append(f"spec.interval: {err}")
        else:
            if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
                problems.append(f"spec.interval {interval!r} is out of range: use 5m to 168h")
    region = spec.get("region")
    if region is not None and not REGION.match(str(region)):
        problems.append(f"spec.region {region!r} is not an AWS region name")
    return problems


def secret_problems(data: Mapping[str, bytes]) -> list[str]:
    """Problems with a KKP credential Secret's data; messages never contain the values."""
    return [p.message for p in credential_problems(data)]


def preset_problems(aws: Mapping[str, Any]) -> list[str]:
    """Problems with a Preset's spec.aws (KKP spells the key id accessKeyID there)."""
    data = {k: str(v).encode() for k, v in aws.items() if k in ("accessKeyID", "secretAccessKey") and v is not None}
    if not data:
        return []  # a Preset that takes its AWS credential from elsewhere
    problems = [f"spec.aws: {p.message}" for p in credential_problems(data, "accessKeyID", "secretAccessKey",
                                                                          where="Preset")]
    role = aws.get("assumeRoleARN")
    if role and not ROLE_ARN.match(str(role)):
        problems.append(f"spec.aws.assumeRoleARN {role!r} is not an IAM role ARN")
    return problems
