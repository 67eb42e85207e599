"""Fault injection for the Kubernetes API: a validating webhook that makes the real kube-apiserver refuse writes.

The apiserver returns a webhook's `status.code` to the client, so refusing the first N CREATE/UPDATE requests for
AWSCredentialChecks whose name starts with a prefix gives the operator genuine 500 or 429 answers from the API.
"""

import base64
import json
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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
