"""Offline checks: a set of policy documents against a requirement profile, decided by the local evaluator."""

from collections.abc import Sequence

from credcheck.engine.batches import RequestKey, plan
from credcheck.engine.iam.evaluator import evaluate, make_request
from credcheck.engine.iam.policy import Policy
from credcheck.engine.model import Principal, SimulationResult, Verdict
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target
from credcheck.engine.verdict import TargetSummary, decide


def check_policies(policies: Sequence[Policy], profile: Profile, *, account: str, region: str = "us-east-1",
                   partition: str = "aws", boundary: Policy | None = None, scps: Sequence[Policy] | None = None,
                   skip_features: Sequence[str] = (), target: Target | None = None) -> Verdict:
    """The keys and the role KKP acts as are the same identity here: the policies given."""
    target = target or Target()
    requirements = profile.requirements(account, partition, skip_features, target=target, region=region,
                                        keys_are_operating=True)
    simulated: dict[RequestKey, SimulationResult] = {}
    for batch in plan(requirements):
        context = {key: list(values) for key, values in batch.context}
        for key in batch.answers:
            result = evaluate(make_request(key[1], key[2], context), policies, boundary, scps)
            simulated[key] = SimulationResult(
                key[1], key[2], result.decision, tuple(s.label for s in result.matched_statements),
                result.missing_context_values, result.allowed_by_boundary, result.allowed_by_organizations)
    principal = Principal("(policy documents)", "(policy documents)", account, partition, "offline")
    ccm = profile.cloud_controller(target)
    target_summary = TargetSummary(target.cluster, target.region or region, ccm.minor if ccm else None,
                            f"{ccm.mode} (CCM {ccm.ccm})" if ccm else None)
    return decide(principal, requirements, simulated, targets=(target_summary,), profile_version=profile.version)
