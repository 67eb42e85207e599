"""The Kubernetes API as the operator uses it: read KKP's objects, write only AWSCredentialChecks."""

import base64
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from credcheck.discovery import GROUP, PLURAL, VERSION
from credcheck.kkp import CLUSTER_GROUP, CLUSTER_VERSION


@dataclass(frozen=True)
class ReadFailure:
    reason: str  # SecretNotFound | SecretForbidden | PresetNotFound | ...
    message: str


def load_config() -> None:
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]


class Kube:
    def __init__(self, api: client.ApiClient | None = None) -> None:
        self.api = api or client.ApiClient()
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | ReadFailure:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as err:
            if err.status == 404:
                return ReadFailure("SecretNotFound", f"Secret {namespace}/{name} does not exist: create it, or fix "
                                   "spec.source.secretRef.name")
            if err.status == 403:
                return ReadFailure("SecretForbidden", f"credcheck may not read Secret {namespace}/{name}: grant its "
                                   "ServiceAccount get on Secrets in this namespace (add it to the watched namespaces)")
            raise
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def secret_version(self, namespace: str, name: str) -> str | None:
        """The Secret's resourceVersion (its data is read by the API but dropped here), or None if absent."""
        try:
            meta = self.core.read_namespaced_secret(name, namespace).metadata
            return str(meta.resource_version) if meta else ""
        except ApiException as err:
            if err.status in (403, 404):
                return None
            raise

    def preset(self, name: str) -> dict[str, Any] | ReadFailure:
        try:
            found: Any = self.custom.get_cluster_custom_object(
                CLUSTER_GROUP, CLUSTER_VERSION, "presets", name)
        except ApiException as err:
            if err.status == 404:
                return ReadFailure("PresetNotFound", f"Preset {name} does not exist: fix spec.source.presetRef.name")
            if err.status == 403:
                return ReadFailure("PresetForbidden", f"credcheck may not read Preset {name}: grant get on presets")
            raise
        return dict(found)

    def config_map_value(self, namespace: str, name: str, key: str) -> str | ReadFailure:
        try:
            cm = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as err:
            if err.status in (403, 404):
                return ReadFailure("InvalidProfile", f"profile ConfigMap {namespace}/{name} cannot be read "
                                   f"(HTTP {err.status}): create it or grant get on it")
            raise
        value = (cm.data or {}).get(key)
        if value is None:
            return ReadFailure("InvalidProfile", f"profile ConfigMap {namespace}/{name} has no key {key!r}")
        return str(value)

    # --- AWSCredentialChecks: the only objects credcheck writes ---
    def get_check(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found: Any = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        return dict(found)

    def create_check(self, manifest: dict[str, Any]) -> None:
        try:
            self.custom.create_namespaced_custom_object(GROUP, VERSION, manifest["metadata"]["namespace"], PLURAL,
                                                        manifest)
        except ApiException as err:
            if err.status != 409:  # created meanwhile by another event: the next event reconciles it
                raise

    def patch_check(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name, patch)

    def delete_check(self, namespace: str, name: str) -> bool:
        try:
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)
        except ApiException as err:
            if err.status == 404:
                return False
            raise
        return True
