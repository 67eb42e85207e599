"""One AWSCredentialCheck reconciled: read its source, check (shared through the cache), build the status.

Coroutines on the operator's loop: Kubernetes reads run in the loop's default thread pool, AWS checks in a pool
of `concurrency` threads of their own, so slow AWS calls never hold up the Kubernetes side.
"""

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from credcheck.controller import metrics
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings, parse_duration
from credcheck.engine.check import Auditor, CheckOptions, check_failed, finish_check, prepare_check
from credcheck.engine.credential import CredentialProblem, parse_credential
from credcheck.engine.model import AssumeRole, Credential, Status, Verdict
from credcheck.engine.requirements.profiles import BUILTIN, Profile, ProfileError, load_profile, parse_profile_cached
from credcheck.engine.target import Target, target_from_entry
from credcheck.kube.client import ReadFailure
from credcheck.kube.contract import (
    ANNOTATION_CLUSTERS,
    ANNOTATION_PROBLEM,
    LABEL_DISCOVERED,
    MAX_INTERVAL,
    MIN_INTERVAL,
    parse_timestamp,
)
from credcheck.kube.status import MAX_MISSING_LISTED, build_status, next_check_time, retry_delay, transition_event

LOG = logging.getLogger("credcheck.controller.reconcile")


@dataclass(frozen=True)
class Outcome:
    status: dict[str, Any]
    event: tuple[str, str, str] | None = None
    spent: dict[str, int] = field(default_factory=dict)  # AWS requests the verdict cost, per account called


def _misconfigured(reason: str, message: str) -> Verdict:
    return Verdict(Status.MISCONFIGURED, reason, message)


def _profile(runtime: Runtime, namespace: str, name: str) -> tuple[Profile, str] | Verdict:
    """A built-in profile, or configmap:NAME/KEY in the check's namespace; the second value fingerprints it."""
    try:
        if name in BUILTIN:
            return load_profile(name), name
        if name.startswith("configmap:"):
            cm_name, _, key = name.removeprefix("configmap:").partition("/")
            text = runtime.kube.config_map_value(namespace, cm_name, key or "profile.yaml")
            if isinstance(text, ReadFailure):
                return _misconfigured(text.reason, text.message)
            profile = parse_profile_cached(text, f"ConfigMap {namespace}/{cm_name}")
            return profile, hashlib.sha256(text.encode()).hexdigest()[:16]
    except ProfileError as err:
        return _misconfigured("InvalidProfile", str(err))
    return _misconfigured("InvalidProfile", f"unknown profile {name!r}: use {', '.join(BUILTIN)} or "
                          "configmap:NAME/KEY")


def _source(runtime: Runtime, namespace: str, spec: Mapping[str, Any],
            secret_data: Mapping[str, bytes] | None = None) -> tuple[Credential, AssumeRole | None] | Verdict:
    source = spec.get("source") or {}
    role_spec = spec.get("assumeRole") or {}
    role = AssumeRole(role_spec["roleARN"], role_spec.get("externalID")) if role_spec.get("roleARN") else None
    cluster = (role_spec.get("externalIDFrom") or {}).get("cluster")
    if role is not None and cluster:
        external = _cluster_external_id(runtime, namespace, source, role.role_arn, str(cluster))
        if isinstance(external, Verdict):
            return external
        role = AssumeRole(role.role_arn, external)
    if "secretRef" in source:
        ref = source["secretRef"]
        data = secret_data if secret_data is not None else runtime.kube.secret_data(namespace, ref["name"])
        if isinstance(data, ReadFailure):
            return Verdict(Status.INVALID, data.reason, data.message)
        parsed = parse_credential(data, ref.get("accessKeyIdKey", "accessKeyId"),
                                  ref.get("secretAccessKeyKey", "secretAccessKey"))
    elif "presetRef" in source:
        preset = runtime.kube.preset(source["presetRef"]["name"])
        if isinstance(preset, ReadFailure):
            return Verdict(Status.INVALID, preset.reason, preset.message)
        aws = (preset.get("spec") or {}).get("aws") or {}
        if not aws:
            return _misconfigured("PresetHasNoAWS", f"Preset {source['presetRef']['name']} has no spec.aws")
        parsed = parse_credential({k: str(v).encode() for k, v in aws.items() if isinstance(v, str)},
                                  "accessKeyID", "secretAccessKey", where="Preset")
        if role is None and aws.get("assumeRoleARN"):
            role = AssumeRole(aws["assumeRoleARN"], aws.get("assumeRoleExternalID") or None)
    else:
        return _misconfigured("InvalidSource", "spec.source needs secretRef or presetRef")
    if isinstance(parsed, CredentialProblem):
        return Verdict(Status.INVALID, parsed.reason, parsed.message)
    return parsed, role


