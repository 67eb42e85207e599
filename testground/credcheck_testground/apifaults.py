"""Fault injection for the Kubernetes API.

- A validating webhook that makes the real kube-apiserver refuse writes: the apiserver returns a webhook's
  `status.code` to the client, so refusing the first N CREATE/UPDATE requests for AWSCredentialChecks whose name
  starts with a prefix gives the operator genuine 500 or 429 answers from the API.
- A watch gap: `ApiProxy` sits between the operator and the apiserver; `gap("secrets")` drops the events of the
  operator's Secret watches while inside and then ends them as the apiserver ends a watch that fell too far behind
  (410 Gone), so the operator misses whatever happened meanwhile (a deletion's DELETED event) and must list again.
  `lease_fault` makes the same proxy's Lease API hang or answer 429 (Retry-After: 10) for its client only.
"""

import base64
import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from credcheck_testground import certs
from credcheck_testground.controlplane import ControlPlane

NAME = "credcheck-test-api-faults"


class Faults:
    def __init__(self, prefix: str, failures: int, code: int) -> None:
        self.prefix, self.remaining, self.code = prefix, failures, code
        self.refused: Counter[str] = Counter()
        self.lock = threading.Lock()

    def decide(self, review: dict[str, Any]) -> dict[str, Any]:
        request = review.get("request") or {}
        name = str((request.get("object") or {}).get("metadata", {}).get("name") or request.get("name") or "")
        allowed = True
        with self.lock:
            if name.startswith(self.prefix) and self.remaining > 0:
                self.remaining -= 1
                self.refused[name] += 1
                allowed = False
        response: dict[str, Any] = {"uid": request.get("uid", ""), "allowed": allowed}
        if not allowed:
            response["status"] = {"code": self.code, "message": "injected fault", "reason": "InternalError"
                                  if self.code >= 500 else "TooManyRequests"}
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response}


@contextmanager
def refusing_writes(cp: ControlPlane, state: Path, prefix: str, failures: int, code: int) -> Iterator[Faults]:
    """While inside: the first `failures` writes of checks named `prefix*` get HTTP `code` from the apiserver."""
    faults = Faults(prefix, failures, code)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            body = json.dumps(faults.decide(review)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    state.mkdir(parents=True, exist_ok=True)
    ca = certs.make_ca("api-faults-ca")
    pair = certs.issue(ca, "api-faults", server=True, hosts=("127.0.0.1",))
    (state / "faults.crt").write_bytes(pair.cert_pem)
    (state / "faults.key").write_bytes(pair.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(state / "faults.crt", state / "faults.key")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
              "metadata": {"name": NAME},
              "webhooks": [{"name": "faults.credcheck.test", "sideEffects": "None", "admissionReviewVersions": ["v1"],
                            "failurePolicy": "Ignore", "timeoutSeconds": 5,
                            "clientConfig": {"url": f"https://127.0.0.1:{server.server_address[1]}/faults",
                                             "caBundle": base64.b64encode(ca.cert_pem).decode()},
                            "rules": [{"apiGroups": ["credcheck.io"], "apiVersions": ["*"],
                                       "resources": ["awscredentialchecks"], "operations": ["CREATE", "UPDATE"]}]}]}
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(config))
    try:
        yield faults
    finally:
        cp.run_kubectl("delete", "validatingwebhookconfiguration", NAME, check=False)
        server.shutdown()


# --- watch gaps ------------------------------------------------------------------------------------------------------
GONE = json.dumps({"type": "ERROR", "object": {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Expired", "code": 410,
    "message": "too old resource version (injected by the test ground's API proxy)"}}).encode() + b"\n"


class _Watch:
    """One watch stream the proxy relays: its client connection, and whether it has been ended."""

    def __init__(self, resource: str, handler: BaseHTTPRequestHandler, upstream: http.client.HTTPSConnection) -> None:
        self.resource, self.handler, self.upstream = resource, handler, upstream
        self.lock = threading.Lock()
        self.ended = False

    def write(self, data: bytes) -> bool:
        with self.lock:
            if self.ended:
                return False
            self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.handler.wfile.flush()
            return True

    def expire(self) -> None:
        """As the API server ends a watch whose resourceVersion is too old: an ERROR event with code 410."""
        with self.lock:
            if self.ended:
                return
            self.ended = True
            with contextlib.suppress(OSError):
                self.handler.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(GONE), GONE))
                self.handler.wfile.flush()
        with contextlib.suppress(OSError):
            if self.upstream.sock is not None:
                self.upstream.sock.shutdown(socket.SHUT_RDWR)  # the relaying thread's read ends


