"""Fakes of the Kubernetes and AWS sides for unit tests, held to the Protocols the operator is typed with
(credcheck.kube.ports, credcheck.engine.aws.ports): mypy checks them against the real client's signatures.

Importable as `fakes`: tests/conftest.py puts this folder on sys.path. Integration tests use a real kube-apiserver
and the test ground's AWS endpoint instead.
"""

import copy
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from credcheck.engine.aws.ports import Clients, RegionalClients
from credcheck.kube.client import ApiError, Conflict, ReadFailure
from credcheck.kube.ports import KubeApi, LeaseKeeper

Key = tuple[str, str]  # (namespace, name)


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the apiserver applies application/merge-patch+json: None deletes a key."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class FakeKube:
    """An in-memory apiserver for every call credcheck makes (kube.ports.KubeApi and LeaseKeeper), answering as the
    real client does: KKP's objects (Secrets, Presets, Clusters, ConfigMaps, a Cluster's Secret copy and Deployments)
    are read from what the test stored, a missing one is its ReadFailure, a stored ReadFailure is answered as is;
    checks, Events and Leases are written with resourceVersions: a create of a name that exists and a write naming
    another resourceVersion are 409 Conflict, a patch of a missing check is 404, a delete of one returns False.
    SubjectAccessReviews allow the (resource, name) pairs in `allowed`.

    Every call is recorded in `calls` (method and names, never data). `before(method, hook)` runs the hook just before
    the next such call (another writer meanwhile; a hook that raises makes the call raise), `fail(method, error)`
    makes every such call raise, `down` makes every call raise ConnectionError (an apiserver away)."""

    def __init__(self, *checks: dict[str, Any], secrets: Mapping[Key, dict[str, bytes] | ReadFailure] | None = None,
                 presets: Mapping[str, dict[str, Any] | ReadFailure] | None = None,
                 clusters: Mapping[str, dict[str, Any] | ReadFailure] | None = None,
                 config_maps: Mapping[tuple[str, str, str], str] | None = None,
                 copies: Mapping[Key, tuple[dict[str, bytes], str] | ReadFailure] | None = None,
                 deployments: Mapping[str, list[dict[str, Any]] | ReadFailure] | None = None,
                 allowed: set[tuple[str, str]] | None = None) -> None:
        self.secrets = dict(secrets or {})
        self.presets = dict(presets or {})
        self.clusters = dict(clusters or {})
        self.config_maps = dict(config_maps or {})
        self.copies = dict(copies or {})
        self.namespace_deployments = dict(deployments or {})
        self.allowed = set(allowed or ())
        self.stored: dict[Key, dict[str, Any]] = {}  # the checks
        self.events: dict[Key, dict[str, Any]] = {}
        self.leases: dict[Key, dict[str, Any]] = {}
        self.lists: dict[str, list[dict[str, Any]]] = {}  # path -> items (one page)
        self.watches: dict[str, list[dict[str, Any]]] = {}  # path -> the events one watch yields
        self.calls: list[tuple[str, ...]] = []
        self.patches: list[dict[str, Any]] = []  # every check patch, as asked
        self.statuses: list[tuple[str, str, dict[str, Any], str | None]] = []  # every status write, as asked
        self.asked: list[tuple[str | None, ...]] = []  # SubjectAccessReviews: (user, verb, group, resource, ns, name)
        self.down = False
        self._version = 100
        self._hooks: dict[str, list[Callable[[], None]]] = {}
        self._failures: dict[str, BaseException] = {}
        for check in checks:
            self.put(check)

    # --- the test's hands ---
    def put(self, check: dict[str, Any]) -> None:
        """Store (or replace) a check as another writer would: a new resourceVersion."""
        self.stored[_key(check)] = self._versioned(check)

    def before(self, method: str, hook: Callable[[], None]) -> None:
        self._hooks.setdefault(method, []).append(hook)

    def fail(self, method: str, error: BaseException) -> None:
        self._failures[method] = error

    def writes(self) -> list[str]:
        return [c[0] for c in self.calls if not c[0].startswith("get_")]

    def called(self, method: str) -> list[tuple[str, ...]]:
        """The arguments of every call of `method`, in order."""
        return [c[1:] for c in self.calls if c[0] == method]

    def _versioned(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        stored = copy.deepcopy(obj)
        stored.setdefault("metadata", {})["resourceVersion"] = str(self._version)
        return stored

    def _call(self, method: str, *args: str) -> None:
        self.calls.append((method, *args))
        if self.down:
            raise ConnectionError("apiserver away")
        if method in self._failures:
            raise self._failures[method]
        hooks = self._hooks.get(method) or []
        if hooks:
            hooks.pop(0)()

    # --- SourceReader, ClusterKeysReader ---
    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | ReadFailure:
        self._call("secret_data", namespace, name)
        found = self.secrets.get((namespace, name))
        if found is None:
            return ReadFailure("SecretNotFound", f"Secret {namespace}/{name} does not exist")
        return found if isinstance(found, ReadFailure) else dict(found)

    def preset(self, name: str) -> dict[str, Any] | ReadFailure:
        self._call("preset", name)
        found = self.presets.get(name)
        return ReadFailure("PresetNotFound", f"Preset {name} does not exist") if found is None else found

    def cluster(self, name: str) -> dict[str, Any] | ReadFailure:
        self._call("cluster", name)
        found = self.clusters.get(name)
        return ReadFailure("ClusterNotFound", f"Cluster {name} cannot be read (HTTP 404)") if found is None else found

    def config_map_value(self, namespace: str, name: str, key: str) -> str | ReadFailure:
        self._call("config_map_value", namespace, name, key)
        found = self.config_maps.get((namespace, name, key))
        if found is None:
            return ReadFailure("InvalidProfile", f"profile ConfigMap {namespace}/{name} has no key {key!r}")
        return found

    def copy_secret(self, namespace: str, name: str) -> tuple[dict[str, bytes], str] | ReadFailure:
        self._call("copy_secret", namespace, name)
        found = self.copies.get((namespace, name))
        return ReadFailure("CopyNotFound", f"Secret {namespace}/{name} does not exist") if found is None else found

    def deployments(self, namespace: str) -> list[dict[str, Any]] | ReadFailure:
        self._call("deployments", namespace)
        return self.namespace_deployments.get(namespace, [])

    # --- CheckWriter ---
    def get_check(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._call("get_check", namespace, name)
        found = self.stored.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def create_check(self, manifest: dict[str, Any]) -> None:
        meta = manifest["metadata"]
        self._call("create_check", meta["namespace"], meta["name"])
        if _key(manifest) in self.stored:
            raise Conflict("POST", meta["name"], 409)
        self.put(manifest)

    def patch_check(self, namespace: str, name: str, patch: dict[str, Any],
                    resource_version: str | None = None) -> None:
        self._call("patch_check", namespace, name, resource_version or "")
        self.patches.append(patch)
        current = self.stored.get((namespace, name))
        if current is None:
            raise ApiError("PATCH", name, 404)
        if resource_version is not None and resource_version != current["metadata"]["resourceVersion"]:
            raise Conflict("PATCH", name, 409)
        self.put(merge_patch(current, patch))

    def patch_check_status(self, namespace: str, name: str, status: dict[str, Any],
                           resource_version: str | None = None) -> None:
        self._call("patch_check_status", namespace, name, resource_version or "")
        self.statuses.append((namespace, name, status, resource_version))
        current = self.stored.get((namespace, name))
        if current is None:
            raise ApiError("PATCH", name, 404)
        if resource_version is not None and resource_version != current["metadata"]["resourceVersion"]:
            raise Conflict("PATCH", name, 409)
        self.put(merge_patch(current, {"status": status}))

    def delete_check(self, namespace: str, name: str, resource_version: str | None = None) -> bool:
        self._call("delete_check", namespace, name, resource_version or "")
        current = self.stored.get((namespace, name))
        if current is None:
            return False
        if resource_version is not None and resource_version != current["metadata"]["resourceVersion"]:
            raise Conflict("DELETE", name, 409)
        del self.stored[(namespace, name)]
        return True

    # --- Watcher: one page of what `lists` holds; a watch yields what `watches` holds, then ends ---
    def list_page(self, path: str, *, metadata_only: bool = False, limit: int = 500,
                  cont: str | None = None) -> tuple[list[dict[str, Any]], str, str | None]:
        self._call("list_page", path)
        return copy.deepcopy(self.lists.get(path, [])), str(self._version), None

    def watch(self, path: str, resource_version: str, timeout_seconds: float, *, metadata_only: bool = False,
              opened: Callable[[Any], None] | None = None) -> Iterator[dict[str, Any]]:
        self._call("watch", path, resource_version)
        yield from copy.deepcopy(self.watches.get(path, []))

    # --- ClusterEventWriter ---
    def get_event(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._call("get_event", namespace, name)
        found = self.events.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def create_event(self, event: dict[str, Any]) -> None:
        meta = event["metadata"]
        if not meta.get("name"):  # generateName: the apiserver picks the name
            event = {**event, "metadata": {**meta, "name": f"{meta.get('generateName', '')}{len(self.events):05d}"}}
        self._call("create_event", event["metadata"]["namespace"], event["metadata"]["name"])
        if _key(event) in self.events:
            raise Conflict("POST", event["metadata"]["name"], 409)
        self.events[_key(event)] = self._versioned(event)

    def patch_event(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self._call("patch_event", namespace, name)
        current = self.events.get((namespace, name))
        if current is None:
            raise ApiError("PATCH", name, 404)
        self.events[(namespace, name)] = self._versioned(merge_patch(current, patch))

    # --- AccessReviewer ---
    def may(self, user: Mapping[str, Any], verb: str, group: str, resource: str, *, name: str,
            namespace: str | None = None) -> bool:
        self.asked.append((str(user.get("username", "")), verb, group, resource, namespace, name))
        self._call("may", resource, name)
        return (resource, name) in self.allowed

    # --- LeaseKeeper ---
    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        self._call("get_lease", namespace, name)
        found = self.leases.get((namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def create_lease(self, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        self._call("create_lease", namespace, name)
        if (namespace, name) in self.leases:
            raise Conflict("POST", name, 409)
        return self._store_lease(namespace, name, spec)

    def update_lease(self, namespace: str, name: str, spec: dict[str, Any], resource_version: str) -> dict[str, Any]:
        self._call("update_lease", namespace, name, resource_version)
        if self.leases[(namespace, name)]["metadata"]["resourceVersion"] != resource_version:
            raise Conflict("PUT", name, 409)
        return self._store_lease(namespace, name, spec)

    def _store_lease(self, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        lease = self._versioned({"metadata": {"name": name, "namespace": namespace}, "spec": dict(spec)})
        self.leases[(namespace, name)] = lease
        return copy.deepcopy(lease)


def _key(obj: Mapping[str, Any]) -> Key:
    return str(obj["metadata"]["namespace"]), str(obj["metadata"]["name"])


class FakeClients:
    """One identity's AWS clients (engine.aws.ports.RegionalClients): the client objects the test hands it, by
    service; `client_in` answers with the same client in every Region and records the Regions asked."""

    def __init__(self, **clients: Any) -> None:
        self.clients = clients
        self.regions: list[tuple[str, str]] = []

    def client(self, service: str) -> Any:
        return self.clients[service]

    def client_in(self, service: str, region: str) -> Any:
        self.regions.append((service, region))
        return self.clients[service]


def _conforms(kube: FakeKube, aws: FakeClients) -> tuple[KubeApi, LeaseKeeper, Clients, RegionalClients]:
    """Fails the type check (mypy tests/helpers) when a fake stops matching the Protocols it stands in for."""
    return kube, kube, aws, aws
