"""What the admission webhook says about a write (pure): which writes it judges, what a check's maker must be
allowed to read, and problems with a check's spec or a credential.

The webhook judges only changes: an UPDATE that leaves a check's spec, a Secret's data or a Preset's spec.aws as
they were passes (kopf's and discovery's metadata patches, labels, finalizers), and so does any write to an object
being deleted. The CRD enforces the check's shape itself (CEL rules; stored objects are ratcheted), so a rule
added later never locks an existing object.
"""

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from credcheck.engine.credential import PRESET_ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY, credential_problems
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.contract import KKP_GROUP, LABEL_DISCOVERED, ROLE_ARN
from credcheck.kube.kkp import KKPObjectError, preset_aws
from credcheck.kube.spec import CheckSpec, SecretSource, new_problems

JUDGED = ("CREATE", "UPDATE")


def being_deleted(obj: Mapping[str, Any] | None) -> bool:
    return bool(((obj or {}).get("metadata") or {}).get("deletionTimestamp"))


def judged(operation: str, obj: Mapping[str, Any] | None, old: Mapping[str, Any] | None, part: str, *,
           deleting_too: bool = False) -> bool:
    """Whether the webhook looks at a write at all: a CREATE, or an UPDATE that changes `part` (spec, data, …) of
    an object not being deleted (`deleting_too`: being deleted or not, as for checks, whose spec acts until they
    are gone)."""
    if operation not in JUDGED or (not deleting_too and (being_deleted(obj) or being_deleted(old))):
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


OWN_SERVICE_ACCOUNT = "credcheck"  # the chart's ServiceAccount, in the operator's namespace


def own_username(operator_namespace: str) -> str:
    return f"system:serviceaccount:{operator_namespace}:{OWN_SERVICE_ACCOUNT}"


def _discovered_label(obj: Mapping[str, Any] | None) -> str | None:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    value = labels.get(LABEL_DISCOVERED) if isinstance(labels, Mapping) else None
    return None if value is None else str(value)


def ownership_problem(operation: str, obj: Mapping[str, Any] | None, old: Mapping[str, Any] | None,
                      username: str, own: str) -> str | None:
    """Discovery owns (updates, adopts, deletes) exactly the checks labelled credcheck.io/discovered, so only
    credcheck itself may set, change or remove that label: a user's label would make discovery overwrite or delete
    a check, or hide a Secret from discovery (issue 33). None when the write may pass."""
    if operation not in JUDGED or username == own:
        return None
    new, before = _discovered_label(obj), (_discovered_label(old) if operation == "UPDATE" else None)
    if new == before:
        return None
    return (f"{username or 'an unnamed user'} may not set or change the label {LABEL_DISCOVERED}: discovery owns "
            "the checks that carry it (it rewrites and deletes them); only credcheck itself labels a check so")


@dataclass(frozen=True)
class Access:
    """One `get` a check's maker must be allowed: what a check reads acts with the rights of whoever writes it."""

    group: str
    resource: str
    name: str
    namespace: str | None
    what: str  # for the refusal: "Secret kubermatic/x"


def required_access(namespace: str, spec: CheckSpec) -> list[Access]:
    """The reads a check's spec makes on its maker's behalf: its source Secret or Preset, the Cluster whose
    assume-role external ID it uses, and the ConfigMaps its profiles come from."""
    if isinstance(spec.source, SecretSource):
        needed = [Access("", "secrets", spec.source.name, namespace, f"Secret {namespace}/{spec.source.name}")]
    else:
        needed = [Access(KKP_GROUP, "presets", spec.source.name, None, f"Preset {spec.source.name}")]
    cluster = spec.assume_role.external_id_from_cluster if spec.assume_role else None
    if cluster:
        needed.append(Access(KKP_GROUP, "clusters", cluster, None, f"Cluster {cluster}"))
    for profile in dict.fromkeys((spec.requirements.profile, spec.requirements.upgrade_profile)):
        if profile and profile.startswith("configmap:"):  # read with credcheck's rights: its maker's first (#33)
            config_map = profile.removeprefix("configmap:").partition("/")[0]
            needed.append(Access("", "configmaps", config_map, namespace, f"ConfigMap {namespace}/{config_map}"))
    return needed


def spec_problems(spec: Mapping[str, Any], old_spec: Mapping[str, Any] | None) -> list[str]:
    """What the webhook refuses in a check's spec: the problems kube.spec's parser finds that the stored spec did
    not already have (those are the CRD's to ratchet)."""
    return [p.message for p in new_problems(spec, old_spec, BUILTIN)]


def secret_problems(data: Mapping[str, bytes]) -> list[str]:
    """Problems with a KKP credential Secret's data; messages never contain the values."""
    return [p.message for p in credential_problems(data)]


def preset_problems(preset: Mapping[str, Any]) -> list[str]:
    """Problems with a Preset's spec.aws (KKP spells the key id accessKeyID there), read by kube.kkp."""
    try:
        aws = preset_aws(preset)
    except KKPObjectError as err:
        return [str(err)]
    keys = (PRESET_ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY)
    data = {k: v for k, v in (aws.data if aws else {}).items() if k in keys}
    if aws is None or not data:
        return []  # a Preset that takes its AWS credential from elsewhere
    problems = [f"spec.aws: {p.message}" for p in credential_problems(data, *keys, where="Preset")]
    role = aws.assume_role_arn
    if role and not ROLE_ARN.match(role):
        problems.append(f"spec.aws.assumeRoleARN {role!r} is not an IAM role ARN")
    return problems
