"""Which keys each KKP Cluster really runs on, and whether a rotation reached it (pure: values in, values out).

KKP copies the credential a Cluster references into `cluster-<id>/cloud-credentials`
(kubermatic/kubermatic@v2.31.0:pkg/controller/seed-controller-manager/cluster-credentials-controller/controller.go:
213-224, the name at pkg/resources/resources.go:405), except for a paused Cluster, which KKP does not reconcile
(pkg/controller/util/cluster.go:52). machine-controller, its webhook, the user-cluster controller and webhook
(pkg/resources/data.go:875-903) and the AWS cloud-controller-manager (pkg/resources/cloudcontroller/aws.go:88-110)
read the keys from the copy as environment variables, so a running pod keeps the keys it started with. KKP restarts
them by a pod-template label `cloud-credentials-secret-revision` = the copy's resourceVersion
(pkg/resources/reconciling/modifier/related_revisions.go:107-125,176-195,202-207). A Cluster created from a Preset
(annotation `presetName`, sdk/apis/kubermatic/v1/cluster.go:50) keeps the keys the Preset had then: a Preset's new
keys never reach it (kubermatic/kubermatic#11860).

Keys are compared only as digests made in memory (`KeyDigest`: HMAC-SHA256 under a random per-process key); no
digest is ever stored, logged or written.
"""

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

REVISION_LABEL = "cloud-credentials-secret-revision"  # related_revisions.go:108: "<secret>-secret-revision"
COPY_SECRET = "cloud-credentials"  # pkg/resources/resources.go:405
DO_NOT_DEACTIVATE = "do not deactivate the old key yet"


class InUse(StrEnum):
    CURRENT = "Current"
    ROTATING = "Rotating"
    STALE = "Stale"
    INVALID = "Invalid"
    UNKNOWN = "Unknown"


class KeyDigest:
    """Digests of key pairs under a key that lives only in this process: equal keys give equal digests here, and
    a digest says nothing outside it."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def of(self, access_key_id: bytes | str, secret_access_key: bytes | str) -> str:
        def raw(v: bytes | str) -> bytes:
            return v.encode() if isinstance(v, str) else v
        mac = hmac.new(self._key, raw(access_key_id).strip() + b"\0" + raw(secret_access_key).strip(),
                       hashlib.sha256)
        return mac.hexdigest()


@dataclass(frozen=True)
class Rollout:
    """One Deployment in the Cluster's namespace whose pod template reads the copy."""

    name: str
    revision: str | None  # the pod template's cloud-credentials-secret-revision label
    generation: int = 1
    observed_generation: int = 1
    replicas: int = 1
    updated_replicas: int = 1

    @property
    def finished(self) -> bool:
        """The rollout of the newest template finished (what `kubectl rollout status` waits for)."""
        return self.observed_generation >= self.generation and self.updated_replicas >= self.replicas


@dataclass(frozen=True)
class ClusterKeys:
    """What was read for one Cluster: digests only, never keys."""

    cluster: str
    namespace: str  # cluster-<id>
    paused: bool = False
    source: str = ""  # "Secret kubermatic/credential-aws-x"
    source_digest: str | None = None
    copy_digest: str | None = None
    copy_version: str | None = None  # the copy's resourceVersion
    copy_missing: bool = False
    unknown: str | None = None  # why something this rests on could not be read
    rollouts: tuple[Rollout, ...] = ()
    preset: str | None = None  # the Preset the Cluster was created from
    preset_digest: str | None = None  # None: the Preset could not be read (or holds no keys)
    refused: bool | None = None  # AWS refused the copy's keys (sts:GetCallerIdentity); None: not asked/unknown


@dataclass(frozen=True)
class Decision:
    state: InUse
    since: datetime
    reason: str
    message: str
    lagging: tuple[str, ...] = ()

    @property
    def stuck(self) -> bool:
        return self.state in (InUse.STALE, InUse.INVALID)


def lagging_rollouts(rollouts: Iterable[Rollout], copy_version: str | None) -> tuple[str, ...]:
    """Deployments whose pods may still run on other keys: a template not at the copy's revision, or a rollout
    not finished."""
    out = []
    for r in rollouts:
        if r.revision != copy_version:
            out.append(f"{r.name} (revision {r.revision or 'none'}, copy at {copy_version})")
        elif not r.finished:
            out.append(f"{r.name} (rollout {r.updated_replicas}/{r.replicas} updated)")
    return tuple(sorted(out))


