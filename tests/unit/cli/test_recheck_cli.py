"""`credcheck recheck`: a new re-check annotation value with the user's own login, a refusal said with what to do,
and the wait for the answer (a later lastCheckTime), on plain values and a recording client."""

from datetime import UTC, datetime
from typing import Any

import pytest

from credcheck.cli.recheck import Refused, answered, ready_line, recheck, request_value
from credcheck.kube.client import ApiError
from credcheck.kube.contract import ANNOTATION_RECHECK

ASKED = datetime(2031, 5, 17, 8, 30, 0, 250_000, tzinfo=UTC)


def stored(last: str | None, ready: str = "True") -> dict[str, Any]:
    return {"metadata": {"namespace": "kubermatic", "name": "c"},
            "status": {"lastCheckTime": last, "conditions": [{"type": "Ready", "status": ready,
                                                               "reason": "AllRequiredAllowed", "message": "ok"}]}}


class Kube:
    def __init__(self, reads: list[dict[str, Any] | None], patch_status: int = 0) -> None:
        self.reads, self.patch_status = reads, patch_status
        self.patches: list[tuple[str, str, Any]] = []

    def get_check(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]

    def patch_check(self, namespace: str, name: str, patch: Any) -> None:
        if self.patch_status:
            raise ApiError("PATCH", f"/{namespace}/{name}", self.patch_status)
        self.patches.append((namespace, name, patch))


def test_a_request_is_a_new_annotation_value_and_waits_for_a_later_last_check_time() -> None:
    kube = Kube([stored("2031-05-17T08:00:00Z"), stored("2031-05-17T08:00:00Z"), stored("2031-05-17T08:30:01Z")])
    answer = recheck(kube, "kubermatic", "c", wait=30, now=lambda: ASKED, sleep=lambda _: None)
    assert kube.patches == [("kubermatic", "c", {"metadata": {"annotations": {
        ANNOTATION_RECHECK: "2031-05-17T08:30:00.250Z"}}})]
    assert answer.check is not None and answer.check["status"]["lastCheckTime"] == "2031-05-17T08:30:01Z"
    assert ready_line(answer.check) == ("kubermatic/c re-checked at 2031-05-17T08:30:01Z: "
                                        "Ready=True (AllRequiredAllowed) ok")


def test_who_may_not_patch_the_check_is_refused_with_what_to_do() -> None:
    kube = Kube([stored("2031-05-17T08:00:00Z")], patch_status=403)
    with pytest.raises(Refused, match=r"you may not patch AWSCredentialCheck kubermatic/c: .*RBAC: patch on "
                                      r"awscredentialchecks.credcheck.io in kubermatic"):
        recheck(kube, "kubermatic", "c", wait=0, now=lambda: ASKED)


def test_a_check_that_does_not_exist_is_said_so() -> None:
    with pytest.raises(Refused, match="no AWSCredentialCheck kubermatic/c"):
        recheck(Kube([None]), "kubermatic", "c", wait=0)


def test_only_a_last_check_time_other_than_before_and_not_older_than_the_request_answers() -> None:
    assert not answered(stored("2031-05-17T08:00:00Z"), "2031-05-17T08:00:00Z", ASKED), "unchanged"
    assert not answered(stored("2031-05-17T08:29:59Z"), "2031-05-17T08:00:00Z", ASKED), "older than the request"
    assert answered(stored("2031-05-17T08:30:00Z"), "2031-05-17T08:00:00Z", ASKED), "the request's second"
    assert answered(stored("2031-05-17T08:30:00Z"), None, ASKED), "never checked before"
    assert not answered(stored(None), None, ASKED)
    assert request_value(ASKED) != request_value(ASKED.replace(microsecond=251_000)), "a new value each time"
