"""What one key calls for, decided from a snapshot of what the operator knows (pure: no API calls).

A key is a Secret (namespace, name) or a Preset. The snapshot comes from the operator's indexes of Secrets,
Clusters, ExternalClusters, Seeds, Presets and AWSCredentialChecks, so the answer is always the latest state,
whichever event (or resync) asked: level-triggered.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from credcheck.controller.discovery.desired import (
    check_name_for_preset,
    check_name_for_secret,
    desired_for_preset,
    desired_for_secret,
    discovery_view,
)
from credcheck.controller.discovery.kkp import is_credential_secret, is_kkp_copy, merge_uses
from credcheck.kube.contract import ANNOTATION_SOURCE_VERSION, LABEL_DISCOVERED
from credcheck.kube.kkp import ImportedEKS, KKPCluster


@dataclass(frozen=True)
class SecretKey:
    namespace: str
    name: str


@dataclass(frozen=True)
class PresetKey:
    name: str


SourceKey = SecretKey | PresetKey


@dataclass(frozen=True)
class CheckView:
    """What the checks index keeps of an AWSCredentialCheck: enough to know whether a write is needed."""

    namespace: str
    name: str
    discovered: bool
    view: str  # discovery_view() of the stored object (a digest)
    source_version: str  # its credcheck.io/source-version annotation


@dataclass(frozen=True)
class PresetView:
    resource_version: str
    has_aws: bool
    assume_role_arn: str | None
    external_id: str | None


@dataclass(frozen=True)
class Plan:
    """The writes one key needs; empty when everything stored is as it should be."""

    ensure: dict[str, Any] | None = None  # a discovered check to create or bring in step
    # discovered checks (namespace, name) reading this source to delete: the source is gone, or a check of another
    # name reads it (named by an older rule, or under a name two sources shared)
    remove: tuple[tuple[str, str], ...] = ()
    touch: tuple[tuple[str, str], ...] = ()  # user-created checks to re-check: their Secret changed
    version: str = ""  # the source's resourceVersion the touches record
    source: tuple[str, str] = ("", "")  # ("secretRef" or "presetRef", name): what a check to remove must read

    @property
    def empty(self) -> bool:
        return self.ensure is None and not self.remove and not self.touch


@dataclass(frozen=True)
class DiscoveryScope:
    namespaces: tuple[str, ...]
    operator_namespace: str
    profile: str
    interval: str
    presets: bool = True


@dataclass
class Snapshot:
    """A snapshot of the indexes (plain mappings of key -> values, as kopf's indexes are)."""

    secrets: Mapping[tuple[str, str], Iterable[str]]  # -> resourceVersion
    clusters: Mapping[tuple[str, str], Iterable[KKPCluster]]
    eks: Mapping[tuple[str, str], Iterable[ImportedEKS]]  # -> the ExternalClusters (EKS) using it
    regions: Mapping[str, Iterable[str]]  # datacenter -> region
    presets: Mapping[str, Iterable[PresetView]]
    checks: Mapping[tuple[str, str], Iterable[CheckView]]  # (namespace, secret or preset) -> checks using it
    _regions: dict[str, str] | None = field(default=None, repr=False)

    def first(self, index: Mapping[Any, Iterable[Any]], key: Any) -> Any:
        return next(iter(index.get(key, ())), None)

    def region_map(self) -> dict[str, str]:
        if self._regions is None:
            self._regions = datacenter_regions(self.regions)
        return self._regions


def datacenter_regions(index: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Datacenter -> region over every Seed (datacenter names are unique across a KKP installation)."""
    return {dc: region for dc, regions in index.items() for region in list(regions)[:1]}


def plan_secret(key: SecretKey, world: Snapshot, scope: DiscoveryScope) -> Plan:
    ref = (key.namespace, key.name)
    version = world.first(world.secrets, ref)
    uses: list[KKPCluster] = list(world.clusters.get(ref, ()))
    imported = list(world.eks.get(ref, ()))
    eks = bool(imported)
    checks = list(world.checks.get(ref, ()))
    name = check_name_for_secret(key.name)
    ours = [c for c in checks if c.discovered and c.name == name]
    strays = tuple((c.namespace, c.name) for c in checks if c.discovered and c.name != name)
    touch = tuple((c.namespace, c.name) for c in checks if not c.discovered and version is not None
                  and c.source_version != version)
    wanted = (key.namespace in scope.namespaces and not is_kkp_copy(*ref)
              and is_credential_secret(key.namespace, key.name, referenced=bool(uses) or eks)
              and (version is not None or bool(uses) or eks))
    source = ("secretRef", key.name)
    if not wanted:
        return Plan(remove=tuple((c.namespace, c.name) for c in checks if c.discovered), touch=touch,
                    version=version or "", source=source)
    # a Secret that Clusters still use keeps its check while it is missing: the check reports SecretNotFound
    desired = desired_for_secret(key.namespace, key.name, resource_version=version or "absent",
                                 uses=merge_uses(uses, world.region_map(), imported), profile=scope.profile,
                                 interval=scope.interval)
    current = ours[0] if ours else None
    stale = current is None or current.view != discovery_view(desired)
    return Plan(ensure=desired if stale else None, remove=strays, touch=touch, version=version or "", source=source)


def plan_preset(key: PresetKey, world: Snapshot, scope: DiscoveryScope) -> Plan:
    preset: PresetView | None = world.first(world.presets, key.name)
    namespace, name = scope.operator_namespace, check_name_for_preset(key.name)
    discovered = [c for c in world.checks.get((namespace, f"preset:{key.name}"), ()) if c.discovered]
    ours = [c for c in discovered if c.name == name]
    source = ("presetRef", key.name)
    if not scope.presets or preset is None or not preset.has_aws:
        return Plan(remove=tuple((c.namespace, c.name) for c in discovered), source=source)
    desired = desired_for_preset(namespace, key.name, resource_version=preset.resource_version,
                                 profile=scope.profile, interval=scope.interval)
    stale = not ours or ours[0].view != discovery_view(desired)
    return Plan(ensure=desired if stale else None, remove=tuple((c.namespace, c.name) for c in discovered
                                                                if c.name != name), source=source)


def plan_for(key: SourceKey, world: Snapshot, scope: DiscoveryScope) -> Plan:
    return plan_secret(key, world, scope) if isinstance(key, SecretKey) else plan_preset(key, world, scope)


def check_view(body: Mapping[str, Any]) -> tuple[tuple[str, str], CheckView] | None:
    """The checks index entry of an AWSCredentialCheck: keyed by the Secret (or `preset:NAME`) it reads."""
    meta = body.get("metadata") or {}
    source = (body.get("spec") or {}).get("source") or {}
    namespace = str(meta.get("namespace", ""))
    if "secretRef" in source:
        ref = str((source["secretRef"] or {}).get("name", ""))
    elif "presetRef" in source:
        ref = f"preset:{(source['presetRef'] or {}).get('name', '')}"
    else:
        return None
    view = CheckView(namespace, str(meta.get("name", "")),
                     (meta.get("labels") or {}).get(LABEL_DISCOVERED) == "true", discovery_view(body),
                     str((meta.get("annotations") or {}).get(ANNOTATION_SOURCE_VERSION, "")))
    return (namespace, ref), view


def all_keys(world: Snapshot, scope: DiscoveryScope) -> set[SourceKey]:
    """Every key anything knows of: the resync's work list (unchanged keys cost no API call)."""
    keys: set[SourceKey] = set()
    for index in (world.secrets, world.clusters, world.eks):
        keys.update(SecretKey(ns, name) for ns, name in index if ns in scope.namespaces)
    for (namespace, ref), views in world.checks.items():
        if ref.startswith("preset:"):
            keys.add(PresetKey(ref.removeprefix("preset:")))
        elif any(True for _ in views):
            keys.add(SecretKey(namespace, ref))
    keys.update(PresetKey(name) for name in world.presets)
    return keys
