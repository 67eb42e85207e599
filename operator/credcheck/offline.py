"""Offline checks: a set of policy documents against a requirement profile, decided by the local evaluator."""

from collections.abc import Sequence

from credcheck.iam.evaluator import evaluate, make_request
from credcheck.iam.policy import Policy
from credcheck.model import Principal, SimulationResult, Verdict
from credcheck.plan import plan
from credcheck.requirements.profiles import Profile
from credcheck.verdict import decide


def check_policies(policies: Sequence[Policy], profile: Profile, *, account: str, region: str = "us-east-1",
                   partition: str = "aws", boundary: Policy | None = None, scps: Sequence[Policy] | None = None,
                   skip_features: Sequence[str] = ()) -> Verdict:
    requirements = profile.requirements(account, partition, skip_features)
    simulated: dict[tuple[str, str], SimulationResult] = {}
    for batch in plan(requirements, region):
        for action in batch.actions:
            result = evaluate(make_request(action, batch.resource, {"aws:RequestedRegion": region}),
                              policies, boundary, scps)
            simulated[(action, batch.resource)] = SimulationResult(
                action, batch.resource, result.decision, tuple(s.label for s in result.matched_statements),
                result.missing_context_values, result.allowed_by_boundary, result.allowed_by_organizations)
    principal = Principal("(policy documents)", "(policy documents)", account, partition, "offline")
    return decide(principal, requirements, simulated)