def _cluster_external_id(runtime: Runtime, namespace: str, source: Mapping[str, Any], role_arn: str,
                         cluster: str) -> str | Verdict | None:
    """The external ID a Cluster sends with its assume-role, read now (no check or annotation stores it): only for
    that Cluster's own credential Secret and role, so a check can never pair it with other keys or another role."""
    found = runtime.kube.cluster(cluster)
    if isinstance(found, ReadFailure):
        return _misconfigured("ExternalIDUnavailable", found.message)
    aws = ((found.get("spec") or {}).get("cloud") or {}).get("aws") or {}
    ref = aws.get("credentialsReference") or {}
    secret = (source.get("secretRef") or {}).get("name")
    if (ref.get("namespace"), ref.get("name")) != (namespace, secret) or aws.get("assumeRoleARN") != role_arn:
        return _misconfigured("ExternalIDUnavailable",
                              f"Cluster {cluster} does not assume {role_arn} with Secret {namespace}/{secret}: its "
                              "external ID is used only with its own credential and role (discovery updates the "
                              "check when the Cluster changes)")
    return str(aws["assumeRoleExternalID"]) if aws.get("assumeRoleExternalID") else None


def _interval(spec: Mapping[str, Any], settings: Settings) -> float | Verdict:
    try:
        seconds = parse_duration(str(spec.get("interval") or settings.interval))
    except ValueError as err:
        return _misconfigured("InvalidInterval", str(err))
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        return _misconfigured("InvalidInterval",
                              f"spec.interval must be between 5m and 168h, not {spec.get('interval')}")
    return seconds


@dataclass(frozen=True)
class CheckRequest:
    """A check's spec resolved into what AWS is asked, and the cache key that shares the answer."""

    key: str
    credential: Credential
    options: CheckOptions


def _targets(spec: Mapping[str, Any], region: str | None) -> tuple[Target, ...]:
    """The Clusters a check asks about (spec.clusters, written by discovery); an explicit spec.region wins."""
    entries = [c for c in spec.get("clusters") or [] if isinstance(c, Mapping)]
    return tuple(target_from_entry(entry, region) for entry in entries)


def prepare(runtime: Runtime, namespace: str, spec: Mapping[str, Any],
            secret_data: Mapping[str, bytes] | None = None) -> CheckRequest | Verdict:
    """Reads the profile and the credential (blocking); a Verdict when the spec or the source is unusable."""
    requirements = spec.get("requirements") or {}
    settings = runtime.settings
    profile = _profile(runtime, namespace, str(requirements.get("profile") or settings.profile))
    if isinstance(profile, Verdict):
        return profile
    upgrade_name = requirements.get("upgradeProfile") or settings.upgrade_profile
    upgrade = _profile(runtime, namespace, str(upgrade_name)) if upgrade_name else None
    if isinstance(upgrade, Verdict):
        return upgrade
    source = _source(runtime, namespace, spec, secret_data)
    if isinstance(source, Verdict):
        return source
    credential, role = source
    skip = tuple(sorted(requirements.get("skipFeatures") or []))
    explicit = str(spec["region"]) if spec.get("region") else None
    region = explicit or settings.region
    targets = _targets(spec, explicit)
    include = bool(requirements.get("includeRecommended", settings.include_recommended))
    key = credential.fingerprint(role.role_arn if role else "", (role.external_id or "") if role else "",
                                 profile[1], ",".join(skip), region, repr(targets), upgrade[1] if upgrade else "",
                                 str(include))
    auditor = (Auditor(settings.auditor_profile, settings.auditor_role_arn)
               if settings.auditor_profile or settings.auditor_role_arn else None)
    return CheckRequest(key, credential, CheckOptions(
        profile[0], region=region, assume_role=role, skip_features=skip, auditor=auditor, limiter=runtime.limiter,
        targets=targets, target_profile=upgrade[0] if upgrade else None, include_recommended=include,
        observer=runtime.observer))


