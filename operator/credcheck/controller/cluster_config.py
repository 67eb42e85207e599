"""A Cluster's AWS settings that KKP's running components reject, whatever the credential may do (pure).

Each finding names the component that fails, how, and the KKP code (kubermatic/kubermatic@v2.31.0) that shows it.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from credcheck.engine.target import Target
from credcheck.kube.check_status import CheckStatus

ARN = re.compile(r"^arn:aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?:iam::(\d{12}):role/.+$")


def role_arn_findings(role_arn: str | None, disable_iam_reconciling: bool, account: str | None) -> list[str]:
    """spec.cloud.aws.roleARN (the control-plane role): a bare role name, or a role in another account."""
    if not role_arn:
        return []
    found = ARN.match(role_arn)
    if found is None:
        return [
            f"roleARN {role_arn!r} is not an ARN: KKP writes it as RoleARN into the cloud-controller-manager's "
            "cloud-config (pkg/resources/cloudconfig/aws/cloudconfig.go:41), and the AWS cloud-controller-manager "
            "crash-loops on a bare role name (kubermatic/kubermatic#13144); "
            + ("with disableIAMReconciling KKP leaves it as it is: write the full ARN, "
               "arn:aws:iam::<account>:role/<name>" if disable_iam_reconciling else
               "KKP's IAM reconciling rewrites it into the ARN on its next run (pkg/provider/cloud/aws/provider.go:"
               "108-116, role.go:86-99); until then the cloud-controller-manager cannot start")]
    if account and found.group(2) != account:
        return [
            f"roleARN {role_arn} is in account {found.group(2)}, the credential in account {account}: KKP's IAM "
            "calls for the control-plane role go by role name to the credential's own account "
            "(pkg/provider/cloud/aws/role.go:115-125, decodeRoleARN), not to that role, and the cloud-controller-"
            "manager assumes it across accounts (cloudconfig.go:41): its trust policy must admit the credential's "
            "account, and disableIAMReconciling must be set or KKP manages a different role"]
    return []


def config_findings(cluster: Target, account: str | None) -> list[str]:
    """Findings for one spec.clusters entry (roleARN, disableIAMReconciling) and the credential's account."""
    return role_arn_findings(cluster.control_plane_role, cluster.disable_iam_reconciling, account)


def apply_config_findings(status: CheckStatus, spec_clusters: Iterable[Target],
                          looked_up: Mapping[str, list[str]] | None = None) -> CheckStatus:
    """configFindings in each status.clusters entry, from the check's spec.clusters and the principal's account,
    and what was `looked_up` in AWS per Cluster (resource_findings)."""
    account = status.principal.account if status.principal is not None else None
    by_name = {c.cluster: c for c in spec_clusters if c.cluster}
    entries = []
    for entry in status.clusters:
        spec = by_name.get(entry.name)
        findings = config_findings(spec, account) if spec is not None else []
        findings += list((looked_up or {}).get(entry.name) or [])
        entries.append(replace(entry, config_findings=tuple(findings)))
    return status.with_clusters(entries)


def resource_findings(*, security_group_id: str | None, vpc_id: str | None, instance_profile: str | None,
                      disable_iam_reconciling: bool, security_group_found: bool | None,
                      security_group_vpc: str | None, instance_profile_found: bool | None,
                      region: str) -> list[str]:
    """A security group that does not exist or is in another VPC than the Cluster's; an instance profile that does
    not exist where KKP will not create it (disableIAMReconciling)."""
    out = []
    if security_group_id and security_group_found is False:
        out.append(
            f"securityGroupID {security_group_id} does not exist in {region}: machine-controller launches every "
            "machine into it (kubermatic/kubermatic@v2.31.0:pkg/machine/provider/aws.go:184-196) and AWS refuses "
            "ec2:RunInstances with InvalidGroup.NotFound; KKP's own cloud-spec validation refuses it as well "
            "(pkg/provider/cloud/aws/provider.go:131-147)")
    elif security_group_id and vpc_id and security_group_vpc and security_group_vpc != vpc_id:
        out.append(
            f"securityGroupID {security_group_id} is in {security_group_vpc}, the Cluster's vpcID is {vpc_id}: "
            "machine-controller launches machines into the Cluster's VPC with that group (pkg/machine/provider/"
            "aws.go:176-196), which AWS refuses (a security group of another VPC); KKP looks the group up in the "
            "Cluster's VPC only (pkg/provider/cloud/aws/security_group.go:41-58, provider.go:143-147)")
    if instance_profile and instance_profile_found is False and disable_iam_reconciling:
        out.append(
            f"instanceProfileName {instance_profile} does not exist, and with disableIAMReconciling KKP does not "
            "create it (pkg/provider/cloud/aws/provider.go:292-298; it would: instance_profile.go:100-124): "
            "machine-controller names it in ec2:RunInstances (pkg/machine/provider/aws.go:180-182), which AWS "
            "refuses for an unknown instance profile")
    return out
