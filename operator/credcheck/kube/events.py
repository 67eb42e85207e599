"""A core/v1 Event as credcheck writes it, about a check or a KKP Cluster: one shape for both (pure)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from credcheck.kube.contract import timestamp

COMPONENT = "credcheck"
MAX_MESSAGE = 1024  # what an Event's message keeps (events.k8s.io's note limit)


def event_manifest(*, namespace: str, involved: Mapping[str, str], type_: str, reason: str, message: str,
                   now: datetime, name: str | None = None, labels: Mapping[str, str] | None = None,
                   ) -> dict[str, Any]:
    """The Event, named `name` or (None) by the apiserver after its involved object's name."""
    stamp = timestamp(now)
    meta: dict[str, Any] = {"namespace": namespace}
    if name is None:
        meta["generateName"] = f"{involved.get('name') or 'credcheck'}."
    else:
        meta["name"] = name
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Event", "metadata": meta, "involvedObject": dict(involved),
            "type": type_, "reason": reason, "message": message[:MAX_MESSAGE],
            "source": {"component": COMPONENT}, "reportingComponent": COMPONENT,
            "count": 1, "firstTimestamp": stamp, "lastTimestamp": stamp}
