"""iam:SimulatePrincipalPolicy, one call per batch, following IsTruncated/Marker pages."""

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from credcheck.aws.session import AWSSession
from credcheck.model import SimulationResult
from credcheck.plan import RequestKey, SimulationBatch

MAX_ITEMS = 1000
MULTI_VALUED = frozenset({"aws:tagkeys"})  # condition keys whose value is a list in a real request


def _matched(statements: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(sys.intern(f"{s.get('SourcePolicyId', '?')} ({s.get('SourcePolicyType', 'policy')})")
                 for s in statements)


def _results(raw: Mapping[str, Any]) -> list[SimulationResult]:
    """One result per resource: AWS puts per-resource decisions in ResourceSpecificResults when it has them."""
    boundary = raw.get("PermissionsBoundaryDecisionDetail", {}).get("AllowedByPermissionsBoundary")
    orgs = raw.get("OrganizationsDecisionDetail", {}).get("AllowedByOrganizations")
    action = raw["EvalActionName"]
    out = [SimulationResult(action=action, resource=raw.get("EvalResourceName", "*"), decision=raw["EvalDecision"],
                            matched_statements=_matched(raw.get("MatchedStatements", [])),
                            missing_context=tuple(raw.get("MissingContextValues", [])),
                            allowed_by_boundary=boundary, allowed_by_organizations=orgs)]
    for specific in raw.get("ResourceSpecificResults", []):
        detail = specific.get("PermissionsBoundaryDecisionDetail", {}).get("AllowedByPermissionsBoundary", boundary)
        out.append(SimulationResult(
            action=action, resource=specific["EvalResourceName"], decision=specific["EvalResourceDecision"],
            matched_statements=_matched(specific.get("MatchedStatements", [])),
            missing_context=tuple(specific.get("MissingContextValues", [])),
            allowed_by_boundary=detail, allowed_by_organizations=orgs))
    return out


def context_entries(batch: SimulationBatch) -> list[dict[str, Any]]:
    return [{"ContextKeyName": key, "ContextKeyValues": list(values),
             "ContextKeyType": "stringList" if key.lower() in MULTI_VALUED or len(values) > 1 else "string"}
            for key, values in batch.context]


def simulate(session: AWSSession, source_arns: Mapping[str, str],
             batches: Sequence[SimulationBatch]) -> dict[RequestKey, SimulationResult]:
    """Results keyed by the requests they decide; `source_arns` names the user or role per principal."""
    iam = session.client("iam")
    out: dict[RequestKey, SimulationResult] = {}
    for batch in batches:
        kwargs: dict[str, Any] = {
            "PolicySourceArn": source_arns[batch.principal], "ActionNames": list(batch.actions),
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
        for key in batch.answers:
            answer = found.get((key[1].lower(), key[2]))
            if answer is None and batch.resources == ("*",):
                answer = found.get((key[1].lower(), "*"))
            if answer is not None:
                out[key] = answer
    return out
