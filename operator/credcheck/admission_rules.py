"""What the admission webhook says about a write (pure): problems with a check's spec or a credential."""

import re
from collections.abc import Mapping
from typing import Any

from credcheck.contract import MAX_INTERVAL, MIN_INTERVAL, ROLE_ARN
from credcheck.credential import credential_problems
from credcheck.requirements.profiles import BUILTIN
from credcheck.settings import parse_duration

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


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
    if role.get("externalID") is not None and not re.fullmatch(r"[\w+=,.@:/-]{2,1224}", str(role["externalID"])):
        problems.append("spec.assumeRole.externalID must be 2-1224 characters of letters, digits and +=,.@:/-")
    profile = str((spec.get("requirements") or {}).get("profile") or "kkp")
    if profile not in BUILTIN and not re.fullmatch(r"configmap:[a-z0-9]([-a-z0-9.]*[a-z0-9])?(/[-._a-zA-Z0-9]+)?",
                                                   profile):
        problems.append(f"spec.requirements.profile {profile!r} is unknown: use {', '.join(BUILTIN)} "
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
