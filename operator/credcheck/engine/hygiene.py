"""Key facts and excess access joined to a check (the engine/check.py hook): the extra questions planned into the
check's own simulation, the extra IAM reads budgeted, and the answers attached to the Verdict. Never changes the
verdict's status, reason or message."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from credcheck.engine import excess
from credcheck.engine.aws.accesskeys import CALLS_PER_READ, AccessKeyFacts
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.batches import RequestKey
from credcheck.engine.model import Principal, Requirement, SimulationResult, Verdict
from credcheck.engine.verdict import grant_policy


def questions(enabled: bool, principal: Principal) -> list[Requirement]:
    """The excess questions to plan with the check's requirements (none when turned off)."""
    return excess.requirements(principal) if enabled else []


def key_calls(reader: AccessKeyFacts | None, access_key_id: str | None) -> int:
    """IAM calls the key facts will cost this check: none when cached or not read."""
    if reader is None or access_key_id is None or reader.cached(access_key_id) is not None:
        return 0
    return CALLS_PER_READ


def attach(verdict: Verdict, *, asked: Sequence[Requirement], simulated: Mapping[RequestKey, SimulationResult],
           requirements: Sequence[Requirement], reader: AccessKeyFacts | None, keys: AWSSession,
           keys_principal: Principal, auditor: Callable[[], tuple[AWSSession, str]] | None) -> Verdict:
    if asked:
        found = excess.found(asked, simulated)
        if found.found:  # the replacement only where something is in excess (a policy per Clusters' requirements)
            found = replace(found, replacement=grant_policy(requirements))
        note = excess.finding(found)
        verdict = replace(verdict, excess=found, findings=verdict.findings + ((note,) if note else ()))
    credential = keys.credential
    if reader is not None and credential is not None:
        verdict = replace(verdict, key_facts=reader.facts(keys, keys_principal, credential.access_key_id, auditor))
    return verdict
