"""What exists of the AWS resources a KKP Cluster names: its security group (and the VPC it is in) and its instance
profile, read with the Cluster's own credential, as KKP's components read them (ec2:DescribeSecurityGroups,
iam:GetInstanceProfile: both in every KKP profile's required calls)."""

from dataclasses import dataclass

from credcheck.engine.aws.errors import describe, error_code
from credcheck.engine.aws.ports import SessionFactory
from credcheck.engine.aws.session import RetryPolicy
from credcheck.engine.model import Credential


@dataclass(frozen=True)
class ClusterResources:
    security_group_found: bool | None = None  # None: not asked, or could not be read (unread says why)
    security_group_vpc: str | None = None
    instance_profile_found: bool | None = None
    unread: tuple[str, ...] = ()


def read_cluster_resources(aws: SessionFactory, credential: Credential, region: str, security_group_id: str | None,
                           instance_profile: str | None) -> ClusterResources:
    session = aws.static_session(credential, region, RetryPolicy(max_attempts=2))
    found_sg, vpc, found_ip, unread = None, None, None, []
    if security_group_id:
        try:
            groups = session.client("ec2").describe_security_groups(GroupIds=[security_group_id])["SecurityGroups"]
            found_sg = bool(groups)
            vpc = str(groups[0].get("VpcId") or "") or None if groups else None
        except Exception as err:
            if error_code(err) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
                found_sg = False
            else:
                why = describe(err, "ec2:DescribeSecurityGroups").reason
                unread.append(f"ec2:DescribeSecurityGroups failed ({why})")
    if instance_profile:
        try:
            session.client("iam").get_instance_profile(InstanceProfileName=instance_profile)
            found_ip = True
        except Exception as err:
            if error_code(err) == "NoSuchEntity":
                found_ip = False
            else:
                why = describe(err, "iam:GetInstanceProfile").reason
                unread.append(f"iam:GetInstanceProfile failed ({why})")
    return ClusterResources(found_sg, vpc, found_ip, tuple(unread))
