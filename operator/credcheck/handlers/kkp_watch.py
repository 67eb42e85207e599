"""Watching KKP's objects without writing to them: event handlers and indexes, never diff-bases or finalizers."""

import asyncio
from typing import Any

import kopf

from credcheck.contract import KKP_GROUP, KKP_VERSION
from credcheck.discovery import apply
from credcheck.discovery.kkp import (
    ClusterUse,
    cluster_use,
    external_cluster_secret,
    is_credential_secret,
    merge_uses,
    seed_regions,
)


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


def datacenter_regions(index: kopf.Index[str, str]) -> dict[str, str]:
    """Datacenter -> region over every Seed (datacenter names are unique across a KKP installation)."""
    return {dc: region for dc, regions in index.items() for region in list(regions)[:1]}


def _uses(index: kopf.Index[tuple[str, str], ClusterUse], namespace: str, name: str) -> list[ClusterUse]:
    return list(index.get((namespace, name), []))


async def _ensure(runtime: Any, namespace: str, name: str, *, version: str, uses: list[ClusterUse], eks: bool,
                  kwargs: dict[str, Any]) -> str:
    settings = merge_uses(uses, datacenter_regions(kwargs["regions_by_datacenter"]), eks)
    return await asyncio.to_thread(apply.ensure_secret_check, runtime, namespace, name, version, settings)


@kopf.on.event("", "v1", "secrets")
async def secret_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, logger: Any, **kwargs: Any) -> None:
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    runtime = memo.runtime
    if namespace not in runtime.settings.namespaces:
        return
    uses = _uses(kwargs["clusters_by_secret"], namespace, name)
    eks = bool(kwargs["eks_by_secret"].get((namespace, name)))
    if not is_credential_secret(namespace, name, referenced=bool(uses) or eks):
        return
    deleted = event.get("type") == "DELETED"
    if deleted and not uses and not eks:
        if await asyncio.to_thread(apply.remove_secret_check, runtime, namespace, name):
            logger.info("Secret %s/%s is gone: deleted its check", namespace, name)
        return
    # a deleted Secret that Clusters still use keeps its check, which then reports SecretNotFound
    version = "absent" if deleted else str(meta.get("resourceVersion", ""))
    result = await _ensure(runtime, namespace, name, version=version, uses=uses, eks=eks, kwargs=kwargs)
    if result in ("created", "updated"):
        logger.info("check for Secret %s/%s %s", namespace, name, result)


async def _secret_changed_use(runtime: Any, namespace: str, name: str, *, uses: list[ClusterUse], eks: bool,
                              kwargs: dict[str, Any]) -> None:
    version = await asyncio.to_thread(runtime.kube.secret_version, namespace, name)
    if version is None and not uses and not eks:
        await asyncio.to_thread(apply.remove_secret_check, runtime, namespace, name)
        return
    # a Cluster pointing at a Secret that does not exist still gets a check: it reports SecretNotFound
    await _ensure(runtime, namespace, name, version=version or "absent", uses=uses, eks=eks, kwargs=kwargs)


@kopf.on.event(KKP_GROUP, KKP_VERSION, "clusters")
async def cluster_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """A Cluster's settings changed (assume-role, IAM switch, names, datacenter, version): bring its check in step."""
    use = cluster_use(body)
    runtime = memo.runtime
    if use is None or use.secret_namespace not in runtime.settings.namespaces:
        return
    uses = [u for u in _uses(kwargs["clusters_by_secret"], use.secret_namespace, use.secret_name)
            if not (event.get("type") == "DELETED" and u.cluster == use.cluster)]
    eks = bool(kwargs["eks_by_secret"].get((use.secret_namespace, use.secret_name)))
    await _secret_changed_use(runtime, use.secret_namespace, use.secret_name, uses=uses, eks=eks, kwargs=kwargs)


@kopf.on.event(KKP_GROUP, KKP_VERSION, "externalclusters")
async def external_cluster_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """An imported EKS cluster's credential is checked against the eks profile."""
    ref = external_cluster_secret(body)
    runtime = memo.runtime
    if ref is None or ref[0] not in runtime.settings.namespaces:
        return
    others = [n for n in kwargs["eks_by_secret"].get(ref, []) if n != body.get("metadata", {}).get("name")]
    eks = event.get("type") != "DELETED" or bool(others)
    await _secret_changed_use(runtime, ref[0], ref[1], uses=_uses(kwargs["clusters_by_secret"], *ref), eks=eks,
                              kwargs=kwargs)


@kopf.on.event(KKP_GROUP, KKP_VERSION, "seeds")
async def seed_event(memo: kopf.Memo, **kwargs: Any) -> None:
    """A datacenter's region changed: every Cluster check takes its region from the Seeds."""
    regions = datacenter_regions(kwargs["regions_by_datacenter"])
    if memo.get("regions") == regions:
        return  # Seeds change their status often; only their datacenters matter here
    memo.regions = regions
    runtime = memo.runtime
    for (namespace, name), uses in list(kwargs["clusters_by_secret"].items()):
        if namespace in runtime.settings.namespaces:
            await _secret_changed_use(runtime, namespace, name, uses=list(uses),
                                      eks=bool(kwargs["eks_by_secret"].get((namespace, name))), kwargs=kwargs)


@kopf.on.event(KKP_GROUP, KKP_VERSION, "presets")
async def preset_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime = memo.runtime
    if not runtime.settings.presets:
        return
    meta = body.get("metadata", {})
    aws = (body.get("spec") or {}).get("aws")
    if event.get("type") == "DELETED" or not aws:
        await asyncio.to_thread(apply.remove_preset_check, runtime, meta.get("name", ""))
        return
    await asyncio.to_thread(apply.ensure_preset_check, runtime, meta.get("name", ""),
                            str(meta.get("resourceVersion", "")), aws.get("assumeRoleARN") or None,
                            aws.get("assumeRoleExternalID") or None)
