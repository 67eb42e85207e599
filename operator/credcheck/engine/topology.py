"""What credcheck can't see but must say: a hybrid cloud-controller-manager that fails node initialisation for some
instance families when it may not assume the control-plane role (pure).

From cloud-provider-aws v1.33.0 (KKP 2.29 runs it for Kubernetes 1.33 and 1.34, in hybrid mode) the instance-topology
client assumes the Cluster's control-plane role; a refused AssumeRole is STS AccessDenied, which the topology manager
does not tolerate (it tolerates only EC2's UnauthorizedOperation), and node initialisation then fails for instance types
whose topology it requires (kubernetes/cloud-provider-aws@v1.33.0:pkg/providers/v1/instances_v2.go:87-93,
pkg/resourcemanagers/topology.go:48,96-120). A Cluster's instance types are in its MachineDeployments, which credcheck
does not read: so this is a finding naming the families, whatever the simulation says, never a failure.
"""

from collections.abc import Mapping, Sequence

from credcheck.engine.batches import RequestKey, request_key
from credcheck.engine.model import KEYS, OPERATING, Requirement, SimulationResult
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target

FAMILIES = "hpc, trn, p and inf"


def topology_findings(profile: Profile, targets: Sequence[Target], requirements: Sequence[Requirement],
                      simulated: Mapping[RequestKey, SimulationResult]) -> tuple[str, ...]:
    """One finding per Cluster whose CCM needs the role for those instance types, saying whether the keys' own
    policy allows the AssumeRole (the role's trust policy must admit them too; KKP before v2.30 writes a trust for
    ec2.amazonaws.com only)."""
    out: list[str] = []
    for target in targets:
        ccm = profile.cloud_controller(target)
        if ccm is None or ccm.minor not in profile.topology_required:
            continue
        pattern, evidence = profile.topology_required[ccm.minor]
        asked = [simulated.get(request_key(r)) for r in requirements
                 if r.action == "sts:AssumeRole" and r.cluster == target.cluster and r.principal in (KEYS, OPERATING)
                 and "cloud-controller-conditional" in r.features]
        allowed = bool(asked) and all(a is not None and a.decision == "allowed" for a in asked)
        keys = ("the keys' own policy allows it, and its trust policy must admit them too (a role KKP created before "
                "v2.30 trusts only ec2.amazonaws.com)" if allowed else "the keys' own policy does not allow it")
        out.append(f"cluster {target.label}: the cloud-controller-manager {ccm.ccm} (Kubernetes {ccm.minor}) assumes "
                   f"the control-plane role for instance topology and {keys}; when that AssumeRole is refused, nodes "
                   f"of instance types matching {pattern} (the {FAMILIES} families) fail to initialise — credcheck "
                   f"can't see a Cluster's instance types ({evidence})")
    return tuple(out)
