"""iam:SimulatePrincipalPolicy, one call per batch, following IsTruncated/Marker pages; a check's batches at once."""

import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

from credcheck.engine.aws.ports import Clients
from credcheck.engine.aws.session import carry_deadline
from credcheck.engine.batches import RequestKey, SimulationBatch
from credcheck.engine.model import SimulationResult

MAX_ITEMS = 1000
T = TypeVar("T")
MULTI_VALUED = frozenset({"aws:tagkeys"})  # condition keys whose value is a list in a real request
_NONE: Mapping[str, Any] = {}  # an absent detail


def _matched(statements: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    if not statements:  # most results of a check (a generator for nothing was a tenth of this module's CPU)
        return ()
    return tuple(sys.intern(f"{s.get('SourcePolicyId', '?')} ({s.get('SourcePolicyType', 'policy')})")
                 for s in statements)


def _results(raw: Mapping[str, Any]) -> list[SimulationResult]:
    """One result per resource: AWS puts per-resource decisions in ResourceSpecificResults when it has them."""
    boundary = raw.get("PermissionsBoundaryDecisionDetail", _NONE).get("AllowedByPermissionsBoundary")
    orgs = raw.get("OrganizationsDecisionDetail", _NONE).get("AllowedByOrganizations")
    action = raw["EvalActionName"]
    out = [SimulationResult(action=action, resource=raw.get("EvalResourceName", "*"), decision=raw["EvalDecision"],
                            matched_statements=_matched(raw.get("MatchedStatements", ())),
                            missing_context=tuple(raw.get("MissingContextValues", ())),
                            allowed_by_boundary=boundary, allowed_by_organizations=orgs)]
    for specific in raw.get("ResourceSpecificResults", ()):
        detail = specific.get("PermissionsBoundaryDecisionDetail", _NONE).get("AllowedByPermissionsBoundary",
                                                                              boundary)
        out.append(SimulationResult(
            action=action, resource=specific["EvalResourceName"], decision=specific["EvalResourceDecision"],
            matched_statements=_matched(specific.get("MatchedStatements", ())),
            missing_context=tuple(specific.get("MissingContextValues", ())),
            allowed_by_boundary=detail, allowed_by_organizations=orgs))
    return out


def context_entries(batch: SimulationBatch) -> list[dict[str, Any]]:
    return [{"ContextKeyName": key, "ContextKeyValues": list(values),
             "ContextKeyType": "stringList" if key.lower() in MULTI_VALUED or len(values) > 1 else "string"}
            for key, values in batch.context]


def simulate_batch(session: Clients, source_arn: str, batch: SimulationBatch) -> dict[RequestKey, SimulationResult]:
    """One batch: one SimulatePrincipalPolicy request (and its pages); results keyed by the requests they decide."""
    iam = session.client("iam")
    kwargs: dict[str, Any] = {
        "PolicySourceArn": source_arn, "ActionNames": list(batch.actions),
        "MaxItems": MAX_ITEMS, "ContextEntries": context_entries(batch),
    }
    if batch.resources != ("*",):
        kwargs["ResourceArns"] = list(batch.resources)
    found: dict[tuple[str, str], SimulationResult] = {}
    while True:
        page = iam.simulate_principal_policy(**kwargs)
        for raw in page["EvaluationResults"]:
            for result in _results(raw):
                found[(result.action.lower(), result.resource)] = result
        if not page.get("IsTruncated"):
            break
        kwargs["Marker"] = page["Marker"]
    out: dict[RequestKey, SimulationResult] = {}
    for key in batch.answers:
        answer = found.get((key[1].lower(), key[2]))
        if answer is None and batch.resources == ("*",):
            answer = found.get((key[1].lower(), "*"))
        if answer is not None:
            out[key] = answer
    return out


def fan_out(calls: Sequence[Callable[[], T]], pool: Executor) -> list[T | BaseException]:
    """Each call's result (or the exception it raised), in order; run at once in `pool` (the simulation threads,
    AWSClients.simulations), carrying the calling thread's check deadline. One call runs in the calling thread."""
    if len(calls) <= 1:
        return [_settled(call) for call in calls]
    carried = [carry_deadline(call) for call in calls]
    futures = [pool.submit(_settled, call) for call in carried[1:]]
    first = _settled(carried[0])  # the calling thread does one share of the work meanwhile
    return [first, *(f.result() for f in futures)]


def _settled(call: Callable[[], T]) -> T | BaseException:
    try:
        return call()
    except Exception as err:  # handed back to the caller, which decides
        return err
