"""Keeps discovered AWSCredentialChecks in step with KKP's Secrets, Clusters and Presets (blocking calls)."""

from credcheck.contract import ANNOTATION_NOTE, LABEL_DISCOVERED
from credcheck.discovery.desired import (
    check_name_for_preset,
    check_name_for_secret,
    desired_for_preset,
    desired_for_secret,
    needs_update,
)
from credcheck.discovery.kkp import CheckSettings
from credcheck.runtime import Runtime


def ensure_secret_check(runtime: Runtime, namespace: str, secret_name: str, resource_version: str,
                        uses: CheckSettings) -> str:
    settings = runtime.settings
    desired = desired_for_secret(namespace, secret_name, resource_version=resource_version, uses=uses,
                                 profile=settings.profile, interval=settings.interval)
    return _ensure(runtime, desired)


def ensure_preset_check(runtime: Runtime, preset_name: str, resource_version: str, assume_role_arn: str | None,
                        external_id: str | None) -> str:
    settings = runtime.settings
    desired = desired_for_preset(settings.operator_namespace, preset_name, resource_version=resource_version,
                                 profile=settings.profile, interval=settings.interval,
                                 assume_role_arn=assume_role_arn, external_id=external_id)
    return _ensure(runtime, desired)


def _ensure(runtime: Runtime, desired: dict[str, object]) -> str:
    meta = desired["metadata"]
    assert isinstance(meta, dict)
    current = runtime.kube.get_check(meta["namespace"], meta["name"])
    if current is None:
        runtime.kube.create_check(desired)
        return "created"
    if (current.get("metadata", {}).get("labels") or {}).get(LABEL_DISCOVERED) != "true":
        return "user-owned"  # a check an admin made by hand with the same name: leave it alone
    if not needs_update(current, desired):
        return "unchanged"
    spec = dict(desired["spec"])  # type: ignore[call-overload]
    if "assumeRole" not in spec:
        spec["assumeRole"] = None  # merge patch: drop a role the Clusters no longer set
    annotations = {**meta["annotations"], ANNOTATION_NOTE: meta["annotations"].get(ANNOTATION_NOTE)}
    runtime.kube.patch_check(meta["namespace"], meta["name"], {"metadata": {"annotations": annotations},
                                                               "spec": spec})
    return "updated"


def remove_secret_check(runtime: Runtime, namespace: str, secret_name: str) -> bool:
    return _remove(runtime, namespace, check_name_for_secret(secret_name))


def remove_preset_check(runtime: Runtime, preset_name: str) -> bool:
    return _remove(runtime, runtime.settings.operator_namespace, check_name_for_preset(preset_name))


def _remove(runtime: Runtime, namespace: str, name: str) -> bool:
    current = runtime.kube.get_check(namespace, name)
    if current is None or (current.get("metadata", {}).get("labels") or {}).get(LABEL_DISCOVERED) != "true":
        return False
    return runtime.kube.delete_check(namespace, name)
