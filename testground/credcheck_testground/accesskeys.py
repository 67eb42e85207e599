"""Access-key facts a test sets, for moto (which answers iam:ListAccessKeys and iam:GetAccessKeyLastUsed from its
own records, but dates each key's creation now and records every request as its last use).

A test posts a key's facts in AWS's wire format — the AccessKeyMetadata member of ListAccessKeys (`AccessKeyId`,
`CreateDate`, optionally `Status`) and GetAccessKeyLastUsed's `AccessKeyLastUsed` (`LastUsedDate`, `ServiceName`,
`Region`; without `LastUsedDate`: never used, as AWS answers `N/A`) — and moto answers with them. Such a key is
pinned: requests signed with it (credcheck's own checks) no longer move its last use, so a test decides exactly
what AWS says. {"clear": true} unpins every key (their facts stay as set).

moto authorises every IAM call on resource `*`; these two are authorised on the user whose keys they read, as AWS
does, so a policy scoped to `user/…` is tested as written.
"""

import threading
from datetime import UTC, datetime
from typing import Any

import moto.iam.models as iam_models
from moto.iam.models import AccessKeyLastUsed, iam_backends
from moto.iam.responses import IamResponse

PINNED: set[str] = set()
_LOCK = threading.Lock()
_original = iam_models.mark_account_as_visited


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _key(access_key_id: str) -> Any:
    for account in list(iam_backends.values()):
        for backend in list(account.values()):
            found = backend.access_keys.get(access_key_id)
            if found is not None:
                return found
    raise KeyError(f"no access key {access_key_id[-4:]} in the test ground")


def record(body: dict[str, Any]) -> None:
    """Control API: set one key's facts ({"AccessKeyId", "CreateDate", "Status", "AccessKeyLastUsed"})."""
    with _LOCK:
        if body.get("clear"):
            PINNED.clear()
            return
        key = _key(body["AccessKeyId"])
        if body.get("CreateDate"):
            key.create_date = _time(body["CreateDate"])
        if body.get("Status"):
            key.status = body["Status"]
        if "AccessKeyLastUsed" in body:
            used = body["AccessKeyLastUsed"] or {}
            key.last_used = (AccessKeyLastUsed(_time(used["LastUsedDate"]), used.get("ServiceName", "N/A"),
                                               used.get("Region", "N/A")) if used.get("LastUsedDate") else None)
        PINNED.add(body["AccessKeyId"])


def _visited(account_id: str, access_key: str, service: str, region: str) -> None:
    if access_key in PINNED:
        return  # the test set what AWS says about this key
    _original(account_id=account_id, access_key=access_key, service=service, region=region)


USER_ACTIONS = frozenset({"ListAccessKeys", "GetAccessKeyLastUsed"})


def _determine_resource(self: IamResponse) -> str:
    """The resource AWS authorises these two calls on: the user whose keys they read (Service Authorization
    Reference, IAM: ListAccessKeys and GetAccessKeyLastUsed act on `user`); moto checks every IAM call on `*`."""
    action = self._get_action()
    if action not in USER_ACTIONS:
        return "*"
    try:
        if action == "GetAccessKeyLastUsed":
            user = self.backend.get_access_key_last_used(self._get_param("AccessKeyId"))["user_name"]
        else:
            user = self._get_param("UserName") or self.backend.get_access_key_last_used(
                self.get_access_key())["user_name"]
    except Exception:  # an unknown key: moto's handler answers NoSuchEntity
        return "*"
    return f"arn:{self.partition}:iam::{self.current_account}:user/{user}"


def install() -> None:
    iam_models.mark_account_as_visited = _visited
    IamResponse._determine_resource = _determine_resource  # type: ignore[method-assign]
