"""Watching KKP's objects without writing to them: indexes and event handlers, never diff-bases or finalizers.

Events only enqueue a key (a Secret or a Preset) on the discovery queue; the queue decides from the indexes what
the key calls for, so whichever event or resync asks, the answer is the latest state.
"""

import asyncio
from collections.abc import Hashable
from typing import Any

import kopf

from credcheck import metrics
from credcheck.contract import GROUP, KKP_GROUP, KKP_VERSION, PLURAL, VERSION
from credcheck.discovery import apply
from credcheck.discovery.kkp import ClusterUse, cluster_use, external_cluster_secret, seed_regions
from credcheck.discovery.queue import KeyQueue
from credcheck.discovery.world import (
    CheckView,
    DiscoveryScope,
    Key,
    PresetKey,
    PresetView,
    SecretKey,
    World,
    all_keys,
    check_view,
    datacenter_regions,
    plan_for,
)
from credcheck.supervise import supervise

INDEXES = ("secrets_by_name", "clusters_by_secret", "eks_by_secret", "regions_by_datacenter", "presets_by_name",
           "checks_by_source")


@kopf.index("", "v1", "secrets")
def secrets_by_name(body: kopf.Body, **_: Any) -> dict[tuple[str, str], str]:
    meta = body.get("metadata", {})
    return {(str(meta.get("namespace", "")), str(meta.get("name", ""))): str(meta.get("resourceVersion", ""))}


@kopf.index(KKP_GROUP, KKP_VERSION, "clusters")
def clusters_by_secret(body: kopf.Body, **_: Any) -> dict[tuple[str, str], ClusterUse]:
    use = cluster_use(body)
    return {} if use is None else {(use.secret_namespace, use.secret_name): use}


@kopf.index(KKP_GROUP, KKP_VERSION, "externalclusters")
def eks_by_secret(body: kopf.Body, **_: Any) -> dict[tuple[str, str], str]:
    ref = external_cluster_secret(body)
    return {} if ref is None else {ref: str(body.get("metadata", {}).get("name", ""))}


@kopf.index(KKP_GROUP, KKP_VERSION, "seeds")
def regions_by_datacenter(body: kopf.Body, **_: Any) -> dict[str, str]:
    return seed_regions(body)


@kopf.index(KKP_GROUP, KKP_VERSION, "presets")
def presets_by_name(body: kopf.Body, **_: Any) -> dict[str, PresetView]:
    meta, aws = body.get("metadata", {}), (body.get("spec") or {}).get("aws")
    aws = aws if isinstance(aws, dict) else {}
    return {str(meta.get("name", "")): PresetView(str(meta.get("resourceVersion", "")), bool(aws),
                                                  aws.get("assumeRoleARN") or None,
                                                  aws.get("assumeRoleExternalID") or None)}


@kopf.index(GROUP, VERSION, PLURAL)
def checks_by_source(body: kopf.Body, **_: Any) -> dict[tuple[str, str], CheckView]:
    entry = check_view(body)
    return {} if entry is None else {entry[0]: entry[1]}


def _world(indexes: dict[str, Any]) -> World:
    return World(indexes["secrets_by_name"], indexes["clusters_by_secret"], indexes["eks_by_secret"],
                 indexes["regions_by_datacenter"], indexes["presets_by_name"], indexes["checks_by_source"])


def _settings(memo: kopf.Memo) -> DiscoveryScope:
    s = memo.runtime.settings
    return DiscoveryScope(s.namespaces, s.operator_namespace, s.profile, s.interval, s.presets)


def _queue(memo: kopf.Memo, kwargs: dict[str, Any]) -> KeyQueue:
    """The discovery queue, made at the first event (indexes reach handlers only, and are live views)."""
    if memo.get("discovery") is None:
        memo.indexes = {name: kwargs[name] for name in INDEXES}
        runtime = memo.runtime

        async def work(key: Hashable) -> None:
            assert isinstance(key, SecretKey | PresetKey)
            plan = plan_for(key, _world(memo.indexes), _settings(memo))
            if plan.empty:
                return
            for done in await asyncio.to_thread(apply.apply_plan, runtime.kube, plan):
                memo.discovery_log.info("discovery: %s", done)

        memo.discovery = KeyQueue(work)
        memo.discovery_log = kwargs["logger"]
    queue: KeyQueue = memo.discovery
    return queue


