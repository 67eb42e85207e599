"""Fault injection for the local AWS endpoint: throttling, added latency, and per-action call counts."""

import io
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_THROTTLE_JSON = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
_THROTTLE_BODY = (
    b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
)


@dataclass
class FaultState:
    throttle_remaining: int = 0  # requests still to throttle; -1 throttles until cleared
    throttle_actions: frozenset[str] = frozenset()  # empty: every action
    latency_seconds: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    by_key: dict[str, Counter[str]] = field(default_factory=dict)  # access key id -> action -> requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: dict[str, Any]) -> None:
        with self.lock:
            self.throttle_remaining = int(settings.get("throttle", 0))
            self.throttle_actions = frozenset(settings.get("throttle_actions", []))
            self.latency_seconds = float(settings.get("latency_ms", 0)) / 1000

    def should_throttle(self, action: str) -> bool:
        with self.lock:
            if self.throttle_remaining == 0:
                return False
            if self.throttle_actions and action not in self.throttle_actions:
                return False
            if self.throttle_remaining > 0:
                self.throttle_remaining -= 1
            return True


_SIGNER = re.compile(r"Credential=([A-Z0-9]+)/")  # SigV4: the access key id the request was signed with


def _action_of(environ: dict[str, Any]) -> tuple[str, bytes]:
    """The query-protocol Action of a request, and its body (re-readable afterwards)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    params = parse_qs(body.decode("utf-8", "replace")) if body else {}
    params.update(parse_qs(environ.get("QUERY_STRING", "")))
    action = params.get("Action", [""])[0]
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    return action or target.rsplit(".", 1)[-1], body


def with_faults(app: WSGIApp, state: FaultState) -> WSGIApp:
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return app(environ, start_response)
        action, _ = _action_of(environ)
        signer = _SIGNER.search(environ.get("HTTP_AUTHORIZATION", ""))
        with state.lock:
            state.calls[action] += 1
            if signer:
                state.by_key.setdefault(signer.group(1), Counter())[action] += 1
            latency = state.latency_seconds
        if latency:
            time.sleep(latency)
        json_protocol = bool(environ.get("HTTP_X_AMZ_TARGET"))
        if state.should_throttle(action):
            body = _THROTTLE_JSON if json_protocol else _THROTTLE_BODY
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1" if json_protocol
                                                else "text/xml"), ("Content-Length", str(len(body)))])
            return [body]
        if json_protocol:
            return _json_errors(app, environ, start_response)
        return app(environ, start_response)

    return middleware


def _json_errors(app: WSGIApp, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """moto renders an access denial as XML whatever the protocol; AWS's JSON services answer
    {"__type": "AccessDeniedException"} (e.g. CloudTrail's LookupEvents), which botocore parses."""
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(status=status, headers=headers)
        return lambda _data: None

    body = b"".join(app(environ, capture))
    status, headers = captured["status"], captured["headers"]
    if status.startswith("403") and b"<Code>AccessDenied</Code>" in body:
        message = body.split(b"<Message>", 1)[-1].split(b"</Message>", 1)[0].decode("utf-8", "replace")
        body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]
