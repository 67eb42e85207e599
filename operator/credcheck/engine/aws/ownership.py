"""Does KKP own what a Cluster names? Its control-plane role (iam:GetRole) and its security group
(ec2:DescribeSecurityGroups), read as KKP reads them before deleting: KKP deletes a role's policies and the role, and
the security group, only when they carry its ownership tag `owned-by.kubermatic.k8c.io/<cluster>` with an empty value
(kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/role.go:223,254, security_group.go:289-309, util.go:26-45).

Objects a Cluster does not name are KKP's own (it creates them with the tag) and are not read. A named object that
does not exist yet is created by KKP (owned); one that can't be read leaves what KKP would do with it undecided.
"""

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from credcheck.engine.aws.errors import describe, error_code
from credcheck.engine.aws.ports import RegionalClients
from credcheck.engine.target import Target

# kubermatic/kubermatic@v2.31.0:pkg/provider/cloud/aws/provider.go:36
OWNERSHIP_TAG = "owned-by.kubermatic.k8c.io/{cluster}"
Reads = dict[Any, tuple[list[Any] | None, str | None]]  # what was read: (tags, why not) by role or (region, group)
_GONE = {"NoSuchEntity", "InvalidGroup.NotFound", "InvalidGroupId.Malformed"}


def owns(tags: Sequence[Any] | None, cluster: str) -> bool:
    """KKP's hasIAMTag/hasEC2Tag: the ownership tag's key with an empty value."""
    key = OWNERSHIP_TAG.format(cluster=cluster)
    return any(isinstance(t, dict) and t.get("Key") == key and (t.get("Value") or "") == "" for t in tags or ())


def role_name(role: str) -> str:
    """KKP's decodeRoleARN: the last path element of an ARN's resource, or the name as given (role.go:133-146)."""
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def roles_to_read(targets: Sequence[Target]) -> set[str]:
    return {t.control_plane_role for t in targets if t.cluster and t.control_plane_role
            and t.control_plane_role_owned is None and t.control_plane_role_unread is None}


def groups_to_read(targets: Sequence[Target], region: str) -> set[tuple[str, str]]:
    return {(t.region or region, t.security_group_id) for t in targets if t.cluster and t.security_group_id
            and t.security_group_owned is None and t.security_group_unread is None}


def reads(targets: Sequence[Target], region: str) -> int:
    """The calls `read_ownership` makes for these targets."""
    return len(roles_to_read(targets)) + len(groups_to_read(targets, region))


def read_ownership(targets: Sequence[Target], session: RegionalClients, region: str,
                   roles_read: dict[str, Any] | None = None) -> tuple[Target, ...]:
    """Each Cluster's named control-plane role and security group read once, as the identity KKP acts as.
    `roles_read` gets each role read, by name (None: it does not exist), for the trust read to reuse."""
    roles: Reads = {}
    for role in sorted(roles_to_read(targets)):
        try:
            found = session.client("iam").get_role(RoleName=role_name(role))["Role"]
            roles[role] = (list(found.get("Tags") or []), None)
            if roles_read is not None:
                roles_read[role_name(role)] = found
        except Exception as err:
            gone = error_code(err) == "NoSuchEntity"
            why = None if gone else f"iam:GetRole failed ({describe(err, 'iam:GetRole').reason})"
            roles[role] = (None, why)
            if gone and roles_read is not None:
                roles_read[role_name(role)] = None
    groups: Reads = {}
    for where, group in sorted(groups_to_read(targets, region)):
        try:
            found = session.client_in("ec2", where).describe_security_groups(GroupIds=[group])["SecurityGroups"]
            groups[(where, group)] = (list(found[0].get("Tags") or []) if found else None, None)
        except Exception as err:
            groups[(where, group)] = (None, None) if error_code(err) in _GONE else (
                None, f"ec2:DescribeSecurityGroups failed ({describe(err, 'ec2:DescribeSecurityGroups').reason})")
    return tuple(_with_ownership(t, roles, groups, region) for t in targets)


def _with_ownership(target: Target, roles: Reads, groups: Reads, region: str) -> Target:
    if target.cluster and target.control_plane_role in roles:
        tags, why = roles[target.control_plane_role]
        target = (replace(target, control_plane_role_unread=why) if why else
                  replace(target, control_plane_role_owned=True if tags is None else owns(tags, target.cluster)))
    key = (target.region or region, target.security_group_id or "")
    if target.cluster and key in groups:
        tags, why = groups[key]
        target = (replace(target, security_group_unread=why) if why else
                  replace(target, security_group_owned=True if tags is None else owns(tags, target.cluster)))
    return target