def _enqueue(memo: kopf.Memo, kwargs: dict[str, Any], *keys: Key) -> None:
    queue = _queue(memo, kwargs)
    for key in keys:
        queue.enqueue(key)


@kopf.on.event("", "v1", "secrets")
async def secret_event(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    meta = body.get("metadata", {})
    _enqueue(memo, kwargs, SecretKey(str(meta.get("namespace", "")), str(meta.get("name", ""))))


@kopf.on.event(KKP_GROUP, KKP_VERSION, "clusters")
async def cluster_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """A Cluster's settings changed: its Secret's check, and the one it pointed at before if it moved."""
    name = str(body.get("metadata", {}).get("name", ""))
    use = cluster_use(body)
    key = SecretKey(use.secret_namespace, use.secret_name) if use else None
    known: dict[str, SecretKey | None] = memo.setdefault("cluster_keys", {})
    previous = known.pop(name, None)
    if event.get("type") != "DELETED":
        known[name] = key
    _enqueue(memo, kwargs, *{k for k in (key, previous) if k is not None})


@kopf.on.event(KKP_GROUP, KKP_VERSION, "externalclusters")
async def external_cluster_event(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    ref = external_cluster_secret(body)
    if ref is not None:
        _enqueue(memo, kwargs, SecretKey(*ref))


@kopf.on.event(KKP_GROUP, KKP_VERSION, "seeds")
async def seed_event(memo: kopf.Memo, **kwargs: Any) -> None:
    """A datacenter's region changed: every Cluster's check takes its region from the Seeds."""
    regions = datacenter_regions(kwargs["regions_by_datacenter"])
    if memo.get("regions") == regions:
        return  # Seeds change their status often; only their datacenters matter here
    memo.regions = regions
    _enqueue(memo, kwargs, *(SecretKey(*ref) for ref in list(kwargs["clusters_by_secret"])))


@kopf.on.event(KKP_GROUP, KKP_VERSION, "presets")
async def preset_event(body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    _enqueue(memo, kwargs, PresetKey(str(body.get("metadata", {}).get("name", ""))))


@kopf.on.event(GROUP, VERSION, PLURAL)
async def check_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """A discovered check edited or deleted by hand is put back as its sources say."""
    if event.get("type") == "DELETED" or (body.get("metadata", {}).get("labels") or {}).get(
            "credcheck.io/discovered") == "true":
        entry = check_view(body)
        if entry is not None:
            ref = entry[0][1]
            _enqueue(memo, kwargs, PresetKey(ref.removeprefix("preset:")) if ref.startswith("preset:")
                     else SecretKey(*entry[0]))


async def _resync(memo: kopf.Memo) -> None:
    """Every resync interval, every key anything knows of: whatever event was missed converges."""
    interval = memo.runtime.settings.resync_seconds
    while True:
        await asyncio.sleep(interval)
        queue: KeyQueue | None = memo.get("discovery")
        if queue is None:
            continue  # no event yet: nothing is indexed
        keys = all_keys(_world(memo.indexes), _settings(memo))
        for key in keys:
            queue.enqueue(key)
        metrics.RESYNCS.inc()
        memo.discovery_log.info("resync: %d keys", len(keys))


@kopf.on.startup()
async def start_resync(memo: kopf.Memo, logger: Any, **_: Any) -> None:
    memo.resync = asyncio.create_task(supervise("resync", lambda: _resync(memo), memo.health, logger))


@kopf.on.cleanup()
async def stop_resync(memo: kopf.Memo, **_: Any) -> None:
    task = memo.get("resync")
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    queue: KeyQueue | None = memo.get("discovery")
    if queue is not None:
        await queue.close()