class ApiProxy:
    """A TLS proxy between one client (the operator, through `kubeconfig()`) and the kube-apiserver: every request
    passes through unchanged, and `gap(resource)` makes the client miss a kind's events, as a long disconnection or
    an API server restart does: inside it, the watches of that kind relay nothing; leaving it, each is ended with
    the API server's 410 Gone (its resourceVersion is too old), and the client must list again."""

    def __init__(self, cp: ControlPlane, state: Path) -> None:
        self.cp = cp
        target = urlsplit(cp.url)
        self._target = (target.hostname or "127.0.0.1", target.port or 443)
        self._upstream_tls = ssl.create_default_context(cadata=cp.ca_pem.decode())
        self._gapped: set[str] = set()
        self._watches: set[_Watch] = set()
        self._lock = threading.Lock()
        self.expired: Counter[str] = Counter()
        self.lease_fault: str | None = None  # "hang" or "429": what the Lease API does for this client
        self.lease_faulted = 0  # Lease requests answered so
        self.slow: dict[str, float] = {}  # path fragment -> seconds each such request is held before it is relayed
        state.mkdir(parents=True, exist_ok=True)
        self._ca = certs.make_ca("api-proxy-ca")
        pair = certs.issue(self._ca, "api-proxy", server=True, hosts=("127.0.0.1",))
        (state / "proxy.crt").write_bytes(pair.cert_pem)
        (state / "proxy.key").write_bytes(pair.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(state / "proxy.crt", state / "proxy.key")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def kubeconfig(self, source: Path, path: Path) -> Path:
        """`source`'s kubeconfig (its user: a token) pointed at the proxy."""
        config = yaml.safe_load(source.read_text())
        for entry in config["clusters"]:
            entry["cluster"]["server"] = self.url
            entry["cluster"]["certificate-authority-data"] = base64.b64encode(self._ca.cert_pem).decode()
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    @contextmanager
    def gap(self, resource: str) -> Iterator[None]:
        with self._lock:
            self._gapped.add(resource)
        try:
            yield
        finally:
            with self._lock:
                self._gapped.discard(resource)
                ending = [w for w in self._watches if w.resource == resource]
            for watch in ending:
                watch.expire()
                self.expired[resource] += 1

    def watching(self, resource: str) -> int:
        """Watches of `resource` relayed now."""
        with self._lock:
            return sum(1 for w in self._watches if w.resource == resource and not w.ended)

    def stop(self) -> None:
        self._server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._relay(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _lease_fault(self, handler: BaseHTTPRequestHandler) -> bool:
        """While `lease_fault` is set, a Lease request hangs (until the fault ends, at most 60 s, then the client
        is gone) or gets 429 with Retry-After: 10, as an overloaded API server answers."""
        fault = self.lease_fault
        if fault is None or "/leases" not in handler.path:
            return False
        with self._lock:
            self.lease_faulted += 1
        if fault == "hang":
            for _ in range(600):
                if self.lease_fault != "hang":
                    break
                time.sleep(0.1)
            handler.close_connection = True
            return True
        body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}'
        handler.send_response(429)
        handler.send_header("Retry-After", "10")
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        return True

    def _relay(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        if self._lease_fault(handler):
            return
        time.sleep(max((delay for part, delay in self.slow.items() if part in handler.path), default=0.0))
        headers = {k: v for k, v in handler.headers.items()
                   if k.lower() not in ("host", "connection", "content-length", "accept-encoding")}
        upstream = http.client.HTTPSConnection(*self._target, context=self._upstream_tls, timeout=600)
        upstream.request(handler.command, handler.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        parts = urlsplit(handler.path)
        watching = "watch=true" in parts.query or "watch=1" in parts.query
        if not watching or response.status != 200:
            data = response.read()
            handler.send_response(response.status)
            for name in ("Content-Type", "Retry-After", "Warning"):
                if response.getheader(name):
                    handler.send_header(name, str(response.getheader(name)))
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            upstream.close()
            return
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", str(response.getheader("Content-Type") or "application/json"))
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        watch = _Watch(parts.path.rstrip("/").rsplit("/", 1)[-1], handler, upstream)
        with self._lock:
            self._watches.add(watch)
        try:
            while True:
                line = response.readline()
                if not line:
                    break
                with self._lock:
                    dropped = watch.resource in self._gapped
                if not dropped and not watch.write(line):
                    return
            with watch.lock:
                if not watch.ended:
                    watch.ended = True
                    handler.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException, ValueError):
            pass  # the client went, or the gap ended the stream
        finally:
            with self._lock:
                self._watches.discard(watch)
            upstream.close()
