"""What KKP will ask AWS for one Cluster: its names, region and Kubernetes version, as pure values.

A profile's resource templates and context values are filled from a Target; a check without any Cluster uses
`Target()` (no cluster: `*` in names, simulated as `credcheck-probe`; the newest Kubernetes the profile knows).
"""

import re
from dataclasses import dataclass

from credcheck.engine.iam.arn import PARTITIONS, Arn, ArnError

NO_CLUSTER = "*"


@dataclass(frozen=True)
class Target:
    """One KKP Cluster, the one type from discovery (kube.kkp reads it from the Cluster) through a check's
    spec.clusters[] (kube.spec) to the engine: its fields are named here once (their YAML names in kube.spec)."""

    cluster: str | None = None  # the Cluster's name (KKP's cluster ID); None: no Cluster known
    region: str | None = None  # from the Seed's datacenter; None: the check's or operator's region
    kubernetes_version: str | None = None  # spec.version, e.g. "1.34.2"
    control_plane_role: str | None = None  # spec.cloud.aws.roleARN: a role name or ARN
    instance_profile: str | None = None  # spec.cloud.aws.instanceProfileName
    security_group_id: str | None = None
    vpc_id: str | None = None
    disable_iam_reconciling: bool = False
    assume_role_arn: str | None = None  # the check's assume-role (the engine sets it): KKP acts in that role's account
    datacenter: str | None = None  # spec.cloud.dc: the Seed's datacenter that gives `region`
    # the Cluster's own instance profile as AWS shows it (iam:GetInstanceProfile at check time): the role inside it,
    # whether KKP owns it (its ownership tag: then KKP manages the worker role), or why it could not be read
    instance_profile_role: str | None = None
    instance_profile_owned: bool | None = None
    instance_profile_unread: str | None = None
    # likewise the control-plane role a Cluster names (iam:GetRole) and its security group (ec2:DescribeSecurityGroups):
    # whether each carries KKP's ownership tag (KKP deletes only what it owns), or why it could not be read
    control_plane_role_owned: bool | None = None
    control_plane_role_unread: str | None = None
    security_group_owned: bool | None = None
    security_group_unread: str | None = None

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
    # KKP's IAM calls find the role by its name in the account KKP acts in, whatever account the ARN names
    # (kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/role.go:133-146); the CCM assumes the ARN as written
    in_account = f"{iam}:role/{control_plane.split(':role/', 1)[1]}"
    # KKP's worker role has a fixed name (kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/role.go:42-44); the role
    # passed to RunInstances is the one inside the instance profile: KKP's worker role when KKP made the profile,
    # else whatever the admin's profile holds (read at check time; unknown offline: any role)
    worker = f"{iam}:role/kubernetes-{cluster}-worker"
    inside = target.instance_profile_role or (f"{iam}:role/*" if target.instance_profile else worker)
    return {
        "partition": partition, "account": account, "region": region, "cluster": cluster,
        "controlPlaneRole": control_plane, "controlPlaneRoleInAccount": in_account, "workerRole": worker,
        "instanceProfileRole": inside,
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
