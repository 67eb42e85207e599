"""One AWSCredentialCheck reconciled: its spec to a verdict (shared through the cache), the verdict to a status.

Nothing else: discovery alone creates and deletes discovered checks, the handlers parse the object (kube.spec) and
write what this returns. Coroutines on the operator's loop: Kubernetes reads run in the loop's default thread pool,
AWS checks in a pool of `concurrency` threads of their own, so slow AWS calls never hold up the Kubernetes side.
"""

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from credcheck.controller import metrics
from credcheck.controller.cluster_resources_service import resource_findings_for
from credcheck.controller.rotation_service import ClusterEvent, apply, apply_deletion, follow
from credcheck.controller.rotation_service import forget as forget_rotation
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.engine.check import Auditor, CheckOptions, check_failed, finish_check, prepare_check
from credcheck.engine.credential import CredentialProblem, parse_credential
from credcheck.engine.keys import KeyPolicy
from credcheck.engine.model import AssumeRole, Credential, Status, Verdict
from credcheck.engine.requirements.bounded_yaml import redacted
from credcheck.engine.requirements.coverage import findings_for
from credcheck.engine.requirements.profiles import BUILTIN, Profile, ProfileError, load_profile, parse_profile_cached
from credcheck.engine.requirements.untrusted import role_problems
from credcheck.kube.client import ReadFailure
from credcheck.kube.contract import EXTERNAL_ID
from credcheck.kube.hygiene import with_hygiene
from credcheck.kube.spec import CheckObject, CheckSpec, SecretSource, SpecProblem
from credcheck.kube.status import (
    MAX_MISSING_LISTED,
    StatusCondition,
    build_status,
    consecutive_failures,
    merge_conditions,
    next_check_time,
    retry_delay,
    transition_event,
)

LOG = logging.getLogger("credcheck.controller.reconcile")
SOURCE_GONE = ("SecretNotFound", "PresetNotFound")


@dataclass(frozen=True)
class Reconciled:
    """What the handler writes: the status, an Event on a transition, and the AWS requests the verdict cost."""

    status: dict[str, Any]
    event: tuple[str, str, str] | None = None
    spent: dict[str, int] = field(default_factory=dict)  # AWS requests the verdict cost, per account called
    rotation_events: tuple[tuple[str, str, str], ...] = ()  # on the check: a Cluster turned Stale or Invalid
    cluster_events: tuple[ClusterEvent, ...] = ()  # the same, on the KKP Cluster


@dataclass(frozen=True)
class Effective:
    """A check's spec with the operator's defaults filled in: resolved once, read by the check and its status."""

    spec: CheckSpec
    profile: str
    upgrade_profile: str | None
    include_recommended: bool
    interval: float
    region: str
    explicit_region: str | None  # spec.region: it overrides every Cluster's own region
    vouched: bool = False  # a discovered check: its Clusters' roles are KKP's, the auditor may simulate them (#33)


def effective(spec: CheckSpec, settings: Settings) -> Effective:
    req = spec.requirements
    return Effective(
        spec, req.profile or settings.profile, req.upgrade_profile or settings.upgrade_profile,
        settings.include_recommended if req.include_recommended is None else req.include_recommended,
        spec.interval_seconds or settings.interval_seconds, spec.region or settings.region, spec.region)


def _misconfigured(reason: str, message: str) -> Verdict:
    return Verdict(Status.MISCONFIGURED, reason, message)


def problem_verdict(problem: SpecProblem) -> Verdict:
    """A spec that cannot work: an unusable role ARN (a Cluster's, or the spec's) makes the credential unusable as
    given; every other problem is the check's own configuration."""
    if problem.reason == "InvalidAssumeRoleARN":
        return Verdict(Status.INVALID, problem.reason, problem.message)
    return _misconfigured(problem.reason, problem.message)


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
            try:
                profile = parse_profile_cached(text, f"ConfigMap {namespace}/{cm_name}")
            except ProfileError as err:  # the status never quotes the ConfigMap's text (issue 33)
                return _misconfigured("InvalidProfile", redacted(str(err)))
            refused = role_problems(profile)
            if refused:
                return _misconfigured("InvalidProfile", f"ConfigMap {namespace}/{cm_name}: " + "; ".join(refused))
            return profile, hashlib.sha256(text.encode()).hexdigest()[:16]
    except ProfileError as err:
        return _misconfigured("InvalidProfile", str(err))
    return _misconfigured("InvalidProfile", f"unknown profile {name!r}: use {', '.join(BUILTIN)} or "
                          "configmap:NAME/KEY")


