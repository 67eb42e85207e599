"""`credcheck recheck NAMESPACE/NAME` (also `kubectl credcheck recheck`): a re-check now, past the operator's
verdict cache — what an admin who has just fixed a policy asks for.

It sets a new value (the time, to the millisecond) on the check's credcheck.io/recheck annotation with the user's own
kubeconfig, as `kubectl annotate awscc -n NAMESPACE NAME credcheck.io/recheck=… --overwrite` would: so only who may
patch the check may ask (the apiserver's RBAC decides; a refusal is said as such), and the operator's update handler
checks it at once, asking AWS again. Then it waits for the new status (a later lastCheckTime) and prints its Ready.
"""

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from credcheck.kube.contract import ANNOTATION_RECHECK, GROUP, PLURAL, parse_timestamp

if TYPE_CHECKING:  # the Kubernetes client (urllib3, kopf) loads only when the command runs
    from credcheck.kube.client import ApiError

POLL = 0.5  # seconds between reads while waiting for the new status


def add_parser(sub: Any, command: Callable[[argparse.Namespace], int]) -> None:
    """`credcheck recheck`'s arguments, in the CLI's parser."""
    parser = sub.add_parser("recheck", help="re-check an AWSCredentialCheck now, past the operator's verdict cache "
                            "(also `kubectl credcheck recheck`; needs patch on the check)")
    parser.add_argument("check", metavar="NAMESPACE/NAME", help="the check (NAME alone: in namespace kubermatic)")
    parser.add_argument("--wait", type=float, default=60.0, metavar="SECONDS",
                        help="wait this long for the new status (0: ask and return); default 60")
    parser.set_defaults(func=command)


class Refused(Exception):
    """The request could not be made: what to do is in the message."""


@dataclass(frozen=True)
class Answer:
    check: dict[str, Any] | None  # the check with its new status; None: not answered within the wait
    asked_at: datetime


def refusal(err: "ApiError", verb: str, namespace: str, name: str) -> Refused:
    """A refused read or write of the check, in words that say what to do (pure)."""
    resource = f"{PLURAL}.{GROUP}"
    if err.status == 404:
        return Refused(f"no AWSCredentialCheck {namespace}/{name} (kubectl get awscc -A lists them)")
    if err.status == 403:
        return Refused(f"you may not {verb} AWSCredentialCheck {namespace}/{name}: a re-check is allowed to who may "
                       f"update it (RBAC: patch on {resource} in {namespace}; "
                       f"`kubectl auth can-i patch {resource}/{name} -n {namespace}` answers for you)")
    return Refused(f"the Kubernetes API refused to {verb} AWSCredentialCheck {namespace}/{name} (HTTP {err.status})")


def request_value(now: datetime) -> str:
    """The annotation's new value: the time, to the millisecond (a new value each time is a new request)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def answered(check: dict[str, Any], before: str | None, asked_at: datetime) -> bool:
    """Whether the stored status is the re-check's answer: a lastCheckTime other than the one before the request,
    not older than the request's second (pure)."""
    last = (check.get("status") or {}).get("lastCheckTime")
    if not last or last == before:
        return False
    try:
        return parse_timestamp(str(last)) >= asked_at.replace(microsecond=0)
    except ValueError:
        return False


class CheckAsker(Protocol):
    """What `credcheck recheck` does to the API with the user's login: read the check, patch its annotation."""

    def get_check(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def patch_check(self, namespace: str, name: str, patch: dict[str, Any]) -> None: ...


def recheck(kube: CheckAsker, namespace: str, name: str, *, wait: float,
            now: Callable[[], datetime] = lambda: datetime.now(UTC),
            sleep: Callable[[float], None] = time.sleep) -> Answer:
    """Ask for the re-check; wait up to `wait` seconds for its status (0: do not wait)."""
    from credcheck.kube.client import ApiError  # noqa: PLC0415

    try:
        found = kube.get_check(namespace, name)
    except ApiError as err:
        raise refusal(err, "read", namespace, name) from None
    if found is None:
        raise Refused(f"no AWSCredentialCheck {namespace}/{name} (kubectl get awscc -A lists them)")
    before = (found.get("status") or {}).get("lastCheckTime")
    asked_at = now()
    try:
        kube.patch_check(namespace, name, {"metadata": {"annotations": {ANNOTATION_RECHECK: request_value(asked_at)}}})
    except ApiError as err:
        raise refusal(err, "patch", namespace, name) from None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        sleep(POLL)
        current = kube.get_check(namespace, name)
        if current is None:
            raise Refused(f"AWSCredentialCheck {namespace}/{name} was deleted meanwhile")
        if answered(current, before, asked_at):
            return Answer(current, asked_at)
    return Answer(None, asked_at)


def ready_line(check: dict[str, Any]) -> str:
    """`NAMESPACE/NAME re-checked at T: Ready=STATUS (REASON) MESSAGE` (pure)."""
    meta, status = check.get("metadata") or {}, check.get("status") or {}
    ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    return (f"{meta.get('namespace')}/{meta.get('name')} re-checked at {status.get('lastCheckTime')}: "
            f"Ready={ready.get('status', 'Unknown')} ({ready.get('reason', 'NotChecked')}) {ready.get('message', '')}"
            ).rstrip()
