"""Admission: reject impossible AWSCredentialCheck specs; warn about (or deny) malformed KKP credentials.

The webhook configuration uses failurePolicy Ignore and a 5 s timeout: with credcheck down, KKP keeps working.
"""

import asyncio
import base64
from typing import Any

import kopf

from credcheck.admission_rules import check_spec_problems, preset_problems, secret_problems
from credcheck.contract import GROUP, KKP_GROUP, KKP_VERSION, PLURAL, VERSION
from credcheck.discovery.kkp import is_credential_secret, merge_uses
from credcheck.discovery.world import datacenter_regions
from credcheck.model import Status
from credcheck.reconcile import evaluate
from credcheck.runtime import Runtime
from credcheck.settings import parse_duration

OPERATIONS: list[kopf.Operation] = ["CREATE", "UPDATE"]


def _respond(runtime: Runtime, problems: list[str], warnings: list[str], what: str) -> None:
    if not problems:
        return
    if runtime.settings.webhook_mode == "enforce":
        raise kopf.AdmissionError(f"{what}: " + "; ".join(problems), code=422)
    warnings.extend(f"credcheck: {what}: {p}" for p in problems)


async def _live(runtime: Runtime, namespace: str, spec: dict[str, Any], data: dict[str, bytes], *,
                warnings: list[str], what: str) -> None:
    """Within the budget, the real permission check (shared with the operator's cache); past it, allow."""
    budget = parse_duration(runtime.settings.webhook_live_budget)
    task = asyncio.ensure_future(evaluate(runtime, namespace, spec, data))
    try:
        verdict, _ = await asyncio.wait_for(asyncio.shield(task), timeout=budget)
    except TimeoutError:
        return  # the check finishes into the cache; the operator reports the verdict
    if verdict.status in (Status.INSUFFICIENT, Status.INVALID):
        # the verdict's message names the KKP features that would break and what each lacks
        warnings.append(f"credcheck: {what}: {verdict.message}")


def validate_check(spec: kopf.Spec, **_: Any) -> None:
    problems = check_spec_problems(dict(spec))
    if problems:
        raise kopf.AdmissionError("; ".join(problems), code=422)


async def validate_secret(body: kopf.Body, warnings: list[str], memo: kopf.Memo, **kwargs: Any) -> None:
    runtime: Runtime = memo.runtime
    meta = body.get("metadata", {})
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    if runtime.settings.webhook_mode == "off" or namespace not in runtime.settings.namespaces:
        return
    uses = list(kwargs["clusters_by_secret"].get((namespace, name), []))
    if not is_credential_secret(namespace, name, referenced=bool(uses)):
        return
    data = {k: base64.b64decode(v) for k, v in (body.get("data") or {}).items()}
    data.update({k: str(v).encode() for k, v in (body.get("stringData") or {}).items()})
    what = f"Secret {namespace}/{name}"
    problems = secret_problems(data)
    _respond(runtime, problems, warnings, what)
    if runtime.settings.webhook_live and not problems:
        merged = merge_uses(uses, datacenter_regions(kwargs["regions_by_datacenter"]))
        spec: dict[str, Any] = {"source": {"secretRef": {"name": name}}, "clusters": list(merged.clusters)}
        if merged.assume_role_arn:
            spec["assumeRole"] = {"roleARN": merged.assume_role_arn, "externalID": merged.external_id}
        await _live(runtime, namespace, spec, data, warnings=warnings, what=what)


def validate_preset(body: kopf.Body, warnings: list[str], memo: kopf.Memo, **_: Any) -> None:
    runtime: Runtime = memo.runtime
    aws = (body.get("spec") or {}).get("aws")
    if runtime.settings.webhook_mode == "off" or not runtime.settings.presets or not aws:
        return
    _respond(runtime, preset_problems(aws), warnings, f"Preset {body.get('metadata', {}).get('name')}")


def register() -> None:
    """Attach the admission handlers; only when a webhook server is configured (kopf refuses to run otherwise)."""
    common: dict[str, Any] = {"operations": OPERATIONS, "side_effects": False, "ignore_failures": True}
    kopf.on.validate(GROUP, VERSION, PLURAL, id="validate-check", **common)(validate_check)
    kopf.on.validate("", "v1", "secrets", id="validate-secret", **common)(validate_secret)
    kopf.on.validate(KKP_GROUP, KKP_VERSION, "presets", id="validate-preset", **common)(validate_preset)
