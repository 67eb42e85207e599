"""The Kubernetes API as the operator uses it: read KKP's objects, write only AWSCredentialChecks.

Plain REST over urllib3 with kopf's own login (in-cluster ServiceAccount, else kubeconfig): the official client
costs ~30 MiB of resident memory for the eight calls credcheck makes, and kopf imports it whenever it is installed.
Blocking: callers run it in the THREADS worker threads the operator sets up for it.
"""

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import kopf
import urllib3

from credcheck.kube.contract import GROUP, KKP_GROUP, KKP_VERSION, PLURAL, VERSION

TIMEOUT = urllib3.Timeout(connect=10, read=60)
THREADS = 16  # worker threads making these calls, and connections kept for them
JSON = "application/json"
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
LIST_PAGE = 500  # objects per list page: what one page costs the operator's memory while it is read
LEASE_GROUP = "coordination.k8s.io"


@dataclass(frozen=True)
class ReadFailure:
    reason: str  # SecretNotFound | SecretForbidden | PresetNotFound | ...
    message: str


RETRIABLE = frozenset({429, 500, 502, 503, 504})
ATTEMPTS = 4  # per call, for RETRIABLE answers: waits of Retry-After (capped) or 0.5, 1, 2 s
MAX_RETRY_AFTER = 10.0


class ApiError(Exception):
    """A refused request: method, path and HTTP status only (a response body never reaches a log)."""

    def __init__(self, method: str, path: str, status: int) -> None:
        super().__init__(f"{method} {path}: HTTP {status}")
        self.status = status


class Conflict(ApiError):
    """409: the object changed since it was read (or was created meanwhile): re-read and try again."""


class Expired(ApiError):
    """410 Gone: a watch's (or a list's continue token's) resourceVersion is too old: list again."""


