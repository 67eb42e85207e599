"""Writing what a key's plan calls for (blocking calls), with optimistic concurrency.

Every write names the resourceVersion it was computed from; a Conflict (someone wrote meanwhile, e.g. a status
update) means: read again, decide again, write again. A create that finds the check already there reads it and
updates it instead of counting it as created.
"""

import logging
from collections.abc import Mapping
from typing import Any

from credcheck.controller.discovery.desired import needs_update
from credcheck.controller.discovery.world import Plan
from credcheck.kube.client import ApiError, Conflict
from credcheck.kube.contract import ANNOTATION_CONFLICT, ANNOTATION_NOTE, ANNOTATION_SOURCE_VERSION, LABEL_DISCOVERED
from credcheck.kube.ports import CheckWriter

LOG = logging.getLogger("credcheck.discovery")

ATTEMPTS = 5


def _discovered(check: dict[str, Any]) -> bool:
    return (check.get("metadata", {}).get("labels") or {}).get(LABEL_DISCOVERED) == "true"


def ensure(kube: CheckWriter, desired: dict[str, Any]) -> str:
    """created | updated | unchanged | user-owned (a check an admin made by hand with that name: left alone)."""
    meta = desired["metadata"]
    for _ in range(ATTEMPTS):
        current = kube.get_check(meta["namespace"], meta["name"])
        try:
            if current is None:
                kube.create_check(desired)
                return "created"
            if not _discovered(current):
                return _name_taken(kube, current, desired)
            if not needs_update(current, desired):
                return "unchanged"
            # the whole spec is discovery's: every field it does not write is dropped (suspend, key names, …)
            spec = overwrite(current.get("spec") or {}, desired["spec"])
            annotations = {**meta["annotations"], ANNOTATION_NOTE: meta["annotations"].get(ANNOTATION_NOTE)}
            kube.patch_check(meta["namespace"], meta["name"], {"metadata": {"annotations": annotations},
                                                               "spec": spec},
                             resource_version=str(current["metadata"]["resourceVersion"]))
            return "updated"
        except Conflict:
            continue  # changed (or created) meanwhile: read it again
        except ApiError as err:
            if err.status != 404:
                raise
            continue  # deleted between the read and the patch: a conflict like any other (issue 33): read again
    raise Conflict("PATCH", f"{meta['namespace']}/{meta['name']}", 409)


def overwrite(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that makes `current` exactly `desired` (pure): what current has and desired lacks is set to
    null (the API server then applies the CRD's defaults), mappings in both are made equal the same way, anything
    else is desired's."""
    out: dict[str, Any] = {key: None for key in current if key not in desired}
    for key, value in desired.items():
        before = current.get(key)
        out[key] = (overwrite(before, value) if isinstance(value, Mapping) and isinstance(before, Mapping)
                    else value)
    return out


def _name_taken(kube: CheckWriter, current: dict[str, Any], desired: dict[str, Any]) -> str:
    """A check discovery did not make has the name discovery would give this source's check: it stays the user's,
    untouched but for an annotation that its status shows as a condition, and a log line when that is new."""
    meta = desired["metadata"]
    clusters = meta["annotations"].get("credcheck.io/clusters") or ""
    refs: list[Any] = list((desired["spec"].get("source") or {}).values())
    source = str((refs[0] if refs else {}).get("name", ""))
    why = (f"discovery would make this check for the KKP credential {source}"
           + (f" (used by Cluster(s) {clusters.replace(',', ', ')})" if clusters else "")
           + "; it was not made by discovery, so discovery leaves it alone: keep its spec in step with those "
           "Clusters yourself, or delete it and discovery makes its own")
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if annotations.get(ANNOTATION_CONFLICT) != why:
        kube.patch_check(meta["namespace"], meta["name"], {"metadata": {"annotations": {ANNOTATION_CONFLICT: why}}},
                         resource_version=str(current["metadata"]["resourceVersion"]))
        LOG.warning("discovery: the check %s/%s was not made by discovery but has the name of %s's discovered "
                    "check; left alone (condition DiscoveryConflict)", meta["namespace"], meta["name"], source)
    return "user-owned"


def remove(kube: CheckWriter, namespace: str, name: str, source: tuple[str, str] = ("", "")) -> bool:
    """Delete a discovered check that still reads `source` (kind, name), as it is now: discovery is the only owner
    of discovered checks' deletion, and it deletes only the version it decided on (Conflict: decide again)."""
    for _ in range(ATTEMPTS):
        current = kube.get_check(namespace, name)
        if current is None or not _discovered(current):
            return False
        kind, wanted = source
        if kind and ((current.get("spec") or {}).get("source") or {}).get(kind, {}).get("name") != wanted:
            return False  # another source's check now (a name two sources shared, taken over meanwhile)
        try:
            return kube.delete_check(namespace, name, resource_version=str(current["metadata"]["resourceVersion"]))
        except Conflict:
            continue
    raise Conflict("DELETE", f"{namespace}/{name}", 409)


def touch(kube: CheckWriter, namespace: str, name: str, version: str) -> None:
    """Tell a user-created check its Secret changed (its handler re-checks on the annotation change)."""
    kube.patch_check(namespace, name, {"metadata": {"annotations": {ANNOTATION_SOURCE_VERSION: version}}})


def apply_plan(kube: CheckWriter, plan: Plan) -> list[str]:
    """What was done, for the log: e.g. ["created kubermatic/credential-aws-abc"]."""
    done: list[str] = []
    if plan.ensure is not None:
        meta = plan.ensure["metadata"]
        result = ensure(kube, plan.ensure)
        if result in ("created", "updated"):
            done.append(f"{result} {meta['namespace']}/{meta['name']}")
    for namespace, name in plan.remove:
        if remove(kube, namespace, name, plan.source):
            done.append(f"deleted {namespace}/{name}")
    for namespace, name in plan.touch:
        touch(kube, namespace, name, plan.version)
        done.append(f"re-check {namespace}/{name}")
    return done
