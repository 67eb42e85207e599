"""Watching KKP's objects without writing to them: event handlers and an index, never diff-bases or finalizers."""

import asyncio
from typing import Any

import kopf

from credcheck import sync
from credcheck.kkp import CLUSTER_GROUP, CLUSTER_VERSION, ClusterUse, cluster_use, is_credential_secret, merge_uses


@kopf.index(CLUSTER_GROUP, CLUSTER_VERSION, "clusters")
def clusters_by_secret(body: kopf.Body, **_: Any) -> dict[tuple[str, str], ClusterUse]:
    use = cluster_use(body)
    return {} if use is None else {(use.secret_namespace, use.secret_name): use}


def _uses(index: kopf.Index[tuple[str, str], ClusterUse], namespace: str, name: str) -> list[ClusterUse]:
    return list(index.get((namespace, name), []))


@kopf.on.event("", "v1", "secrets")
async def secret_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, logger: Any, **kwargs: Any) -> None:
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    runtime = memo.runtime
    if namespace not in runtime.settings.namespaces:
        return
    uses = _uses(kwargs["clusters_by_secret"], namespace, name)
    if not is_credential_secret(namespace, name, referenced=bool(uses)):
        return
    deleted = event.get("type") == "DELETED"
    if deleted and not uses:
        if await asyncio.to_thread(sync.remove_secret_check, runtime, namespace, name):
            logger.info("Secret %s/%s is gone: deleted its check", namespace, name)
        return
    # a deleted Secret that Clusters still use keeps its check, which then reports SecretNotFound
    version = "absent" if deleted else str(meta.get("resourceVersion", ""))
    result = await asyncio.to_thread(sync.ensure_secret_check, runtime, namespace, name, version, merge_uses(uses))
    if result in ("created", "updated"):
        logger.info("check for Secret %s/%s %s", namespace, name, result)


@kopf.on.event(CLUSTER_GROUP, CLUSTER_VERSION, "clusters")
async def cluster_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **kwargs: Any) -> None:
    """A Cluster's assume-role or IAM switch changed: bring its Secret's check in step."""
    use = cluster_use(body)
    runtime = memo.runtime
    if use is None or use.secret_namespace not in runtime.settings.namespaces:
        return
    uses = [u for u in _uses(kwargs["clusters_by_secret"], use.secret_namespace, use.secret_name)
            if not (event.get("type") == "DELETED" and u.cluster == use.cluster)]
    version = await asyncio.to_thread(runtime.kube.secret_version, use.secret_namespace, use.secret_name)
    if version is None and not uses:
        await asyncio.to_thread(sync.remove_secret_check, runtime, use.secret_namespace, use.secret_name)
        return
    # a Cluster pointing at a Secret that does not exist still gets a check: it reports SecretNotFound
    await asyncio.to_thread(sync.ensure_secret_check, runtime, use.secret_namespace, use.secret_name,
                            version or "absent", merge_uses(uses))


@kopf.on.event(CLUSTER_GROUP, CLUSTER_VERSION, "presets")
async def preset_event(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runtime = memo.runtime
    if not runtime.settings.presets:
        return
    meta = body.get("metadata", {})
    aws = (body.get("spec") or {}).get("aws")
    if event.get("type") == "DELETED" or not aws:
        await asyncio.to_thread(sync.remove_preset_check, runtime, meta.get("name", ""))
        return
    await asyncio.to_thread(sync.ensure_preset_check, runtime, meta.get("name", ""),
                            str(meta.get("resourceVersion", "")), aws.get("assumeRoleARN") or None,
                            aws.get("assumeRoleExternalID") or None)