def decide(keys: ClusterKeys, previous: tuple[str, datetime] | None, now: datetime, grace: timedelta) -> Decision:
    """The Cluster's state: Unknown (why), Invalid (AWS refuses what it runs on), Current, Rotating (copy or
    rollout behind, within `grace` of when that began), Stale (behind past grace; at once when KKP will never
    catch up: a paused Cluster, a Preset's changed keys). `previous` is the last (state, since)."""

    def made(state: InUse, reason: str, message: str, lagging: tuple[str, ...] = ()) -> Decision:
        kept = previous is not None and previous[0] == state.value
        return Decision(state, previous[1] if kept and previous else now, reason, message, lagging)

    where = f"{keys.namespace}/{COPY_SECRET}"
    if keys.unknown:
        return made(InUse.UNKNOWN, "NotVerified", keys.unknown)
    if keys.copy_missing:
        return made(InUse.UNKNOWN, "NoCopyYet",
                    f"{where} does not exist yet: KKP copies {keys.source} there once the Cluster's namespace "
                    "exists; nothing can be said about the keys its components run on")
    if keys.refused:
        return made(InUse.INVALID, "KeysRefused",
                    f"AWS refuses the keys in {where}, which this Cluster's machine-controller and "
                    "cloud-controller-manager run on (sts:GetCallerIdentity): its machines and load balancers fail "
                    f"until KKP copies valid keys from {keys.source}"
                    + (" (the Cluster is paused: unpause it so KKP copies them)" if keys.paused else ""))
    behind_copy = keys.copy_digest != keys.source_digest
    lagging = () if behind_copy else lagging_rollouts(keys.rollouts, keys.copy_version)
    preset_changed = (not behind_copy and keys.preset is not None and keys.preset_digest is not None
                      and keys.preset_digest != keys.source_digest)
    if not behind_copy and not lagging and not preset_changed:
        return made(InUse.CURRENT, "RunsOnCurrentKeys",
                    f"{where} holds the keys of {keys.source} and every Deployment reading it runs at its revision")
    if preset_changed:
        return made(InUse.STALE, "PresetKeysNotCopied",
                    f"created from Preset {keys.preset}, whose keys changed; KKP does not copy a Preset's new keys to "
                    f"Clusters made from it (kubermatic/kubermatic#11860): this Cluster runs on the keys of "
                    f"{keys.source}; {DO_NOT_DEACTIVATE} — put the new keys into {keys.source} to move it")
    what = (f"{where} does not hold the keys of {keys.source} yet" if behind_copy else
            "Deployments still on older keys: " + ", ".join(lagging))
    if keys.paused:
        return made(InUse.STALE, "ClusterPaused",
                    f"{what}; the Cluster is paused (spec.pause), so KKP neither re-copies its credential nor restarts "
                    f"its components: {DO_NOT_DEACTIVATE}, or unpause it", lagging)
    was = previous[0] if previous is not None else None
    started = previous[1] if previous is not None and was == InUse.ROTATING.value else now
    if was == InUse.STALE.value or now - started >= grace:
        return made(InUse.STALE, "RotationStuck",
                    f"{what}, for longer than {_minutes(grace)}: {DO_NOT_DEACTIVATE}; see the runbook "
                    "(CredcheckRotationStuck)", lagging)
    return made(InUse.ROTATING, "RotationInProgress", f"{what}; {DO_NOT_DEACTIVATE}", lagging)


def _minutes(grace: timedelta) -> str:
    seconds = int(grace.total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 and seconds % 60 == 0 else f"{seconds} s"


def rotation_condition(decisions: Mapping[str, Decision]) -> tuple[str, str, str]:
    """RotationComplete (status, reason, message) over the check's Clusters: False when any Cluster is Rotating,
    Stale or Invalid; else Unknown when any is Unknown; else True. It never changes Ready."""
    if not decisions:
        return "Unknown", "NoClusters", "no KKP Cluster uses this credential: there is no copy to follow"
    by = sorted(decisions.items())
    behind = [(n, d) for n, d in by if d.state in (InUse.ROTATING, InUse.STALE, InUse.INVALID)]
    if behind:
        worst = next((d for _, d in behind if d.state is InUse.INVALID),
                     next((d for _, d in behind if d.state is InUse.STALE), behind[0][1]))
        reason = {InUse.INVALID: "ClusterKeysRefused", InUse.STALE: "RotationStuck"}.get(worst.state,
                                                                                           "RotationInProgress")
        return "False", reason, "; ".join(f"Cluster {n}: {d.state.value}: {d.message}" for n, d in behind)
    unknown = [(n, d) for n, d in by if d.state is InUse.UNKNOWN]
    if unknown:
        return "Unknown", "NotVerified", "; ".join(f"Cluster {n}: {d.message}" for n, d in unknown)
    return "True", "AllClustersCurrent", (f"every Cluster ({len(by)}) runs on this credential's current keys: the "
                                          "old key is no longer used by them")


def newly_stuck(decision: Decision, previous: tuple[str, datetime] | None) -> bool:
    """An Event is due: the Cluster turned Stale or Invalid (not on every re-check)."""
    return decision.stuck and (previous is None or previous[0] != decision.state.value)


def references_copy(template: Mapping[str, object]) -> bool:
    """A pod template that reads the copy: a container's env (valueFrom.secretKeyRef) or envFrom (secretRef), or a
    Secret volume — the references KKP's RelatedRevisionsLabels follows (related_revisions.go:153-196)."""
    spec = template.get("spec")
    if not isinstance(spec, Mapping):
        return False
    for volume in spec.get("volumes") or ():
        if ((volume or {}).get("secret") or {}).get("secretName") == COPY_SECRET:
            return True
    for container in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
        for env in (container or {}).get("env") or ():
            if (((env or {}).get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == COPY_SECRET:
                return True
        for env_from in (container or {}).get("envFrom") or ():
            if ((env_from or {}).get("secretRef") or {}).get("name") == COPY_SECRET:
                return True
    return False


def rollouts(deployments: Iterable[Mapping[str, object]]) -> tuple[Rollout, ...]:
    """The Deployments (as the API returns them) whose pods read the copy, with their revision and rollout."""
    out = []
    for d in deployments:
        spec, status, meta = (d.get(k) or {} for k in ("spec", "status", "metadata"))
        assert isinstance(spec, Mapping) and isinstance(status, Mapping) and isinstance(meta, Mapping)
        template = spec.get("template") or {}
        if not isinstance(template, Mapping) or not references_copy(template):
            continue
        labels = (template.get("metadata") or {}).get("labels") or {}
        replicas = spec.get("replicas")
        out.append(Rollout(str(meta.get("name", "")), labels.get(REVISION_LABEL),
                           int(meta.get("generation") or 0), int(status.get("observedGeneration") or 0),
                           int(1 if replicas is None else replicas), int(status.get("updatedReplicas") or 0)))
    return tuple(sorted(out, key=lambda r: r.name))
