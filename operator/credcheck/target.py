"""What KKP will ask AWS for one Cluster: its names, region and Kubernetes version, as pure values.

A profile's resource templates and context values are filled from a Target; a check without any Cluster uses
`Target()` (no cluster: `*` in names, simulated as `credcheck-probe`; the newest Kubernetes the profile knows).
"""

import re
from dataclasses import dataclass
from typing import Any

from credcheck.iam.arn import PARTITIONS, Arn, ArnError

NO_CLUSTER = "*"


@dataclass(frozen=True)
class Target:
    cluster: str | None = None  # the Cluster's name (KKP's cluster ID); None: no Cluster known
    region: str | None = None  # from the Seed's datacenter; None: the check's or operator's region
    kubernetes_version: str | None = None  # spec.version, e.g. "1.34.2"
    control_plane_role: str | None = None  # spec.cloud.aws.roleARN: a role name or ARN
    instance_profile: str | None = None  # spec.cloud.aws.instanceProfileName
    security_group_id: str | None = None
    vpc_id: str | None = None
    disable_iam_reconciling: bool = False
    assume_role_arn: str | None = None  # spec.cloud.aws.assumeRoleARN: KKP acts in that role's account

    @property
    def label(self) -> str:
        return self.cluster or "(no Cluster)"


def minor_of(version: str | None) -> str | None:
    """`1.34` for `v1.34.2`, `1.34.2` or `1.34`; None when it is not a Kubernetes version."""
    match = re.match(r"^v?(\d+)\.(\d+)", (version or "").strip())
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _role_arn(value: str, partition: str, account: str) -> str:
    try:
        Arn.parse(value)
        return value
    except ArnError:
        return f"arn:{partition}:iam::{account}:role/{value}"


def variables(target: Target, *, partition: str, account: str, region: str) -> dict[str, str]:
    """The values a profile's `{placeholders}` take for this target (IAM ARNs in the account KKP acts in)."""
    cluster = target.cluster or NO_CLUSTER
    iam = f"arn:{partition}:iam::{account}"
    ec2 = f"arn:{partition}:ec2:{region}:{account}"
    control_plane = (_role_arn(target.control_plane_role, partition, account) if target.control_plane_role
                     else f"{iam}:role/kubernetes-{cluster}-control-plane")
    # a profile the admin named holds a role KKP does not know in advance: any role may be passed
    worker = f"{iam}:role/*" if target.instance_profile else f"{iam}:role/kubernetes-{cluster}-worker"
    return {
        "partition": partition, "account": account, "region": region, "cluster": cluster,
        "controlPlaneRole": control_plane, "workerRole": worker,
        "instanceProfile": f"{iam}:instance-profile/{target.instance_profile or 'kubernetes-' + cluster}",
        "securityGroup": f"{ec2}:security-group/{target.security_group_id or '*'}",
        "vpc": f"{ec2}:vpc/{target.vpc_id or '*'}",
        "assumeRole": target.assume_role_arn or "",
    }


def fill(text: str, values: dict[str, str]) -> str:
    """`{name}` placeholders filled; unknown ones are left as they are (a profile error is caught at load)."""
    return re.sub(r"\{([A-Za-z]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def iam_region(partition: str) -> str:
    """IAM is global: its requests carry the partition's one region (us-east-1 in `aws`) as aws:RequestedRegion."""
    return PARTITIONS[partition].signing_region if partition in PARTITIONS else "us-east-1"


def target_from_cluster(cluster: Any, regions: dict[str, str] | None = None) -> Target:
    """A KKP Cluster object (a dict) as a Target; `regions` maps datacenter names to regions (from Seeds)."""
    spec = (cluster.get("spec") or {}) if isinstance(cluster, dict) else {}
    cloud = spec.get("cloud") or {}
    aws = cloud.get("aws") or {}
    dc = cloud.get("dc")
    return Target(
        cluster=str((cluster.get("metadata") or {}).get("name") or "") or None,
        region=(regions or {}).get(str(dc)) if dc else None,
        kubernetes_version=str(spec["version"]) if spec.get("version") else None,
        control_plane_role=aws.get("roleARN") or None,
        instance_profile=aws.get("instanceProfileName") or None,
        security_group_id=aws.get("securityGroupID") or None,
        vpc_id=aws.get("vpcID") or None,
        disable_iam_reconciling=bool(aws.get("disableIAMReconciling", False)),
        assume_role_arn=aws.get("assumeRoleARN") or None,
    )


def regions_from_seed(seed: Any) -> dict[str, str]:
    """Datacenter name -> AWS region, from a Seed (spec.datacenters[<dc>].spec.aws.region)."""
    out: dict[str, str] = {}
    for name, dc in (((seed or {}).get("spec") or {}).get("datacenters") or {}).items():
        region = (((dc or {}).get("spec") or {}).get("aws") or {}).get("region")
        if region:
            out[str(name)] = str(region)
    return out
