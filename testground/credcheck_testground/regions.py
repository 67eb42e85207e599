"""Partitions and Regions on the local AWS endpoint: who asked where, and opt-in Regions an account has not enabled.

Every client reaches the endpoint through one URL (AWS_ENDPOINT_URL), so the Region a request is for is the one its
SigV4 credential scope names (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), exactly the Region AWS checks the
signature against. moto keeps one IAM and STS backend per partition and picks it by that Region (moto.utilities.
utils.get_partition), so a user created in aws-cn exists only there: its keys signed for us-east-1 are answered
InvalidClientTokenId, as AWS answers a key of another partition. This middleware adds what moto lacks:

- a count of the requests per signing Region and action, so a test can see that the China partition was asked;
- opt-in Regions an account has not enabled: every request signed for one of them is answered as AWS answers at
  such a Region's STS endpoint, 403 InvalidClientTokenId (IAM User Guide, "AWS STS Regions and endpoints": an opt-in
  Region must be enabled before use; the account's IAM identities are not known there until then).
"""

import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from credcheck_testground.faults import WSGIApp, _action_of

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")


def _refusal() -> bytes:
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
            f"</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()


@dataclass
class RegionState:
    disabled: frozenset[str] = frozenset()  # opt-in Regions not enabled (for every account of the test ground)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (signing Region, action) -> requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, settings: dict[str, Any]) -> None:
        with self.lock:
            self.disabled = frozenset(settings.get("disabled", []))

    def by_region(self) -> dict[str, dict[str, int]]:
        with self.lock:
            out: dict[str, dict[str, int]] = {}
            for (region, action), count in self.calls.items():
                out.setdefault(region, {})[action] = count
            return out

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()


def signing_region(environ: dict[str, Any]) -> str | None:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


def with_regions(app: WSGIApp, state: RegionState) -> WSGIApp:
    def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        region = signing_region(environ)
        if region is None or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return app(environ, start_response)
        action, _ = _action_of(environ)
        with state.lock:
            state.calls[(region, action)] += 1
            refused = region in state.disabled
        if refused:
            body = _refusal()
            start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return middleware
