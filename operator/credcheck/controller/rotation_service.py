"""Following a check's Clusters onto the keys they run on: the reads (blocking, in the Kubernetes threads), the
decision (controller.rotation, pure), and what the status, Events and /metrics get from it.

Reads per check and round (documented in docs/security.md): the credential Secret once; per Cluster its Cluster
object, its `cluster-<id>/cloud-credentials` copy (get by name), the Deployments of `cluster-<id>` (one list) and,
for a Cluster made from a Preset, the Preset; one sts:GetCallerIdentity with the copy's keys only when they differ
from the credential's. No Secret is listed or watched, no key leaves this module except as a digest compared here.
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Gauge

from credcheck.controller.cluster_config import apply_config_findings
from credcheck.controller.deletion import deletion_actions, deletion_readiness
from credcheck.controller.metrics import REGISTRY
from credcheck.controller.rotation import (
    COPY_SECRET,
    ClusterKeys,
    Decision,
    InUse,
    KeyDigest,
    decide,
    newly_stuck,
    rollouts,
    rotation_condition,
)
from credcheck.controller.runtime import Runtime
from credcheck.engine.aws.keys import keys_refused
from credcheck.engine.credential import ACCESS_KEY_ID_KEY, PRESET_ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY
from credcheck.engine.model import Credential
from credcheck.engine.requirements.profiles import BUILTIN, load_profile
from credcheck.kube.check_status import CheckStatus, ClusterStatus
from credcheck.kube.client import ReadFailure
from credcheck.kube.cluster_events import ClusterEvent
from credcheck.kube.contract import parse_timestamp, timestamp
from credcheck.kube.kkp import KKPObjectError, control_plane, preset_aws
from credcheck.kube.spec import CheckObject, SecretSource
from credcheck.kube.status import StatusCondition, merge_conditions

LOG = logging.getLogger("credcheck.controller.rotation")
STUCK = Gauge("credcheck_rotation_stuck", "1 while a KKP Cluster runs on other keys than its credential's past "
              "the grace (Stale) or on keys AWS refuses (Invalid), else 0", ["check_namespace", "name", "cluster"],
              registry=REGISTRY)
_SHOWN: dict[tuple[str, str], set[str]] = {}  # the Clusters each check has a gauge for
_DIGEST = KeyDigest()  # its key lives in this process only
EKS_PROFILE = "eks"  # the profile discovery gives an imported EKS cluster's Secret (discovery.kkp.EKS_PROFILE)
# what a Cluster's project members read (KKP's dashboard shows a Cluster's Events to them): no Secret, check or
# namespace name, no other Cluster (kube.cluster_events' rule); the check's own Event carries the details
CLUSTER_WORDS = {
    "ClusterRotationStuck": "this Cluster's machine-controller and cloud-controller-manager still run on cloud "
                            "credentials that were replaced: once the old key is deactivated, machines and load "
                            "balancers will fail; ask your platform admin",
    "ClusterKeysRefused": "AWS refuses the cloud credentials this Cluster's machine-controller and "
                          "cloud-controller-manager run on: machines and load balancers fail; ask your platform admin",
}


@dataclass(frozen=True)
class Followed:
    decisions: dict[str, Decision]
    check_events: tuple[tuple[str, str, str], ...] = ()
    cluster_events: tuple[ClusterEvent, ...] = ()  # written by controller.cluster_events, as the verdict's


def _digest(data: Mapping[str, bytes], id_key: str = ACCESS_KEY_ID_KEY,
            secret_key: str = SECRET_ACCESS_KEY_KEY) -> str | None:
    key_id, secret = data.get(id_key), data.get(secret_key)
    return _DIGEST.of(key_id, secret) if key_id and secret else None


def _previous(status: CheckStatus) -> dict[str, tuple[str, datetime]]:
    out = {}
    for entry in status.clusters:
        state, since = entry.credential_in_use, entry.credential_in_use_since
        if state and since:
            try:
                out[entry.name] = (state, parse_timestamp(since))
            except ValueError:
                continue
    return out


def _read_cluster(runtime: Runtime, name: str, source: str, source_digest: str | None,
                  region: str) -> tuple[ClusterKeys, str]:
    """What one Cluster runs on (blocking); its uid for Events."""
    kube = runtime.kube
    found = kube.cluster(name)
    if isinstance(found, ReadFailure):
        return ClusterKeys(name, f"cluster-{name}", source=source,
                           unknown=f"Cluster {name} cannot be read: {found.reason}"), ""
    try:
        home = control_plane(found)
    except KKPObjectError as err:
        return ClusterKeys(name, f"cluster-{name}", source=source, unknown=f"{err}: fix the Cluster"), ""
    namespace = home.namespace
    base = ClusterKeys(name, namespace, paused=home.paused, source=source, source_digest=source_digest)
    uid = home.uid
    if source_digest is None:
        return _with(base, unknown=f"{source} holds no complete key pair to compare with"), uid
    copy = kube.copy_secret(namespace, COPY_SECRET)
    if isinstance(copy, ReadFailure):
        if copy.reason == "CopyNotFound":
            return _with(base, copy_missing=True), uid
        return _with(base, unknown=f"{copy.message}: grant get on Secrets named {COPY_SECRET} (the chart's "
                     "rotation.enabled) or turn the rotation check off"), uid
    data, version = copy
    copy_digest = _digest(data)
    deployments = kube.deployments(namespace)
    if isinstance(deployments, ReadFailure):
        return _with(base, unknown=f"{deployments.message}: the Deployments that run on the copy cannot be "
                     "followed"), uid
    preset, preset_digest = home.preset, None
    if preset:
        found_preset = kube.preset(preset)
        if isinstance(found_preset, ReadFailure) and found_preset.reason != "PresetNotFound":
            # whether the Preset's keys moved on (kubermatic/kubermatic#11860) is what this read is for: unverified
            # is Unknown, never Current (a deleted Preset leaves the Cluster on its own Secret: compared above)
            return _with(base, unknown=f"the Cluster was created from Preset {preset}, which credcheck cannot read "
                         f"({found_preset.reason}): grant get on presets, or turn presets off"), uid
        try:
            aws = preset_aws(found_preset) if isinstance(found_preset, dict) else None
        except KKPObjectError as err:
            return _with(base, unknown=f"the Cluster was created from Preset {preset}: {err}"), uid
        preset_digest = _digest(aws.data if aws else {}, PRESET_ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY)
    refused = None
    if copy_digest is not None and copy_digest != source_digest:
        credential = Credential(data[ACCESS_KEY_ID_KEY].decode(errors="replace").strip(),
                                data[SECRET_ACCESS_KEY_KEY].decode(errors="replace").strip())
        refused = keys_refused(runtime.aws, credential, region)
    return _with(base, copy_digest=copy_digest, copy_version=version, rollouts=rollouts(deployments),
                 preset=preset, preset_digest=preset_digest, refused=refused), uid


def _with(keys: ClusterKeys, **changes: Any) -> ClusterKeys:
    return replace(keys, **changes)


def _read_all(runtime: Runtime, check: CheckObject) -> list[tuple[ClusterKeys, str]]:
    assert check.spec is not None and isinstance(check.spec.source, SecretSource)
    source = check.spec.source
    where = f"Secret {check.namespace}/{source.name}"
    data = runtime.kube.secret_data(check.namespace, source.name)
    digest = None if isinstance(data, ReadFailure) else _digest(data, source.access_key_id_key,
                                                                 source.secret_access_key_key)
    out = []
    for entry in check.spec.clusters:
        if entry.cluster:
            out.append(_read_cluster(runtime, entry.cluster, where, digest,
                                     entry.region or check.spec.region or runtime.settings.region))
    return out


async def follow(runtime: Runtime, check: CheckObject, previous_status: CheckStatus,
                 now: datetime) -> Followed | None:
    """Each covered Cluster's credentialInUse, and the Events due; None when not followed (setting off, a Preset's
    check, no Clusters)."""
    spec = check.spec
    if (not runtime.settings.rotation or spec is None or not isinstance(spec.source, SecretSource)
            or not any(c.cluster for c in spec.clusters) or spec.requirements.profile == EKS_PROFILE):
        return None  # an imported EKS cluster's entries name EKS clusters: KKP makes no cluster-<id> copy for them
    try:
        read = await asyncio.to_thread(_read_all, runtime, check)
    except Exception:  # an unexpected answer: visible, and the Clusters say Unknown rather than nothing
        LOG.exception("following the Clusters of %s/%s failed", check.namespace, check.name)
        read = [(ClusterKeys(c.cluster, f"cluster-{c.cluster}", unknown="reading the Cluster's copy failed "
                             "(see the operator's log)"), "") for c in spec.clusters if c.cluster]
    before = _previous(previous_status)
    grace = timedelta(seconds=runtime.settings.rotation_grace_seconds)
    decisions, check_events, cluster_events = {}, [], []
    for keys, uid in read:
        d = decide(keys, before.get(keys.cluster), now, grace)
        decisions[keys.cluster] = d
        if newly_stuck(d, before.get(keys.cluster)):
            reason = "ClusterKeysRefused" if d.state is InUse.INVALID else "ClusterRotationStuck"
            check_events.append(("Warning", reason, f"Cluster {keys.cluster}: {d.message}"))
            if uid:  # a Cluster read: the writer names it by its uid
                cluster_events.append(ClusterEvent(keys.cluster, "Warning", reason, CLUSTER_WORDS[reason]))
    _publish(check.namespace, check.name, decisions)
    return Followed(decisions, tuple(check_events), tuple(cluster_events))


def _publish(namespace: str, name: str, decisions: Mapping[str, Decision]) -> None:
    shown = _SHOWN.setdefault((namespace, name), set())
    for gone in shown - set(decisions):
        STUCK.remove(namespace, name, gone)
    for cluster, d in decisions.items():
        STUCK.labels(namespace, name, cluster).set(1 if d.stuck else 0)
    shown.clear()
    shown.update(decisions)


def forget(namespace: str, name: str) -> None:
    """A deleted check's Clusters leave credcheck_rotation_stuck (no alert about a check that is gone)."""
    for cluster in _SHOWN.pop((namespace, name), set()):
        STUCK.remove(namespace, name, cluster)


