"""The webhook's bounded pool (issue 33), served by the real aiohttp app on 127.0.0.1 (plain HTTP: the TLS layer is
not what is tested here): a review past every place is answered at once (429 for a check, allowed with a warning
for a Secret), the body limit fits an UPDATE of a Secret with 1 MiB of data, and SubjectAccessReviews run in the
webhook's threads, not the operator's."""

import asyncio
import base64
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fakes import FakeKube

from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.controller.webhook import server as webhook
from credcheck.controller.webhook.pool import (
    MAX_REVIEW_BYTES,
    MAX_WAIT,
    RECEIVED,
    Gate,
    TooLate,
    busy_answer,
)

USER = {"username": "alice", "groups": ["team-a"], "uid": "u-1"}


def admission(kube: FakeKube | None = None, **settings: Any) -> webhook.Admission:
    runtime = Runtime(replace(Settings(), **settings), kube or FakeKube(), VerdictCache(0), ThreadPoolExecutor(1))
    return webhook.Admission(runtime)


def review_body(obj: dict[str, Any], old: dict[str, Any] | None = None, operation: str = "CREATE") -> bytes:
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": str(uuid.uuid4()), "operation": operation, "userInfo": USER,
                                   "object": obj, "oldObject": old}}).encode()


def a_check() -> dict[str, Any]:
    return {"metadata": {"name": "c", "namespace": "kubermatic"},
            "spec": {"source": {"secretRef": {"name": "credential-aws-x"}}}}


def a_secret(size: int) -> dict[str, Any]:
    return {"metadata": {"name": "credential-aws-x", "namespace": "kubermatic"},
            "data": {"accessKeyId": base64.b64encode(b"AKIAIOSFODNN7EXAMPLE").decode(),
                     "secretAccessKey": base64.b64encode(b"s" * 40).decode(),
                     "padding": base64.b64encode(b"p" * size).decode()}}


async def post_all(adm: webhook.Admission, posts: list[tuple[str, bytes]]) -> list[tuple[int, Any]]:
    runner = web.AppRunner(webhook.app(adm), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    out: list[tuple[int, Any]] = []
    try:
        async with aiohttp.ClientSession() as session:
            for path, body in posts:
                async with session.post(f"http://127.0.0.1:{port}{path}", data=body,
                                        headers={"Content-Type": "application/json"}) as resp:
                    text = await resp.text()
                    out.append((resp.status, json.loads(text) if resp.status == 200 else text))
    finally:
        await runner.cleanup()
    return out


def test_past_every_place_a_check_is_refused_with_429_and_a_secret_allowed_with_a_warning_at_once() -> None:
    kube = FakeKube(allowed={("secrets", "credential-aws-x")})
    adm = admission(kube, webhook_mode="enforce", namespaces=("kubermatic",))
    adm.gate = Gate(threads=1, queue=0)
    assert adm.gate.enter()  # the only place is taken
    check, secret = review_body(a_check()), review_body(a_secret(10))
    (check_status, check_answer), (secret_status, secret_answer) = asyncio.run(
        post_all(adm, [("/validate-check", check), ("/validate-secret", secret)]))
    assert check_status == 200 and check_answer["response"]["allowed"] is False
    assert check_answer["response"]["status"]["code"] == 429
    assert check_answer["response"]["uid"] == json.loads(check)["request"]["uid"]
    assert secret_status == 200 and secret_answer["response"]["allowed"] is True
    assert "busy" in secret_answer["response"]["warnings"][0]
    assert kube.asked == [], "nothing past the gate reached the apiserver"
    adm.gate.leave()
    ((status, answer),) = asyncio.run(post_all(adm, [("/validate-check", check)]))
    assert status == 200 and answer["response"]["allowed"] is True, "with a place free, the check is judged"


def test_the_body_limit_fits_an_update_of_a_secret_with_1_mib_of_data_and_no_more() -> None:
    adm = admission(webhook_mode="warn", namespaces=("kubermatic",))
    big = a_secret(1024 * 1024 - 100)
    fits = review_body(big, big, "UPDATE")
    too_big = b" " * (MAX_REVIEW_BYTES + 1)
    (fits_status, answer), (big_status, _) = asyncio.run(
        post_all(adm, [("/validate-secret", fits), ("/validate-secret", too_big)]))
    assert len(fits) < MAX_REVIEW_BYTES and fits_status == 200 and answer["response"]["allowed"] is True
    assert big_status == 413


def test_subject_access_reviews_run_in_the_webhooks_own_threads() -> None:
    threads: list[str] = []

    class Recording(FakeKube):
        def may(self, *args: Any, **kwargs: Any) -> bool:
            threads.append(threading.current_thread().name)
            return super().may(*args, **kwargs)

    adm = admission(Recording(allowed={("secrets", "credential-aws-x")}))
    ((status, answer),) = asyncio.run(post_all(adm, [("/validate-check", review_body(a_check()))]))
    assert status == 200 and answer["response"]["allowed"] is True
    assert threads and all(t.startswith("webhook") for t in threads), threads


def test_a_busy_answer_needs_the_reviews_uid() -> None:
    assert busy_answer("check", b'{"request": {"uid": "abc-1"', 5)["response"]["uid"] == "abc-1"  # type: ignore[index]
    assert busy_answer("secret", b'{"kind": "AdmissionReview"}', 5) is None


def test_a_review_that_waited_past_max_wait_for_a_thread_is_not_started() -> None:
    """Issue 33: the apiserver gives up after 5 s; a review still queued after MAX_WAIT is answered busy at once."""
    ran: list[int] = []

    async def late() -> None:
        RECEIVED.set(time.monotonic() - MAX_WAIT - 1)
        await Gate().run(ran.append, 1)

    with pytest.raises(TooLate):
        asyncio.run(late())
    assert ran == []