async def evaluate(runtime: Runtime, namespace: str, spec: Mapping[str, Any],
                   secret_data: Mapping[str, bytes] | None = None, *, pool: Executor | None = None,
                   share: bool = True) -> tuple[Verdict, str | None]:
    """The verdict for a check's spec, and the masked key id (None when no credential was read).

    `secret_data` stands in for the Secret's stored data (admission sees a write before it is stored); `pool` runs
    the AWS halves instead of the operator's check pool, and without `share` the verdict neither comes from nor
    goes into the cache (admission's live checks of keys not stored yet).
    """
    request = await asyncio.to_thread(prepare, runtime, namespace, spec, secret_data)
    if isinstance(request, Verdict):
        return request, None
    checks = pool or runtime.checks
    computed = False

    async def compute() -> Verdict:
        """Both halves in the AWS pool; waiting for the account's call budget happens here, holding no thread."""
        nonlocal computed
        computed = True
        async with runtime.in_flight() if pool is None else contextlib.nullcontext():  # bounded memory
            loop, started = asyncio.get_running_loop(), time.monotonic()
            prepared = await loop.run_in_executor(checks, prepare_check, request.credential, request.options)
            if isinstance(prepared, Verdict):
                return prepared.compact(MAX_MISSING_LISTED)
            limiter = request.options.limiter
            while limiter is not None and (wait := prepared.reserve(limiter)) > 0:
                await asyncio.sleep(wait)
            verdict = await loop.run_in_executor(checks, finish_check, prepared)
            metrics.CHECK_DURATION.observe(time.monotonic() - started)
            return verdict.compact(MAX_MISSING_LISTED)

    if not share:
        return await compute(), request.credential.masked_key_id
    verdict = await runtime.cache.get_or_compute(request.key, compute)
    metrics.CACHE.labels("miss" if computed else "hit").inc()
    return verdict, request.credential.masked_key_id


async def reconcile(runtime: Runtime, body: Mapping[str, Any]) -> Outcome:
    meta = body.get("metadata") or {}
    namespace, spec = str(meta.get("namespace")), body.get("spec") or {}
    previous: dict[str, Any] = dict(body.get("status") or {})
    previous.pop("kopf", None)
    now = runtime.now()
    interval = _interval(spec, runtime.settings)
    problem = (meta.get("annotations") or {}).get(ANNOTATION_PROBLEM)
    if problem:
        verdict, masked = Verdict(Status.INVALID, "InvalidAssumeRoleARN", problem), None
        interval = interval if not isinstance(interval, Verdict) else runtime.settings.interval_seconds
    elif isinstance(interval, Verdict):
        verdict, masked, interval = interval, None, runtime.settings.interval_seconds
    else:
        try:
            verdict, masked = await evaluate(runtime, namespace, spec)
        except Exception as err:  # an engine bug or an unexpected answer: visible, retried, never silent
            LOG.exception("check %s/%s failed", namespace, meta.get("name"))
            verdict, masked = check_failed(err), None
    discovered = (meta.get("labels") or {}).get(LABEL_DISCOVERED) == "true"
    clusters = [c for c in ((meta.get("annotations") or {}).get(ANNOTATION_CLUSTERS) or "").split(",") if c]
    orphaned = discovered and verdict.reason in ("SecretNotFound", "PresetNotFound") and not clusters
    if discovered and verdict.reason in ("SecretNotFound", "PresetNotFound"):
        # discovery alone deletes discovered checks, from what the API server lists: a check's own read of a source
        # it cannot find (a stale cache, a watch that missed the Secret's return) never deletes anything
        verdict = replace(verdict, message=f"{verdict.message} (used by Cluster(s) {', '.join(clusters)}, "
                                           "which cannot be reconciled without it)" if clusters else
                          f"{verdict.message} (nothing uses it any more: discovery removes this check)")
    failures = int(previous.get("consecutiveFailures", 0)) + 1
    delay = (retry_delay(failures, interval, runtime.settings.retry_base_seconds)
             if verdict.status is Status.UNKNOWN else interval)
    requirements = spec.get("requirements") or {}
    status = build_status(verdict, previous, now=now, next_check=next_check_time(now, delay, runtime.jitter()),
                          generation=meta.get("generation"), masked_key_id=masked,
                          clusters=clusters or [str(c.get("name")) for c in spec.get("clusters") or []],
                          profile=str(requirements.get("profile") or runtime.settings.profile),
                          upgrade_profile=requirements.get("upgradeProfile") or runtime.settings.upgrade_profile)
    return Outcome(status, None if orphaned else transition_event(previous, status), dict(verdict.spent))


def is_due(status: Mapping[str, Any], now: datetime) -> bool:
    """A periodic re-check is due once nextCheckTime has passed (or was never set)."""
    when = status.get("nextCheckTime")
    if not when:
        return True
    try:
        due = parse_timestamp(str(when))
    except ValueError:
        return True
    return now >= due - timedelta(seconds=1)
