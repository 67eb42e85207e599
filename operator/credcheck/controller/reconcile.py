"""One AWSCredentialCheck reconciled: its spec to a verdict (shared through the cache), the verdict to a status.

Nothing else: discovery alone creates and deletes discovered checks, the handlers parse the object (kube.spec) and
write what this returns. Coroutines on the operator's loop: Kubernetes reads run in the loop's default thread pool,
AWS checks in a pool of `concurrency` threads of their own (check_run.py), so slow AWS calls never hold up the
Kubernetes side. The operator's defaults are filled in by effective.py, the verdict cache's key is cache_key.py's.
"""

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from credcheck.controller import metrics
from credcheck.controller.cache_key import cache_key
from credcheck.controller.check_run import run_check_in
from credcheck.controller.cluster_resources_service import resource_findings_for
from credcheck.controller.effective import Effective, effective
from credcheck.controller.rotation_service import apply, apply_deletion, follow
from credcheck.controller.rotation_service import forget as forget_rotation
from credcheck.controller.runtime import Runtime
from credcheck.engine.check import CheckOptions, check_failed, check_options
from credcheck.engine.keys import KeyPolicy
from credcheck.engine.model import Credential, Status, Verdict
from credcheck.engine.requirements.bounded_yaml import redacted
from credcheck.engine.requirements.coverage import findings_for
from credcheck.engine.requirements.profiles import BUILTIN, Profile, ProfileError, load_profile, parse_profile_cached
from credcheck.engine.requirements.untrusted import role_problems
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.client import ReadFailure
from credcheck.kube.cluster_events import ClusterEvent
from credcheck.kube.hygiene import with_hygiene
from credcheck.kube.sources import read_source
from credcheck.kube.spec import CheckObject, CheckSpec, SpecProblem
from credcheck.kube.status import (
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

    status: CheckStatus
    event: tuple[str, str, str] | None = None
    spent: dict[str, int] = field(default_factory=dict)  # AWS requests the verdict cost, per account called
    rotation_events: tuple[tuple[str, str, str], ...] = ()  # on the check: a Cluster turned Stale or Invalid
    cluster_events: tuple[ClusterEvent, ...] = ()  # the same, on the KKP Cluster


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
    source = read_source(runtime.kube, namespace, want.spec, secret_data)
    if isinstance(source, Verdict):
        return source
    credential, role = source
    targets = tuple(replace(c, region=want.explicit_region or c.region) for c in want.spec.clusters)  # spec.region wins
    options = check_options(
        profile[0], region=want.region, assume_role=role, skip_features=want.spec.requirements.skip_features,
        targets=targets, target_profile=upgrade[0] if upgrade else None,
        include_recommended=want.include_recommended, denial_reader=runtime.denial_reader, aws=runtime.aws,
        auditor_cache=runtime.auditor_cache, auditor_profile=settings.auditor_profile,
        auditor_role_arn=settings.auditor_role_arn, seed_egress=settings.seed_egress_cidrs, limiter=runtime.limiter,
        audit_roles=want.vouched, excess_permissions=settings.excess_permissions,
        key_facts=runtime.key_facts if settings.key_hygiene else None)
    return CheckRequest(cache_key(credential, options, profile[1], upgrade[1] if upgrade else None), credential,
                        options)


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
            return await run_check_in(checks, request.credential, request.options)

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
    previous = CheckStatus.from_dict(stored_status)
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
    named = [str(c.cluster) for c in check.spec.clusters] if check.spec is not None else []
    status = build_status(verdict, previous, now=now, next_check=next_check_time(now, delay, runtime.jitter()),
                          generation=check.generation, masked_key_id=masked, failures=failures,
                          clusters=list(check.used_by) or named,
                          profile=want.profile if want is not None else settings.profile,
                          upgrade_profile=want.upgrade_profile if want is not None else settings.upgrade_profile)
    if check.conflict:  # a check of the name discovery would give a KKP credential's check (issue 33)
        status = status.with_conditions(merge_conditions(
            [StatusCondition("DiscoveryConflict", "True", "NameTaken", check.conflict)], previous.conditions, now,
            check.generation))
    status = with_hygiene(status, verdict, previous, now=now, used_by_clusters=bool(check.used_by or named),
                          policy=KeyPolicy(timedelta(days=settings.key_max_age_days),
                                           timedelta(days=settings.key_unused_days)))
    # only a discovered check's Clusters are KKP's own for this credential: a check written by hand may name any
    # Cluster, and must not read its copy, post on it or raise its alert (issue 33's rule, as the auditor's)
    followed = (None if check.problems or gone or not check.discovered
                else await follow(runtime, check, previous, now))
    if followed is None:
        forget_rotation(check.namespace, check.name)  # no series left at 1 once a check is no longer followed
    status = apply(status, followed, previous, now, generation=check.generation,
                   recheck_seconds=settings.rotation_recheck_seconds,
                   grace_seconds=settings.rotation_grace_seconds)
    looked_up = {} if gone else await resource_findings_for(runtime, check)
    status = apply_deletion(status, want.profile if want is not None else settings.profile, check, looked_up)
    orphaned = gone and not check.used_by  # about to be deleted by discovery: no Event for it
    return Reconciled(status, None if orphaned else transition_event(previous, status), dict(verdict.spent),
                      followed.check_events if followed else (), followed.cluster_events if followed else ())