def apply(status: CheckStatus, followed: Followed | None, previous: CheckStatus, now: datetime, *,
          generation: int | None, recheck_seconds: float, grace_seconds: float = 0.0) -> CheckStatus:
    """credentialInUse (state, since, message) in each status.clusters entry, and RotationComplete."""
    if followed is None:
        return status
    entries = list(status.clusters)
    for cluster, d in followed.decisions.items():
        at = next((i for i, e in enumerate(entries) if e.name == cluster), None)
        if at is None:
            entries.append(ClusterStatus(cluster))
            at = len(entries) - 1
        entries[at] = replace(entries[at], credential_in_use=d.state.value, credential_in_use_since=timestamp(d.since),
                              credential_in_use_reason=d.reason, credential_in_use_message=d.message[:1024])
    kind, reason, message = rotation_condition(followed.decisions)
    merged = merge_conditions([StatusCondition("RotationComplete", kind, reason, message)], previous.conditions,
                              now, generation)
    out = replace(status, clusters=tuple(entries),
                  conditions=tuple(c for c in status.conditions if c.type != "RotationComplete") + merged)
    # while a Cluster is behind: Rotating turns Stale after the grace, a Stale one turns Invalid when the old key is
    # deactivated (to show before its components fail, not at the next interval), and an Invalid one recovers
    # and a new Cluster whose copy KKP has not made yet, for as long as the grace (then at the check's interval)
    if any(d.state in (InUse.ROTATING, InUse.STALE, InUse.INVALID)
           or (d.reason == "NoCopyYet" and (now - d.since).total_seconds() < grace_seconds)
           for d in followed.decisions.values()):
        soon = now + timedelta(seconds=recheck_seconds)
        if not out.next_check_time or parse_timestamp(out.next_check_time) > soon:
            out = replace(out, next_check_time=timestamp(soon))
    return out


def apply_deletion(status: CheckStatus, profile: str, check: CheckObject | None = None,
                   looked_up: Mapping[str, list[str]] | None = None) -> CheckStatus:
    """deletionReady (and deletionMessage) in each status.clusters entry, from the deletion calls of a built-in
    profile (a ConfigMap profile: Unknown); and each Cluster's settings KKP's components reject (configFindings)."""
    if check is not None and check.spec is not None:
        status = apply_config_findings(status, check.spec.clusters, looked_up)
    actions = deletion_actions(load_profile(profile).statements) if profile in BUILTIN else frozenset()
    skipped = check.spec.requirements.skip_features if check is not None and check.spec is not None else ()
    entries = []
    for entry in status.clusters:
        if not entry.name or entry.name == "(no Cluster)" or entry.ready is None:
            entries.append(entry)  # no verdict for this Cluster (the source could not be read): nothing to say yet
            continue
        ready = deletion_readiness(entry, actions, skipped)
        entries.append(replace(entry, deletion_ready=ready.status, deletion_message=ready.message))
    return status.with_clusters(entries)
