"""The AWS resources each covered Cluster names (security group, instance profile), looked up with the Cluster's
credential (engine.aws.cluster_resources) and judged by controller.cluster_config: findings per Cluster.

Asked only for Clusters that name a security group, or an instance profile KKP will not create
(disableIAMReconciling); not for a check that assumes a role (KKP then asks AWS as that role: not verified, said so).
Answers are kept for --cache-ttl per credential and names, so a re-look costs no AWS call.
"""

import asyncio
import time
from dataclasses import dataclass

from credcheck.controller.cluster_config import resource_findings
from credcheck.controller.runtime import Runtime
from credcheck.engine.aws.cluster_resources import read_cluster_resources
from credcheck.engine.credential import parse_credential
from credcheck.engine.model import Credential
from credcheck.engine.target import Target
from credcheck.kube.client import ReadFailure
from credcheck.kube.spec import CheckObject, SecretSource

_KEPT: dict[str, tuple[float, tuple[str, ...]]] = {}  # fingerprint -> (expires, findings)
MAX_KEPT = 10_000


@dataclass(frozen=True)
class _Ask:
    entry: Target
    region: str


def _asks(runtime: Runtime, check: CheckObject) -> list[_Ask]:
    spec = check.spec
    if spec is None or not isinstance(spec.source, SecretSource):
        return []
    return [_Ask(c, c.region or spec.region or runtime.settings.region) for c in spec.clusters
            if c.cluster and (c.security_group_id or (c.instance_profile and c.disable_iam_reconciling))]


def _findings(runtime: Runtime, credential: Credential, ask: _Ask) -> tuple[str, ...]:
    c = ask.entry
    key = credential.fingerprint("resources", ask.region, c.security_group_id or "", c.vpc_id or "",
                                 c.instance_profile or "", str(c.disable_iam_reconciling))
    kept = _KEPT.get(key)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    facts = read_cluster_resources(runtime.aws, credential, ask.region, c.security_group_id,
                                   c.instance_profile if c.disable_iam_reconciling else None)
    found = tuple(resource_findings(
        security_group_id=c.security_group_id, vpc_id=c.vpc_id, instance_profile=c.instance_profile,
        disable_iam_reconciling=c.disable_iam_reconciling, security_group_found=facts.security_group_found,
        security_group_vpc=facts.security_group_vpc, instance_profile_found=facts.instance_profile_found,
        region=ask.region)) + tuple(f"not verified: {u}" for u in facts.unread)
    if len(_KEPT) >= MAX_KEPT:
        _KEPT.clear()
    _KEPT[key] = (time.monotonic() + runtime.settings.cache_ttl_seconds, found)
    return found


def _read(runtime: Runtime, check: CheckObject, asks: list[_Ask]) -> dict[str, list[str]]:
    spec = check.spec
    assert spec is not None and isinstance(spec.source, SecretSource)
    if spec.assume_role is not None:
        return {str(a.entry.cluster): [f"the security group and instance profile are not verified: KKP reaches AWS as "
                                    f"{spec.assume_role.role_arn} for this Cluster"] for a in asks}
    data = runtime.kube.secret_data(check.namespace, spec.source.name)
    if isinstance(data, ReadFailure):
        return {}
    credential = parse_credential(data, spec.source.access_key_id_key, spec.source.secret_access_key_key)
    if not isinstance(credential, Credential):
        return {}  # the check's own verdict says what is wrong with it
    return {str(a.entry.cluster): list(_findings(runtime, credential, a)) for a in asks}


async def resource_findings_for(runtime: Runtime, check: CheckObject) -> dict[str, list[str]]:
    """Findings per Cluster name (empty when nothing is to be looked up)."""
    asks = _asks(runtime, check)
    if not asks or check.problems:
        return {}
    return await asyncio.to_thread(_read, runtime, check, asks)
