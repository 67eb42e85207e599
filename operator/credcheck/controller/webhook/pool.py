"""The webhook's own work, bounded, so that no number of reviews can starve the rest of the operator.

Every review admitted takes a place among `REVIEW_THREADS + REVIEW_QUEUE` (32); its body is parsed and its
SubjectAccessReviews are sent in a pool of `REVIEW_THREADS` threads of its own, through a Kubernetes client of its
own (short timeout, one attempt, its own connections): never the operator's Kubernetes threads, never the Lease's.
A review that finds every place taken is answered at once, without reading more than its first kilobyte, and
one that still waits for a thread MAX_WAIT (3 s) after it arrived is answered the same way (the apiserver gives up
at 5 s):

- a check (`/validate-check`) is refused with 429 ("try again"): its webhook fails closed because a check may act
  only with its maker's rights, so one that was not asked about must not be stored; kubectl and controllers retry a
  429;
- a Secret or a Preset is allowed with a warning: their webhook only warns (or, in enforce mode, refuses malformed
  credentials that the operator's own check reports anyway), and a credential write must never wait on credcheck.

The body limit (`MAX_REVIEW_BYTES`, 3 MiB) fits an UPDATE of the largest Secret the API server stores (1 MiB of
data, base64 in JSON: 1.37 MiB, twice: object and oldObject) plus metadata; the parse of a body runs in the pool,
never on the event loop (json holds the GIL for the parse of at most 3 MiB: about 10 ms).
"""

import asyncio
import contextvars
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import urllib3
from aiohttp import web

from credcheck.kube.client import Kube

REVIEW_THREADS = 4  # parsing and SubjectAccessReviews at once
REVIEW_QUEUE = 28  # reviews admitted and waiting for a thread; past both, answered at once
MAX_REVIEW_BYTES = 3 * 1024 * 1024
HEAD_BYTES = 1024  # what an answer without a place reads of a review: its uid comes first
MAX_WAIT = 3.0  # seconds a review may have waited before a thread takes its next step (the apiserver waits 5)
RECEIVED: contextvars.ContextVar[float] = contextvars.ContextVar("review_received", default=0.0)
# the API server writes AdmissionReview.request.uid first (the Go struct's first field)
_UID = re.compile(rb'"request"\s*:\s*\{\s*"uid"\s*:\s*"([0-9A-Za-z-]{1,64})"')
T = TypeVar("T")


def review_client() -> Kube:
    """The webhook's own Kubernetes client: SubjectAccessReviews answered within 4 s (the webhook's timeout is 5),
    tried once (a 429 refuses the check: its maker tries again), with connections of its own."""
    return Kube(timeout=urllib3.Timeout(connect=2, read=4), attempts=1, connections=REVIEW_THREADS)


def busy_answer(hook: str, head: bytes, in_flight: int) -> dict[str, Any] | None:
    """The AdmissionReview answer to a review that found no place (None: no uid in its head, so no review)."""
    found = _UID.search(head)
    if not found:
        return None
    body: dict[str, Any] = {"uid": found.group(1).decode(), "allowed": hook != "check"}
    if hook == "check":
        body["status"] = {"code": 429, "reason": "TooManyRequests",
                          "message": f"credcheck's webhook is busy ({in_flight} reviews in flight): try again"}
    else:
        body["warnings"] = [f"credcheck: not judged: the webhook is busy ({in_flight} reviews in flight); the "
                            "operator's check of the stored credential will report"]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": body}


class TooLate(Exception):
    """The review waited past MAX_WAIT for a thread: answered as busy, its work not started."""


class Gate:
    """Places for reviews, and the threads that do their blocking work."""

    def __init__(self, threads: int = REVIEW_THREADS, queue: int = REVIEW_QUEUE) -> None:
        self.capacity = threads + queue
        self.in_flight = 0
        self.turned_away = 0
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")

    def enter(self) -> bool:
        """Take a place (on the event loop: no lock needed); False when all are taken."""
        if self.in_flight >= self.capacity:
            self.turned_away += 1
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn` in a webhook thread; TooLate when the review (RECEIVED, set where it arrived) has waited past
        MAX_WAIT by the time a thread is free: the apiserver would give up on it before a slow call returned."""
        received = RECEIVED.get() or time.monotonic()

        def step() -> T:
            if time.monotonic() - received > MAX_WAIT:
                raise TooLate
            return fn(*args)

        return await asyncio.get_running_loop().run_in_executor(self.pool, step)

    async def parse(self, body: bytes) -> Any:
        return await self.run(json.loads, body)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


async def head(request: web.Request, size: int = HEAD_BYTES) -> bytes:
    """The first `size` bytes of a request's body (fewer if it is shorter)."""
    data = b""
    while len(data) < size:
        chunk = await request.content.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


async def turned_away(request: web.Request, hook: str, gate: Gate) -> web.Response:
    """The fast answer to a review that found no place."""
    answer = busy_answer(hook, await head(request), gate.in_flight)
    if answer is None:
        return web.Response(status=429, text="the webhook is busy", headers={"Retry-After": "1"})
    return web.json_response(answer)
