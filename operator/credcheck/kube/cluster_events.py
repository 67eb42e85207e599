"""Events on KKP Cluster objects, where KKP's users look (pure: which Event, with what words, and whether to write).

KKP's dashboard shows a user cluster's Events to the project's members: it lists Events in all namespaces of the seed
with the field selector `involvedObject.name=<cluster>` (kubermatic/dashboard v2.31.0
modules/api/pkg/handler/v1/common/event.go:30,55, called from modules/api/pkg/handler/common/cluster.go:746). So for
each Cluster a verdict breaks (kube.impact) a Warning Event whose involvedObject is that Cluster
(`kubermatic.k8c.io/v1` `Cluster`, its name and uid), a reason per cause, and a message a project member can act on:
what will fail, the actions AWS denies, "ask your platform admin". Never another Cluster's name, the check's or the
Secret's name, a principal, a policy or a key byte: the message is read by every member of the Cluster's project.
When a Cluster that was broken is fine again, a Normal Event says so (once: only when a Warning is newer than the
last Normal one). An Unknown verdict writes nothing.

One Event per Cluster and reason (a fixed name): a repeated verdict updates it (count, lastTimestamp, message),
never a new Event per re-check, and an unchanged one at most every MIN_REPEAT seconds — client-go's own spam filter
lets one source write about one object once per 5 minutes after a burst of 25 (k8s.io/client-go
tools/record/events_cache.go: defaultSpamBurst, defaultSpamQPS).

The Events live in the namespace `default`: a core/v1 Event about a cluster-scoped object must (the apiserver's
validation of Events without eventTime, k8s.io/kubernetes pkg/apis/core/validation/events.go, legacyValidateEvent),
and the dashboard lists all namespaces.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from credcheck.kube.check_status import CheckStatus
from credcheck.kube.contract import KKP_GROUP, KKP_VERSION, parse_timestamp, timestamp
from credcheck.kube.events import COMPONENT, event_manifest
from credcheck.kube.impact import INSUFFICIENT, INVALID, ClusterImpact, broken_clusters

NAMESPACE = "default"
REASONS = {INVALID: "CredentialInvalid", INSUFFICIENT: "CredentialMissingPermissions"}
FIXED = "CredentialReady"
MIN_REPEAT = 300.0  # seconds between two writes of an unchanged Event
MAX_ACTIONS_NAMED = 10
MAX_MESSAGE = 1024


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    cluster: str  # the KKP Cluster's name (its ID)
    type: str  # Warning | Normal
    reason: str
    message: str

    @property
    def name(self) -> str:
        """One Event per Cluster and reason (a Cluster's name is a DNS label, the reason plain letters)."""
        return f"{self.cluster}.credcheck.{self.reason.lower()}"


def _message(impact: ClusterImpact) -> str:
    if impact.condition == INVALID:
        why = f" ({impact.reason})" if impact.reason else ""
        return (f"AWS rejects the cloud credential this cluster uses{why}: KKP cannot create, change or delete "
                "its machines, load balancers and volumes until the credential is replaced. Ask your platform admin "
                "to put a valid AWS key pair into this cluster's credential.")
    features = ", ".join(impact.features) or "some of KKP's features"
    named = ", ".join(impact.actions[:MAX_ACTIONS_NAMED])
    more = len(impact.actions) - MAX_ACTIONS_NAMED
    actions = f" (AWS denies {named}{f' and {more} more' if more > 0 else ''})" if named else ""
    return (f"The cloud credential this cluster uses lacks AWS permissions KKP needs: {features} will fail for this "
            f"cluster{actions}. Ask your platform admin to grant them to the cluster's AWS credential.")[:MAX_MESSAGE]


def decide(after: CheckStatus) -> list[ClusterEvent]:
    """The Events a status calls for: a Warning for each Cluster it breaks, and for each Cluster it says is Ready a
    Normal one — written only where a Warning of credcheck about that Cluster is newer than its last Normal one
    (`fixed_since`). Every verdict decides anew from the status alone (level-triggered): a write that failed, or an
    operator restarted between the break and the fix, is made up by the next verdict."""
    now = broken_clusters(after)
    events = [ClusterEvent(i.cluster, "Warning", REASONS[i.condition], _message(i)) for i in now]
    still = {i.cluster for i in now}
    for c in after.clusters:
        if c.ready == "True" and c.name not in still:
            events.append(ClusterEvent(c.name, "Normal", FIXED,
                                       "The cloud credential this cluster uses can again do what KKP needs in AWS."))
    return events


def warning_names(cluster: str) -> list[str]:
    """The names of the Warning Events credcheck may have written about a Cluster."""
    return [ClusterEvent(cluster, "Warning", reason, "").name for reason in REASONS.values()]


def fixed_since(warnings: Sequence[Mapping[str, Any] | None], normal: Mapping[str, Any] | None) -> bool:
    """Post the Normal Event? Only when a Warning about the Cluster was written after the last Normal one."""
    last_warning = max((str(w.get("lastTimestamp") or "") for w in warnings if w is not None), default="")
    return bool(last_warning) and (normal is None or last_warning > str(normal.get("lastTimestamp") or ""))


def write_plan(event: ClusterEvent, existing: Mapping[str, Any] | None, now: datetime,
               min_repeat: float = MIN_REPEAT) -> Literal["create", "update", "skip"]:
    """Create the Event, update it (count + 1), or leave it: unchanged and written less than min_repeat ago."""
    if existing is None:
        return "create"
    same = existing.get("message") == event.message and existing.get("type") == event.type
    last = existing.get("lastTimestamp")
    if same and last and (now - parse_timestamp(str(last))).total_seconds() < min_repeat:
        return "skip"
    return "update"


def manifest(event: ClusterEvent, uid: str, now: datetime) -> dict[str, Any]:
    return event_manifest(namespace=NAMESPACE, name=event.name, labels={"app.kubernetes.io/name": COMPONENT},
                          involved={"apiVersion": f"{KKP_GROUP}/{KKP_VERSION}", "kind": "Cluster",
                                    "name": event.cluster, "uid": uid},
                          type_=event.type, reason=event.reason, message=event.message, now=now)


def update(event: ClusterEvent, existing: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A merge patch: one more occurrence, now, with the current words."""
    return {"type": event.type, "message": event.message, "count": int(existing.get("count") or 1) + 1,
            "lastTimestamp": timestamp(now)}
