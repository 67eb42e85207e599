"""What AWS refused, as CloudTrail recorded it, held against what the simulation said (pure: events in, findings out).

CloudTrail's LookupEvents returns management events with the call's record as a JSON string (`CloudTrailEvent`);
a refused call carries `errorCode` `AccessDenied` (IAM, STS, ELB), `Client.UnauthorizedOperation` (EC2) or
`AccessDeniedException` (JSON-protocol services such as EKS) — AWS CloudTrail User Guide, "CloudTrail record
contents". Only the action, region, error code and time are kept: never request parameters.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from credcheck.engine.model import ActionResult, ObservedDenial, ObservedDenials

DENIAL_CODES = frozenset({"AccessDenied", "Client.UnauthorizedOperation", "UnauthorizedOperation",
                          "AccessDeniedException"})
OBSERVED, NOT_PERMITTED, FAILED = "Observed", "NotPermitted", "Failed"


def _service(event_source: str) -> str:
    """`ec2.amazonaws.com` -> `ec2` (the IAM service prefix for the services KKP calls)."""
    return event_source.split(".", 1)[0]


def denial_of(event: Mapping[str, Any], role_arn: str | None = None) -> tuple[str, str, str, str] | None:
    """(action, region, error code, time) of a refused call in one LookupEvents entry; None if it was not refused,
    or (with `role_arn`) was not made in a session of that role."""
    try:
        record = json.loads(event.get("CloudTrailEvent") or "{}")
    except json.JSONDecodeError:
        return None
    code = str(record.get("errorCode") or "")
    if code not in DENIAL_CODES:
        return None
    if role_arn is not None:
        issuer = ((record.get("userIdentity") or {}).get("sessionContext") or {}).get("sessionIssuer") or {}
        if issuer.get("arn") != role_arn:
            return None
    action = f"{_service(str(record.get('eventSource', '')))}:{record.get('eventName', '')}"
    return action, str(record.get("awsRegion", "")), code, str(record.get("eventTime", ""))


def aggregate(refused: Iterable[tuple[str, str, str, str]]) -> tuple[ObservedDenial, ...]:
    """One entry per (action, region, error code): how often, and when last."""
    counts: dict[tuple[str, str, str], list[str]] = {}
    for action, region, code, when in refused:
        counts.setdefault((action, region, code), []).append(when)
    return tuple(ObservedDenial(action, region, code, len(times), max(times))
                 for (action, region, code), times in sorted(counts.items()))


def disagreements(observed: ObservedDenials | None, results: Sequence[ActionResult]) -> tuple[str, ...]:
    """Findings where AWS refused an action the simulation allowed: something the simulator cannot see (an SCP it
    misjudged, a resource control policy, a session policy, a condition on the real request)."""
    if observed is None or observed.state != OBSERVED:
        return ()
    allowed = {r.requirement.action.lower() for r in results if r.allowed}
    return tuple(
        f"simulation disagrees with AWS: AWS refused {d.action} {d.count} time(s) in {d.region} in the last "
        f"{observed.window_hours} h ({d.error_code}, last at {d.last_seen}) though the simulation allows it: check "
        "SCPs, resource control policies and session policies, and the request's conditions"
        for d in observed.denials if d.action.lower() in allowed)