def _source(runtime: Runtime, namespace: str, spec: CheckSpec,
            secret_data: Mapping[str, bytes] | None = None) -> tuple[Credential, AssumeRole | None] | Verdict:
    wanted = spec.assume_role
    role = AssumeRole(wanted.role_arn, wanted.external_id) if wanted else None
    if wanted is not None and wanted.external_id_from_cluster:
        external = _cluster_external_id(runtime, namespace, spec, wanted.role_arn, wanted.external_id_from_cluster)
        if isinstance(external, Verdict):
            return external
        role = AssumeRole(wanted.role_arn, external)
    source = spec.source
    if isinstance(source, SecretSource):
        data = secret_data if secret_data is not None else runtime.kube.secret_data(namespace, source.name)
        if isinstance(data, ReadFailure):
            return Verdict(Status.INVALID, data.reason, data.message)
        parsed = parse_credential(data, source.access_key_id_key, source.secret_access_key_key)
    else:
        preset = runtime.kube.preset(source.name)
        if isinstance(preset, ReadFailure):
            return Verdict(Status.INVALID, preset.reason, preset.message)
        aws = (preset.get("spec") or {}).get("aws") or {}
        if not aws:
            return _misconfigured("PresetHasNoAWS", f"Preset {source.name} has no spec.aws")
        parsed = parse_credential({k: str(v).encode() for k, v in aws.items() if isinstance(v, str)},
                                  "accessKeyID", "secretAccessKey", where="Preset")
        if role is None and aws.get("assumeRoleARN"):
            external = aws.get("assumeRoleExternalID") or None
            if external is not None and not EXTERNAL_ID.fullmatch(str(external)):  # never sent, never quoted (#33)
                return _misconfigured("InvalidExternalID", f"Preset {source.name}: spec.aws.assumeRoleExternalID "
                                      "is not an external ID AWS accepts (2-1224 characters of letters, digits and "
                                      "_+=,.@:/-): fix the Preset")
            role = AssumeRole(aws["assumeRoleARN"], external)
    if isinstance(parsed, CredentialProblem):
        return Verdict(Status.INVALID, parsed.reason, parsed.message)
    return parsed, role


def _cluster_external_id(runtime: Runtime, namespace: str, spec: CheckSpec, role_arn: str,
                         cluster: str) -> str | Verdict | None:
    """The external ID a Cluster sends with its assume-role, read now (no check or annotation stores it): only for
    that Cluster's own credential Secret and role, so a check can never pair it with other keys or another role."""
    found = runtime.kube.cluster(cluster)
    if isinstance(found, ReadFailure):
        return _misconfigured("ExternalIDUnavailable", found.message)
    aws = ((found.get("spec") or {}).get("cloud") or {}).get("aws") or {}
    ref = aws.get("credentialsReference") or {}
    secret = spec.source.name if isinstance(spec.source, SecretSource) else None
    if (ref.get("namespace"), ref.get("name")) != (namespace, secret) or aws.get("assumeRoleARN") != role_arn:
        return _misconfigured("ExternalIDUnavailable",
                              f"Cluster {cluster} does not assume {role_arn} with Secret {namespace}/{secret}: its "
                              "external ID is used only with its own credential and role (discovery updates the "
                              "check when the Cluster changes)")
    external = str(aws["assumeRoleExternalID"]) if aws.get("assumeRoleExternalID") else None
    if external is not None and not EXTERNAL_ID.fullmatch(external):  # never sent, never quoted (issue 33)
        return _misconfigured("InvalidExternalID", f"Cluster {cluster}: spec.cloud.aws.assumeRoleExternalID is not "
                              "an external ID AWS accepts (2-1224 characters of letters, digits and _+=,.@:/-): "
                              "fix the Cluster")
    return external


