"""Discovery at work: the informers that keep its stores, the queue that works on their keys, and the resync.

An informer (credcheck.controller.discovery.informer) lists a kind, then watches it, into a store of small values: a
Secret its resourceVersion (metadata only: no Secret's data reaches the operator through a watch), a Cluster the Secret
it uses and its settings, a Preset whether it holds AWS keys, a check its source and what discovery owns of it. When a
watch expires (410: the events in between are lost) and every resync interval, the informer lists again and the store
becomes exactly the list: an object deleted meanwhile is gone, not kept as kopf's indexes keep it (kopf re-lists without
DELETED events). Changes only enqueue keys (a Secret or a Preset) on the discovery queue; the queue decides from the
stores what the key calls for, so whichever change or resync asked, the answer is the latest state.

The checks' informer also keeps the re-check scheduler's table and the per-check metrics (credcheck.controller.recheck).
`DiscoveryService` starts the informers and the resync as supervised loops and stops them, then the queue.
"""

import asyncio
import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from credcheck.controller import metrics, recheck
from credcheck.controller.discovery import apply
from credcheck.controller.discovery.informer import Informer
from credcheck.controller.discovery.queue import KeyQueue
from credcheck.controller.discovery.store import Store
from credcheck.controller.discovery.world import (
    CheckView,
    DiscoveryScope,
    PresetKey,
    PresetView,
    SecretKey,
    Snapshot,
    SourceKey,
    all_keys,
    check_view,
    plan_for,
)
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import Schedule
from credcheck.controller.supervise import Health, Supervisor
from credcheck.kube.client import collection
from credcheck.kube.contract import GROUP, KKP_GROUP, KKP_VERSION, PLURAL, VERSION
from credcheck.kube.kkp import (
    ImportedEKS,
    KKPCluster,
    KKPObjectError,
    preset_aws,
    read_cluster,
    read_external_cluster,
    seed_regions,
)

LOG = logging.getLogger("credcheck.controller.discovery")

# the informers list everything again every resync interval, but not more often than this: a watch lives that long
# at least (a resync of seconds, as tests set, would otherwise cut every watch before any event or 410 reached it)
MIN_RELIST = 60.0


def _secret(body: Mapping[str, Any]) -> tuple[Hashable, str]:
    meta = body.get("metadata") or {}
    return (str(meta.get("namespace", "")), str(meta.get("name", ""))), str(meta.get("resourceVersion", ""))


def _unreadable(kind: str, err: KKPObjectError) -> None:
    """A KKP object with a field of the wrong type is left out of the store, said so (its field named, no value)."""
    LOG.warning("discovery: a %s is left out: %s", kind, err)


def _cluster(body: Mapping[str, Any]) -> tuple[Hashable, KKPCluster] | None:
    try:
        use = read_cluster(body)
    except KKPObjectError as err:
        _unreadable("Cluster", err)
        return None
    return None if use is None or use.secret is None else (use.secret, use)


def _external(body: Mapping[str, Any]) -> tuple[Hashable, ImportedEKS] | None:
    try:
        eks = read_external_cluster(body)
    except KKPObjectError as err:
        _unreadable("ExternalCluster", err)
        return None
    return None if eks is None or eks.secret is None else (eks.secret, eks)


def _seed(body: Mapping[str, Any]) -> tuple[Hashable, tuple[tuple[str, str], ...]] | None:
    try:
        regions = tuple(sorted(seed_regions(body).items()))
    except KKPObjectError as err:
        _unreadable("Seed", err)
        return None
    return (str((body.get("metadata") or {}).get("name", "")), regions) if regions else None


def _preset(body: Mapping[str, Any]) -> tuple[Hashable, PresetView]:
    meta = body.get("metadata") or {}
    try:
        aws = preset_aws(body)
    except KKPObjectError as err:  # still checked: its check reads it again and says what is wrong (a condition)
        LOG.warning("discovery: a Preset's AWS settings cannot be read: %s", err)
        return str(meta.get("name", "")), PresetView(str(meta.get("resourceVersion", "")), True, None, None)
    return str(meta.get("name", "")), PresetView(str(meta.get("resourceVersion", "")), aws is not None,
                                                 aws.assume_role_arn if aws else None,
                                                 aws.external_id if aws else None)


def _check(body: Mapping[str, Any]) -> tuple[Hashable, CheckView] | None:
    return check_view(body)


@dataclass
class Discovery:
    """The stores, the informers that keep them, and the queue that works on their keys."""

    scope: DiscoveryScope
    secrets: Store[Any, str] = field(default_factory=Store)
    clusters: Store[Any, KKPCluster] = field(default_factory=Store)
    eks: Store[Any, ImportedEKS] = field(default_factory=Store)
    seeds: Store[Any, tuple[tuple[str, str], ...]] = field(default_factory=Store)
    presets: Store[Any, PresetView] = field(default_factory=Store)
    checks: Store[Any, CheckView] = field(default_factory=Store)
    informers: list[Informer] = field(default_factory=list)
    queue: KeyQueue | None = None
    regions: dict[str, str] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        regions = {dc: (region,) for found in self.seeds.values() for mapping in found for dc, region in mapping}
        return Snapshot(self.secrets, self.clusters, self.eks, regions, self.presets, self.checks)

    async def synced(self) -> None:
        await asyncio.gather(*(informer.synced.wait() for informer in self.informers))

    def enqueue(self, *keys: SourceKey) -> None:
        if self.queue is not None:
            for key in keys:
                self.queue.enqueue(key)


