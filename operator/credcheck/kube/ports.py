"""The Kubernetes API as the controller and the CLI call it, by role: what each caller needs of kube.client.Kube.

Each caller is typed with the smallest role it uses, so a test hands it a fake of that role (tests/helpers/fakes.py:
FakeKube plays them all) and the type checker holds the fake to the real client's signatures.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from credcheck.kube.client import LIST_PAGE, ReadFailure


class SourceReader(Protocol):
    """What a check reads: the credential's source (Secret, Preset), the Cluster it is for, a ConfigMap profile."""

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | ReadFailure: ...

    def preset(self, name: str) -> dict[str, Any] | ReadFailure: ...

    def cluster(self, name: str) -> dict[str, Any] | ReadFailure: ...

    def config_map_value(self, namespace: str, name: str, key: str) -> str | ReadFailure: ...


class ClusterKeysReader(Protocol):
    """What the rotation check reads of a KKP Cluster: the Cluster, its Secret copy, its Deployments, its Preset."""

    def cluster(self, name: str) -> dict[str, Any] | ReadFailure: ...

    def copy_secret(self, namespace: str, name: str) -> tuple[dict[str, bytes], str] | ReadFailure: ...

    def deployments(self, namespace: str) -> list[dict[str, Any]] | ReadFailure: ...

    def preset(self, name: str) -> dict[str, Any] | ReadFailure: ...


class CheckWriter(Protocol):
    """AWSCredentialChecks: the only objects credcheck writes."""

    def get_check(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def create_check(self, manifest: dict[str, Any]) -> None: ...

    def patch_check(self, namespace: str, name: str, patch: dict[str, Any],
                    resource_version: str | None = None) -> None: ...

    def patch_check_status(self, namespace: str, name: str, status: dict[str, Any],
                           resource_version: str | None = None) -> None: ...

    def delete_check(self, namespace: str, name: str, resource_version: str | None = None) -> bool: ...


class Watcher(Protocol):
    """Lists and watches of any kind, for the informers."""

    def list_page(self, path: str, *, metadata_only: bool = False, limit: int = LIST_PAGE,
                  cont: str | None = None) -> tuple[list[dict[str, Any]], str, str | None]: ...

    def watch(self, path: str, resource_version: str, timeout_seconds: float, *, metadata_only: bool = False,
              opened: Callable[[Any], None] | None = None) -> Iterator[dict[str, Any]]: ...


class ClusterEventWriter(Protocol):
    """Events about KKP Clusters (the Cluster is read for its uid; an Event about it is not a write to it)."""

    def cluster(self, name: str) -> dict[str, Any] | ReadFailure: ...

    def get_event(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def create_event(self, event: dict[str, Any]) -> None: ...

    def patch_event(self, namespace: str, name: str, patch: dict[str, Any]) -> None: ...


class AccessReviewer(Protocol):
    """SubjectAccessReviews: may the maker of a check read what it points at?"""

    def may(self, user: Mapping[str, Any], verb: str, group: str, resource: str, *, name: str,
            namespace: str | None = None) -> bool: ...


class LeaseKeeper(Protocol):
    """The leader election's one coordination.k8s.io Lease."""

    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def create_lease(self, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]: ...

    def update_lease(self, namespace: str, name: str, spec: dict[str, Any],
                     resource_version: str) -> dict[str, Any]: ...


class KubeApi(SourceReader, ClusterKeysReader, CheckWriter, Watcher, ClusterEventWriter, AccessReviewer, Protocol):
    """Every role the operator's shared client plays (Runtime.kube); leases have a client of their own."""