@dataclass(frozen=True)
class CheckRequest:
    """A check's spec resolved into what AWS is asked, and the cache key that shares the answer."""

    key: str
    credential: Credential
    options: CheckOptions


def prepare(runtime: Runtime, namespace: str, want: Effective,
            secret_data: Mapping[str, bytes] | None = None) -> CheckRequest | Verdict:
    """Reads the profile and the credential (blocking); a Verdict when the spec or the source is unusable."""
    settings = runtime.settings
    profile = _profile(runtime, namespace, want.profile)
    if isinstance(profile, Verdict):
        return profile
    upgrade = _profile(runtime, namespace, want.upgrade_profile) if want.upgrade_profile else None
    if isinstance(upgrade, Verdict):
        return upgrade
    source = _source(runtime, namespace, want.spec, secret_data)
    if isinstance(source, Verdict):
        return source
    credential, role = source
    skip = want.spec.requirements.skip_features
    region = want.region
    targets = tuple(entry.to_target(want.explicit_region) for entry in want.spec.clusters)
    include = want.include_recommended
    key = credential.fingerprint(role.role_arn if role else "", (role.external_id or "") if role else "",
                                 profile[1], ",".join(skip), region, repr(targets), upgrade[1] if upgrade else "",
                                 str(include), "vouched" if want.vouched else "", ",".join(settings.seed_egress_cidrs))
    auditor = (Auditor(settings.auditor_profile, settings.auditor_role_arn)
               if settings.auditor_profile or settings.auditor_role_arn else None)
    return CheckRequest(key, credential, CheckOptions(
        profile[0], region=region, assume_role=role, skip_features=skip, auditor=auditor, limiter=runtime.limiter,
        targets=targets, target_profile=upgrade[0] if upgrade else None, include_recommended=include,
        observer=runtime.observer, aws=runtime.aws, auditor_cache=runtime.auditor_cache, audit_roles=want.vouched,
        excess_permissions=settings.excess_permissions, key_facts=runtime.key_facts if settings.key_hygiene else None,
        seed_egress=settings.seed_egress_cidrs))


async def verdict_for(runtime: Runtime, namespace: str, spec: CheckSpec,
                      secret_data: Mapping[str, bytes] | None = None, *, pool: Executor | None = None,
                      share: bool = True, vouched: bool = False, fresh: bool = False) -> tuple[Verdict, str | None]:
    """The verdict for a check's spec, and the masked key id (None when no credential was read).

    `secret_data` stands in for the Secret's stored data (admission sees a write before it is stored); `pool` runs
    the AWS halves instead of the operator's check pool, and without `share` the verdict neither comes from nor
    goes into the cache (admission's live checks of keys not stored yet). `vouched`: a discovered check's Clusters
    (the auditor may simulate their control-plane roles). `fresh`: asked past the verdict cache (a re-check an
    admin asked for); the new verdict replaces the cached one.
    """
    want = replace(effective(spec, runtime.settings), vouched=vouched)
    request = await asyncio.to_thread(prepare, runtime, namespace, want, secret_data)
    if isinstance(request, Verdict):
        return request, None
    if not share:  # admission's live check answers within its budget: no key facts, no excess questions
        request = replace(request, options=replace(request.options, excess_permissions=False, key_facts=None))
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
    verdict = await runtime.cache.get_or_compute(request.key, compute, fresh=fresh)
    metrics.CACHE.labels("miss" if computed else "hit").inc()
    return verdict, request.credential.masked_key_id


