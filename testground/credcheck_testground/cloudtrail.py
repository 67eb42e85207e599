"""cloudtrail:LookupEvents for moto (which has trails but no event history), answered from events a test records.

The answer has CloudTrail's documented shape (AWS CloudTrail API Reference, LookupEvents): `Events` of at most
`MaxResults` (default and ceiling 50) entries, newest first, each with EventId, EventName, ReadOnly, AccessKeyId,
EventTime, EventSource, Username and `CloudTrailEvent` — the whole record as a JSON *string*; `NextToken` while more
remain. One `LookupAttributes` entry filters (AccessKeyId, EventSource, EventName, Username); StartTime/EndTime
bound the window. Events are kept per (account, region): CloudTrail's event history is regional.
"""

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError

PAGE = 50
EVENTS: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (account, region) -> CloudTrail records, any order
_LOCK = threading.Lock()


class InvalidLookupAttributes(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidLookupAttributesException", message)


def record(body: dict[str, Any]) -> None:
    """Control API: {"account", "region", "events": [CloudTrail record, …]} adds records; {"clear": true} empties."""
    with _LOCK:
        if body.get("clear"):
            EVENTS.clear()
            return
        EVENTS.setdefault((body["account"], body["region"]), []).extend(body.get("events") or [])


def _time(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _entry(rec: dict[str, Any]) -> dict[str, Any]:
    identity = rec.get("userIdentity") or {}
    return {"EventId": rec.get("eventID") or str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(rec, sort_keys=True))),
            "EventName": rec.get("eventName"), "ReadOnly": str(bool(rec.get("readOnly", False))).lower(),
            "AccessKeyId": identity.get("accessKeyId"), "EventTime": _time(rec["eventTime"]).timestamp(),
            "EventSource": rec.get("eventSource"), "Username": identity.get("userName"),
            "Resources": [], "CloudTrailEvent": json.dumps(rec)}


def _attribute(rec: dict[str, Any], key: str) -> Any:
    identity = rec.get("userIdentity") or {}
    return {"AccessKeyId": identity.get("accessKeyId"), "EventSource": rec.get("eventSource"),
            "EventName": rec.get("eventName"), "Username": identity.get("userName")}[key]


FILTERS = ("AccessKeyId", "EventSource", "EventName", "Username")


def lookup_events(self: CloudTrailResponse) -> str:
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise InvalidLookupAttributes("LookupAttributes takes one attribute")
    start, end = self._get_param("StartTime"), self._get_param("EndTime")
    size = min(int(self._get_param("MaxResults") or PAGE), PAGE)
    offset = int(self._get_param("NextToken") or 0)
    with _LOCK:
        found = list(EVENTS.get((self.current_account, self.region), []))
    for attribute in attributes:
        key = attribute["AttributeKey"]
        if key not in FILTERS:
            raise InvalidLookupAttributes(f"unsupported lookup attribute {key}")
        found = [r for r in found if _attribute(r, key) == attribute["AttributeValue"]]
    if start is not None:
        found = [r for r in found if _time(r["eventTime"]) >= _time(start)]
    if end is not None:
        found = [r for r in found if _time(r["eventTime"]) <= _time(end)]
    found.sort(key=lambda r: _time(r["eventTime"]), reverse=True)
    page = found[offset:offset + size]
    out: dict[str, Any] = {"Events": [_entry(r) for r in page]}
    if offset + size < len(found):
        out["NextToken"] = str(offset + size)
    return json.dumps(out)


def install() -> None:
    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
