"""Where a check's credential comes from, read through the Kubernetes API: a Secret (KKP's key names or the check's
own), a Preset's spec.aws, and the external ID a Cluster sends with its assume-role. The operator's reconcile and the
CLI (`credcheck check --secret`) read them here, with the same words for what is wrong.

Blocking (Kubernetes reads): the operator calls it from a worker thread.
"""

from collections.abc import Mapping
from typing import Any, Protocol

from credcheck.engine.credential import (
    PRESET_ACCESS_KEY_ID_KEY,
    SECRET_ACCESS_KEY_KEY,
    CredentialProblem,
    parse_credential,
)
from credcheck.engine.model import AssumeRole, Credential, Status, Verdict
from credcheck.kube.client import ReadFailure
from credcheck.kube.contract import EXTERNAL_ID
from credcheck.kube.kkp import KKPObjectError, preset_aws, read_cluster
from credcheck.kube.spec import CheckSpec, PresetSource, SecretSource

_EXTERNAL_ID_RULE = "2-1224 characters of letters, digits and _+=,.@:/-"


class SourceReads(Protocol):
    """The Kubernetes reads a check's source takes (kube.client.Kube makes them)."""

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | ReadFailure: ...

    def preset(self, name: str) -> dict[str, Any] | ReadFailure: ...

    def cluster(self, name: str) -> dict[str, Any] | ReadFailure: ...


def _misconfigured(reason: str, message: str) -> Verdict:
    return Verdict(Status.MISCONFIGURED, reason, message)


def _invalid(reason: str, message: str) -> Verdict:
    return Verdict(Status.INVALID, reason, message)


def secret_credential(kube: SourceReads, namespace: str, source: SecretSource,
                      secret_data: Mapping[str, bytes] | None = None) -> Credential | Verdict:
    """The keys in a Secret (`secret_data` stands in for its stored data: admission sees a write before it is
    stored); an unreadable Secret or malformed keys are an Invalid verdict."""
    data = secret_data if secret_data is not None else kube.secret_data(namespace, source.name)
    if isinstance(data, ReadFailure):
        return _invalid(data.reason, data.message)
    parsed = parse_credential(data, source.access_key_id_key, source.secret_access_key_key)
    return _invalid(parsed.reason, parsed.message) if isinstance(parsed, CredentialProblem) else parsed


def preset_credential(kube: SourceReads, source: PresetSource,
                      own_role: bool = True) -> tuple[Credential, AssumeRole | None] | Verdict:
    """The keys in a Preset's spec.aws, and (with `own_role`: the check names none) the assume-role it sets (KKP
    copies both into the Clusters made from it)."""
    found = kube.preset(source.name)
    if isinstance(found, ReadFailure):
        return _invalid(found.reason, found.message)
    try:
        aws = preset_aws(found)
    except KKPObjectError as err:
        return _misconfigured("InvalidPreset", f"{err}: fix the Preset")
    if aws is None:
        return _misconfigured("PresetHasNoAWS", f"Preset {source.name} has no spec.aws")
    parsed = parse_credential(aws.data, PRESET_ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY, where="Preset")
    role = None
    if own_role and aws.assume_role_arn:
        if aws.external_id is not None and not EXTERNAL_ID.fullmatch(aws.external_id):  # never sent, never quoted
            return _misconfigured("InvalidExternalID", f"Preset {source.name}: spec.aws.assumeRoleExternalID is not an "
                                  f"external ID AWS accepts ({_EXTERNAL_ID_RULE}): fix the Preset")
        role = AssumeRole(aws.assume_role_arn, aws.external_id)
    if isinstance(parsed, CredentialProblem):
        return _invalid(parsed.reason, parsed.message)
    return parsed, role


def cluster_external_id(kube: SourceReads, namespace: str, spec: CheckSpec, role_arn: str,
                        cluster: str) -> str | Verdict | None:
    """The external ID a Cluster sends with its assume-role, read now (no check or annotation stores it): only for
    that Cluster's own credential Secret and role, so a check can never pair it with other keys or another role."""
    found = kube.cluster(cluster)
    if isinstance(found, ReadFailure):
        return _misconfigured("ExternalIDUnavailable", found.message)
    try:
        use = read_cluster(found, require_reference=False)
    except KKPObjectError as err:
        return _misconfigured("ExternalIDUnavailable", f"{err}: fix the Cluster")
    secret = spec.source.name if isinstance(spec.source, SecretSource) else None
    if use is None or use.secret != (namespace, secret) or use.assume_role_arn != role_arn:
        return _misconfigured("ExternalIDUnavailable",
                              f"Cluster {cluster} does not assume {role_arn} with Secret {namespace}/{secret}: its "
                              "external ID is used only with its own credential and role (discovery updates the "
                              "check when the Cluster changes)")
    if use.external_id is not None and not EXTERNAL_ID.fullmatch(use.external_id):  # never sent, never quoted (#33)
        return _misconfigured("InvalidExternalID", f"Cluster {cluster}: spec.cloud.aws.assumeRoleExternalID is not "
                              f"an external ID AWS accepts ({_EXTERNAL_ID_RULE}): fix the Cluster")
    return use.external_id


def read_source(kube: SourceReads, namespace: str, spec: CheckSpec,
                secret_data: Mapping[str, bytes] | None = None) -> tuple[Credential, AssumeRole | None] | Verdict:
    """A check's credential and the role it assumes (the spec's, its external ID from the Cluster it names, else a
    Preset's own); a Verdict saying why when it cannot be read."""
    wanted = spec.assume_role
    role = AssumeRole(wanted.role_arn, wanted.external_id) if wanted else None
    if wanted is not None and wanted.external_id_from_cluster:
        external = cluster_external_id(kube, namespace, spec, wanted.role_arn, wanted.external_id_from_cluster)
        if isinstance(external, Verdict):
            return external
        role = AssumeRole(wanted.role_arn, external)
    if isinstance(spec.source, SecretSource):
        credential = secret_credential(kube, namespace, spec.source, secret_data)
        return credential if isinstance(credential, Verdict) else (credential, role)
    preset = preset_credential(kube, spec.source, own_role=role is None)
    if isinstance(preset, Verdict):
        return preset
    return preset[0], role or preset[1]
