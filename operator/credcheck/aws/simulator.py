"""iam:SimulatePrincipalPolicy, one call per batch, following IsTruncated/Marker pages."""

import sys
from collections.abc import Sequence
from typing import Any

from credcheck.aws.session import AWSSession
from credcheck.model import SimulationResult
from credcheck.plan import SimulationBatch

MAX_ITEMS = 1000


def _result(raw: dict[str, Any]) -> SimulationResult:
    boundary = raw.get("PermissionsBoundaryDecisionDetail", {}).get("AllowedByPermissionsBoundary")
    orgs = raw.get("OrganizationsDecisionDetail", {}).get("AllowedByOrganizations")
    matched = tuple(sys.intern(f"{s.get('SourcePolicyId', '?')} ({s.get('SourcePolicyType', 'policy')})")
                    for s in raw.get("MatchedStatements", []))
    return SimulationResult(action=raw["EvalActionName"], resource=raw.get("EvalResourceName", "*"),
                            decision=raw["EvalDecision"], matched_statements=matched,
                            missing_context=tuple(raw.get("MissingContextValues", [])),
                            allowed_by_boundary=boundary, allowed_by_organizations=orgs)


def simulate(session: AWSSession, policy_source_arn: str,
             batches: Sequence[SimulationBatch]) -> dict[tuple[str, str], SimulationResult]:
    """Results keyed by (action, simulated resource)."""
    iam = session.client("iam")
    out: dict[tuple[str, str], SimulationResult] = {}
    for batch in batches:
        kwargs: dict[str, Any] = {
            "PolicySourceArn": policy_source_arn, "ActionNames": list(batch.actions), "MaxItems": MAX_ITEMS,
            "ContextEntries": [{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": [batch.region],
                                "ContextKeyType": "string"}],
        }
        if batch.resource != "*":
            kwargs["ResourceArns"] = [batch.resource]
        while True:
            page = iam.simulate_principal_policy(**kwargs)
            for raw in page["EvaluationResults"]:
                result = _result(raw)
                out[(result.action, batch.resource)] = result
            if not page.get("IsTruncated"):
                break
            kwargs["Marker"] = page["Marker"]
    return out