def retry_after(header: str | None, attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: the server's Retry-After (capped), else 0.5 s doubling."""
    try:
        return float(min(max(float(header), 0.0), MAX_RETRY_AFTER)) if header else 0.5 * 2.0 ** (attempt - 1)
    except ValueError:
        return 0.5 * 2.0 ** (attempt - 1)


def login() -> kopf.ConnectionInfo:
    """In the cluster, the pod's ServiceAccount; outside, the kubeconfig ($KUBECONFIG or ~/.kube/config)."""
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise kopf.LoginError("no ServiceAccount token and no kubeconfig to reach the Kubernetes API")
    return info


class Kube:
    def __init__(self, connect: Callable[[], kopf.ConnectionInfo] = login,
                 sleep: Callable[[float], None] = time.sleep, *, timeout: urllib3.Timeout = TIMEOUT,
                 attempts: int = ATTEMPTS, connections: int = THREADS) -> None:
        """`timeout`, `attempts` and `connections` default to the operator's shared client; the leader election
        makes one of its own (short timeout, one attempt, its own connections: never queued behind other work)."""
        self._connect = connect
        self._sleep = sleep  # these calls run in the Kubernetes worker threads, never on the event loop
        self._timeout, self._attempts, self._connections = timeout, attempts, connections
        self._lock = threading.Lock()
        self._session: tuple[str, dict[str, str], urllib3.PoolManager] | None = None  # ProxyManager is one

    def _open(self, renew: bool = False) -> tuple[str, dict[str, str], urllib3.PoolManager]:
        with self._lock:
            if self._session is None or renew:
                if self._session is not None:
                    self._session[2].clear()
                info = self._connect()  # re-read on renewal: ServiceAccount tokens are rotated on disk
                options: dict[str, Any] = {"maxsize": self._connections, "ssl_context": info.as_ssl_context(),
                                           "timeout": self._timeout, "retries": False}
                pool = (urllib3.ProxyManager(info.proxy_url, **options) if info.proxy_url
                        else urllib3.PoolManager(**options))
                self._session = (info.server.rstrip("/"), info.as_http_headers(), pool)
            return self._session

    def _call(self, method: str, path: str, body: Any = None, content_type: str = JSON,
              accept: str = JSON) -> tuple[int, Any]:
        """(status, decoded JSON or None); a 401 renews the login once; 429 and 5xx are retried (Retry-After)."""
        data = None if body is None else json.dumps(body).encode()
        renew, renewed, attempt = False, False, 0
        while True:
            attempt += 1
            server, headers, pool = self._open(renew=renew)
            response = pool.request(method, server + path, body=data,
                                    headers={**headers, "Accept": accept, "Content-Type": content_type})
            renew = response.status == 401 and not renewed
            if renew:
                renewed = True
                continue
            if response.status in RETRIABLE and attempt < self._attempts:
                self._sleep(retry_after(response.headers.get("Retry-After"), attempt))
                continue
            break
        payload = json.loads(response.data) if response.status < 300 and response.data else None
        return response.status, payload

    def _get(self, path: str, missing: tuple[int, ...] = (404,), accept: str = JSON) -> dict[str, Any] | int:
        """The object, or the status code for the expected refusals; other failures raise."""
        status, found = self._call("GET", path, accept=accept)
        if status in missing:
            return status
        if status >= 300:
            raise ApiError("GET", path, status)
        return dict(found)

    def secret_data(self, namespace: str, name: str) -> dict[str, bytes] | ReadFailure:
        secret = self._get(_path("", "v1", "secrets", namespace, name), missing=(403, 404))
        if secret == 404:
            return ReadFailure("SecretNotFound", f"Secret {namespace}/{name} does not exist: create it, or fix "
                               "spec.source.secretRef.name")
        if secret == 403:
            return ReadFailure("SecretForbidden", f"credcheck may not read Secret {namespace}/{name}: grant its "
                               "ServiceAccount get on Secrets in this namespace (add it to the watched namespaces)")
        assert isinstance(secret, dict)
        return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}

    def secret_version(self, namespace: str, name: str) -> str | None:
        """The Secret's resourceVersion, or None if absent; asks for its metadata only, so no data is sent."""
        secret = self._get(_path("", "v1", "secrets", namespace, name), missing=(403, 404), accept=METADATA_ONLY)
        if isinstance(secret, int):
            return None
        return str((secret.get("metadata") or {}).get("resourceVersion", ""))

    def preset(self, name: str) -> dict[str, Any] | ReadFailure:
        found = self._get(_path(KKP_GROUP, KKP_VERSION, "presets", None, name), missing=(403, 404))
        if found == 404:
            return ReadFailure("PresetNotFound", f"Preset {name} does not exist: fix spec.source.presetRef.name")
        if found == 403:
            return ReadFailure("PresetForbidden", f"credcheck may not read Preset {name}: grant get on presets")
        assert isinstance(found, dict)
        return found

    def config_map_value(self, namespace: str, name: str, key: str) -> str | ReadFailure:
        cm = self._get(_path("", "v1", "configmaps", namespace, name), missing=(403, 404))
        if isinstance(cm, int):
            return ReadFailure("InvalidProfile", f"profile ConfigMap {namespace}/{name} cannot be read "
                               f"(HTTP {cm}): create it or grant get on it")
        value = (cm.get("data") or {}).get(key)
        if value is None:
            return ReadFailure("InvalidProfile", f"profile ConfigMap {namespace}/{name} has no key {key!r}")
        return str(value)

    # --- AWSCredentialChecks: the only objects credcheck writes ---
    def get_check(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self._get(_path(GROUP, VERSION, PLURAL, namespace, name))
        return None if isinstance(found, int) else found

    def create_check(self, manifest: dict[str, Any]) -> None:
        """Conflict when it exists already (created meanwhile): the caller re-reads it."""
        path = _path(GROUP, VERSION, PLURAL, manifest["metadata"]["namespace"], None)
        status, _ = self._call("POST", path, manifest)
        if status == 409:
            raise Conflict("POST", path, status)
        if status >= 300:
            raise ApiError("POST", path, status)

    def patch_check(self, namespace: str, name: str, patch: dict[str, Any],
                    resource_version: str | None = None) -> None:
        """A merge patch; with `resource_version` it applies only to that version (Conflict otherwise)."""
        path = _path(GROUP, VERSION, PLURAL, namespace, name)
        if resource_version is not None:
            patch = {**patch, "metadata": {**(patch.get("metadata") or {}), "resourceVersion": resource_version}}
        status, _ = self._call("PATCH", path, patch, content_type="application/merge-patch+json")
        if status == 409:
            raise Conflict("PATCH", path, status)
        if status >= 300:
            raise ApiError("PATCH", path, status)

    def patch_check_status(self, namespace: str, name: str, status: dict[str, Any],
                           resource_version: str | None = None) -> None:
        """A merge patch of the status subresource alone (no metadata or spec change: kopf's update handler is not
        woken by it); with `resource_version` it applies only to that version (Conflict otherwise)."""
        path = _path(GROUP, VERSION, PLURAL, namespace, name) + "/status"
        patch: dict[str, Any] = {"status": status}
        if resource_version is not None:
            patch["metadata"] = {"resourceVersion": resource_version}
        code, _ = self._call("PATCH", path, patch, content_type="application/merge-patch+json")
        if code == 409:
            raise Conflict("PATCH", path, code)
        if code >= 300:
            raise ApiError("PATCH", path, code)

    def delete_check(self, namespace: str, name: str, resource_version: str | None = None) -> bool:
        """False when it is gone already; with `resource_version`, only that version (Conflict otherwise)."""
        path = _path(GROUP, VERSION, PLURAL, namespace, name)
        body = None if resource_version is None else {"apiVersion": "v1", "kind": "DeleteOptions",
                                                      "preconditions": {"resourceVersion": resource_version}}
        status, _ = self._call("DELETE", path, body)
        if status == 404:
            return False
        if status == 409:
            raise Conflict("DELETE", path, status)
        if status >= 300:
            raise ApiError("DELETE", path, status)
        return True

    # --- lists and watches, for the informers: any kind, metadata only where that is enough ---
    def list_page(self, path: str, *, metadata_only: bool = False, limit: int = LIST_PAGE,
                  cont: str | None = None) -> tuple[list[dict[str, Any]], str, str | None]:
        """One page of a list: its items, the list's resourceVersion, and the continue token (None: the last page).
        Expired when the continue token is too old (list again from the start)."""
        query = f"?limit={limit}" + (f"&continue={quote(cont, safe='')}" if cont else "")
        status, found = self._call("GET", path + query, accept=METADATA_LIST if metadata_only else JSON)
        if status == 410:
            raise Expired("GET", path, status)
        if status >= 300 or not isinstance(found, dict):
            raise ApiError("GET", path, status)
        meta = found.get("metadata") or {}
        return list(found.get("items") or []), str(meta.get("resourceVersion", "")), meta.get("continue") or None

    def watch(self, path: str, resource_version: str, timeout_seconds: float, *, metadata_only: bool = False,
              opened: Callable[[Any], None] | None = None) -> Iterator[dict[str, Any]]:
        """The watch events after `resource_version` (bookmarks included) until the API server ends the watch,
        after `timeout_seconds`. Expired on 410, as an answer or as an ERROR event: the version is too old (the
        events in between are lost: list again). `opened` gets the response, so that another thread can shut it."""
        query = urlencode({"watch": "true", "allowWatchBookmarks": "true", "resourceVersion": resource_version,
                           "timeoutSeconds": str(max(1, int(timeout_seconds)))})
        renew = False
        while True:
            server, headers, pool = self._open(renew=renew)
            response = pool.request("GET", f"{server}{path}?{query}", preload_content=False,
                                    headers={**headers, "Accept": METADATA_ONLY if metadata_only else JSON},
                                    timeout=urllib3.Timeout(connect=10, read=timeout_seconds + 30))
            if response.status == 401 and not renew:
                response.release_conn()
                renew = True
                continue
            break
        try:
            if response.status == 410:
                raise Expired("WATCH", path, 410)
            if response.status >= 300:
                raise ApiError("WATCH", path, response.status)
            if opened is not None:
                opened(response)
            for line in response:
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    code = int((event.get("object") or {}).get("code") or 500)
                    raise (Expired if code == 410 else ApiError)("WATCH", path, code)
                yield event
        finally:
            response.release_conn()

    # --- KKP Clusters: read at check time for what no check stores (the assume-role external ID) ---
    def cluster(self, name: str) -> dict[str, Any] | ReadFailure:
        found = self._get(_path(KKP_GROUP, KKP_VERSION, "clusters", None, name), missing=(403, 404))
        if isinstance(found, int):
            return ReadFailure("ClusterNotFound" if found == 404 else "ClusterForbidden",
                               f"Cluster {name} cannot be read (HTTP {found}): its assume-role external ID is read "
                               "from it at check time")
        return found

    # --- authorization: may the maker of a check read what it points at? ---
    def may(self, user: Mapping[str, Any], verb: str, group: str, resource: str, *, name: str,
            namespace: str | None = None) -> bool:
        """A SubjectAccessReview for `user` (an AdmissionReview's userInfo): allowed or not; errors raise."""
        attributes: dict[str, Any] = {"verb": verb, "group": group, "resource": resource, "name": name}
        if namespace:
            attributes["namespace"] = namespace
        spec: dict[str, Any] = {"user": str(user.get("username", "")), "groups": list(user.get("groups") or []),
                                "resourceAttributes": attributes}
        if user.get("uid"):
            spec["uid"] = str(user["uid"])
        if user.get("extra"):
            spec["extra"] = {k: list(v) for k, v in dict(user["extra"]).items()}
        path = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
        status, review = self._call("POST", path, {"apiVersion": "authorization.k8s.io/v1",
                                                   "kind": "SubjectAccessReview", "spec": spec})
        if status >= 300 or not isinstance(review, dict):
            raise ApiError("POST", path, status)
        return bool((review.get("status") or {}).get("allowed"))

    # --- leader election: one coordination.k8s.io Lease ---
    def get_lease(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self._get(_path(LEASE_GROUP, "v1", "leases", namespace, name))
        return None if isinstance(found, int) else found

    def create_lease(self, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Conflict when it exists already (another replica created it first)."""
        path = _path(LEASE_GROUP, "v1", "leases", namespace, None)
        status, made = self._call("POST", path, {"apiVersion": f"{LEASE_GROUP}/v1", "kind": "Lease",
                                                 "metadata": {"name": name, "namespace": namespace}, "spec": spec})
        if status == 409:
            raise Conflict("POST", path, status)
        if status >= 300:
            raise ApiError("POST", path, status)
        return dict(made)

    def update_lease(self, namespace: str, name: str, spec: dict[str, Any], resource_version: str) -> dict[str, Any]:
        """A replace that applies only to `resource_version` (Conflict otherwise: someone else wrote it)."""
        path = _path(LEASE_GROUP, "v1", "leases", namespace, name)
        status, stored = self._call("PUT", path, {
            "apiVersion": f"{LEASE_GROUP}/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": resource_version}, "spec": spec})
        if status == 409:
            raise Conflict("PUT", path, status)
        if status >= 300:
            raise ApiError("PUT", path, status)
        return dict(stored)


    # --- Events about KKP Clusters (writing an Event about a Cluster is not writing to the Cluster) ---
    def get_event(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self._get(_path("", "v1", "events", namespace, name))
        return None if isinstance(found, int) else found

    def create_event(self, event: dict[str, Any]) -> None:
        """Conflict when it exists already (created meanwhile)."""
        path = _path("", "v1", "events", event["metadata"]["namespace"], None)
        status, _ = self._call("POST", path, event)
        if status == 409:
            raise Conflict("POST", path, status)
        if status >= 300:
            raise ApiError("POST", path, status)

    def patch_event(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        path = _path("", "v1", "events", namespace, name)
        status, _ = self._call("PATCH", path, patch, content_type="application/merge-patch+json")
        if status >= 300:
            raise ApiError("PATCH", path, status)

    # --- the keys a KKP Cluster's components run on (issue 34): one Secret by name, its namespace's Deployments ---
    def copy_secret(self, namespace: str, name: str) -> tuple[dict[str, bytes], str] | ReadFailure:
        """KKP's per-cluster copy (`get` by name only: the chart grants it with resourceNames): its data and its
        resourceVersion; ReadFailure CopyNotFound / CopyForbidden."""
        secret = self._get(_path("", "v1", "secrets", namespace, name), missing=(403, 404))
        if isinstance(secret, int):
            return ReadFailure("CopyNotFound" if secret == 404 else "CopyForbidden",
                               f"Secret {namespace}/{name} " + ("does not exist" if secret == 404 else
                                                                "may not be read by credcheck (HTTP 403)"))
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        return data, str((secret.get("metadata") or {}).get("resourceVersion", ""))

    def deployments(self, namespace: str) -> list[dict[str, Any]] | ReadFailure:
        """The Deployments of one namespace (every page), or ReadFailure DeploymentsForbidden."""
        path, items, cont = collection("apps", "v1", "deployments", namespace), [], None
        while True:
            try:
                page, _, cont = self.list_page(path, cont=cont)
            except ApiError as err:
                if err.status in (403, 404):
                    return ReadFailure("DeploymentsForbidden", f"credcheck may not list Deployments in {namespace} "
                                       f"(HTTP {err.status})")
                raise
            items += page
            if cont is None:
                return items

def _path(group: str, version: str, plural: str, namespace: str | None, name: str | None) -> str:
    if name in (".", "..") or namespace in (".", ".."):  # a URL would drop the segment: another request (a list)
        raise ValueError(f"{name!r} is not an object name")
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    scope = f"/namespaces/{quote(namespace, safe='')}" if namespace else ""
    return f"{base}{scope}/{plural}" + (f"/{quote(name, safe='')}" if name else "")


def collection(group: str, version: str, plural: str, namespace: str | None = None) -> str:
    """The path that lists (and watches) a kind, in a namespace or cluster-wide."""
    return _path(group, version, plural, namespace, None)