def _source_gone(verdict: Verdict, check: CheckObject) -> Verdict:
    """A discovered check whose source is gone says who needs it; discovery, not this check, deletes it (a check's
    own read of a source it cannot find, from a stale cache or a missed watch event, never deletes anything)."""
    if check.used_by:
        return replace(verdict, message=f"{verdict.message} (used by Cluster(s) {', '.join(check.used_by)}, "
                                        "which cannot be reconciled without it)")
    return replace(verdict, message=f"{verdict.message} (nothing uses it any more: discovery removes this check)")


async def reconcile(runtime: Runtime, check: CheckObject, stored_status: Mapping[str, Any], *,
                    fresh: bool = False) -> Reconciled:
    """The check's new status (and Event) from its spec: the verdict, kept or computed (`fresh`: computed, past
    the verdict cache); never a write."""
    previous: dict[str, Any] = dict(stored_status)
    previous.pop("kopf", None)
    settings, now = runtime.settings, runtime.now()
    want = effective(check.spec, settings) if check.spec is not None else None
    if check.problems or want is None:
        verdict: Verdict = problem_verdict(check.problems[0])
        masked: str | None = None
    else:
        try:
            verdict, masked = await verdict_for(runtime, check.namespace, want.spec, vouched=check.discovered,
                                                fresh=fresh)
        except Exception as err:  # an engine bug or an unexpected answer: visible, retried, never silent
            LOG.exception("check %s/%s failed", check.namespace, check.name)
            verdict, masked = check_failed(err), None
    if check.kkp_versions and want is not None and not check.problems:  # a KKP version no profile covers: say so
        verdict = replace(verdict, findings=verdict.findings + findings_for(
            want.profile, verdict.profile_version, {f"Cluster {c}": v for c, v in check.kkp_versions}))
    gone = check.discovered and verdict.reason in SOURCE_GONE
    if gone:
        verdict = _source_gone(verdict, check)
    interval = want.interval if want is not None else settings.interval_seconds
    failures = consecutive_failures(previous, verdict)
    delay = (retry_delay(failures, interval, settings.retry_base_seconds) if verdict.status is Status.UNKNOWN
             else interval)
    named = [str(c.name) for c in check.spec.clusters] if check.spec is not None else []
    status = build_status(verdict, previous, now=now, next_check=next_check_time(now, delay, runtime.jitter()),
                          generation=check.generation, masked_key_id=masked, failures=failures,
                          clusters=list(check.used_by) or named,
                          profile=want.profile if want is not None else settings.profile,
                          upgrade_profile=want.upgrade_profile if want is not None else settings.upgrade_profile)
    if check.conflict:  # a check of the name discovery would give a KKP credential's check (issue 33)
        kept = [c for c in status["conditions"] if c["type"] != "DiscoveryConflict"]
        status["conditions"] = kept + merge_conditions(
            [StatusCondition("DiscoveryConflict", "True", "NameTaken", check.conflict)],
            previous.get("conditions") or [], now, check.generation)
    status = with_hygiene(status, verdict, previous, now=now, used_by_clusters=bool(check.used_by or named),
                          policy=KeyPolicy(timedelta(days=settings.key_max_age_days),
                                           timedelta(days=settings.key_unused_days)))
    # only a discovered check's Clusters are KKP's own for this credential: a check written by hand may name any
    # Cluster, and must not read its copy, post on it or raise its alert (issue 33's rule, as the auditor's)
    followed = (None if check.problems or gone or not check.discovered
                else await follow(runtime, check, previous, now))
    if followed is None:
        forget_rotation(check.namespace, check.name)  # no series left at 1 once a check is no longer followed
    apply(status, followed, previous, now, generation=check.generation,
          recheck_seconds=settings.rotation_recheck_seconds, grace_seconds=settings.rotation_grace_seconds)
    looked_up = {} if gone else await resource_findings_for(runtime, check)
    apply_deletion(status, want.profile if want is not None else settings.profile, check, looked_up)
    orphaned = gone and not check.used_by  # about to be deleted by discovery: no Event for it
    return Reconciled(status, None if orphaned else transition_event(previous, status), dict(verdict.spent),
                      followed.check_events if followed else (), followed.cluster_events if followed else ())