def _secret_keys(changed: list[Hashable]) -> list[SourceKey]:
    return [SecretKey(*ref) for ref in changed if isinstance(ref, tuple)]


def build(runtime: Runtime, schedule: Schedule, logger: logging.Logger) -> Discovery:
    """The informers of every kind discovery reads, each feeding its store and the discovery queue (the checks'
    informer the re-check schedule and the metrics too)."""
    s = runtime.settings
    found = Discovery(DiscoveryScope(s.namespaces, s.operator_namespace, s.profile, s.interval, s.presets))
    namespaces = sorted(set(s.namespaces) | {s.operator_namespace})
    every = max(s.resync_seconds, MIN_RELIST)

    def on_seeds(_: list[Hashable]) -> None:
        regions = {dc: region for values in found.seeds.values() for mapping in values for dc, region in mapping}
        if regions != found.regions:  # Seeds change their status often; only their datacenters matter here
            found.regions = regions
            found.enqueue(*_secret_keys(list(found.clusters)))

    def on_checks(changed: list[Hashable]) -> None:
        # a discovered check edited or deleted by hand is put back as its sources say; a user's check follows
        # its Secret's rotation
        for key in changed:
            if isinstance(key, tuple):
                namespace, ref = str(key[0]), str(key[1])
                found.enqueue(PresetKey(ref.removeprefix("preset:")) if ref.startswith("preset:")
                              else SecretKey(namespace, ref))

    def informer(name: str, path: str, entry: Callable[[Mapping[str, Any]], Any], store: Store[Any, Any],
                 changed: Callable[[list[Hashable]], None], **kwargs: Any) -> None:
        found.informers.append(Informer(name, runtime.kube, path, entry, changed, relist_every=every, store=store,
                                        **kwargs))

    for ns in namespaces:
        informer(f"secrets {ns}", collection("", "v1", "secrets", ns), _secret, found.secrets,
                 lambda changed: found.enqueue(*_secret_keys(changed)), metadata_only=True, scope=ns)
        informer(f"seeds {ns}", collection(KKP_GROUP, KKP_VERSION, "seeds", ns), _seed, found.seeds, on_seeds,
                 scope=ns)
        informer(f"awscredentialchecks {ns}", collection(GROUP, VERSION, PLURAL, ns), _check, found.checks, on_checks,
                 scope=ns, project=recheck.record_of(s.interval), observe=recheck.keep_in_step(schedule))
    informer("clusters", collection(KKP_GROUP, KKP_VERSION, "clusters"), _cluster, found.clusters,
             lambda changed: found.enqueue(*_secret_keys(changed)))
    informer("externalclusters", collection(KKP_GROUP, KKP_VERSION, "externalclusters"), _external, found.eks,
             lambda changed: found.enqueue(*_secret_keys(changed)))
    if s.presets:  # without, the Presets' checks go (their keys come from the checks' store)
        informer("presets", collection(KKP_GROUP, KKP_VERSION, "presets"), _preset, found.presets,
                 lambda changed: found.enqueue(*(PresetKey(str(name)) for name in changed)))

    async def work(key: Hashable) -> None:
        assert isinstance(key, SecretKey | PresetKey)
        await found.synced()  # every kind listed once: a plan never acts on half a picture
        plan = plan_for(key, found.snapshot(), found.scope)
        if plan.empty:
            return
        for done in await asyncio.to_thread(apply.apply_plan, runtime.kube, plan):
            logger.info("discovery: %s", done)

    found.queue = KeyQueue(work)
    return found


async def resync(discovery: Discovery, interval: float, logger: logging.Logger) -> None:
    """Every resync interval, every key anything knows of: whatever was missed converges (the informers list
    everything again on the same period)."""
    while True:
        await asyncio.sleep(interval)
        await discovery.synced()
        keys = all_keys(discovery.snapshot(), discovery.scope)
        discovery.enqueue(*keys)
        metrics.RESYNCS.inc()
        logger.info("resync: %d keys", len(keys))


class DiscoveryService:
    """Discovery for the leader: `start` runs every informer ("watch <name>") and the resync ("resync") as supervised
    loops; `stop` ends them, then the queue's work."""

    def __init__(self, runtime: Runtime, schedule: Schedule, health: Health, logger: logging.Logger) -> None:
        self.discovery = build(runtime, schedule, logger)
        self.resync_every = runtime.settings.resync_seconds
        self.logger = logger
        self._loops = Supervisor(health, logger)

    def start(self) -> None:
        found = self.discovery
        for informer in found.informers:
            self._loops.start(f"watch {informer.name}", informer.run)
        self._loops.start("resync", lambda: resync(found, self.resync_every, self.logger))

    async def stop(self) -> None:
        await self._loops.stop_all()
        if self.discovery.queue is not None:
            await self.discovery.queue.close()
