"""What the trust decision reads from AWS: the trust policy of each control-plane role a cloud-controller-manager
assumes (iam:GetRole), and the keys' AWS Organization when a trust policy conditions on it
(organizations:DescribeOrganization). Deciding and wording is engine/trust.py's."""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from credcheck.engine.aws.errors import describe, error_code
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.model import Principal
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target, variables
from credcheck.engine.trust import NO_ORGANIZATION, assumes_role


def read_trust(profiles: Sequence[Profile], targets: Sequence[Target], session: AWSSession, principal: Principal,
               known: Mapping[str, Any] | None = None) -> tuple[dict[str, tuple[str, Any]], list[str]]:
    """Each control-plane role a CCM in assume-role mode will assume (under any of the profiles), read once with the
    identity KKP acts as (`session`, `principal`): cluster -> (role ARN, trust policy); a role not created yet is
    left out (KKP creates it with the right trust). `known`: roles the ownership read already got, by name (None:
    it does not exist)."""
    documents: dict[str, tuple[str, Any]] = {}
    notes: list[str] = []
    for target in targets:
        if target.cluster is None or not any(assumes_role(p, target) for p in profiles):
            continue
        values = variables(target, partition=principal.partition, account=principal.account,
                           region=target.region or "us-east-1")
        role_arn = values["controlPlaneRole"]
        if known is not None and (name := role_arn.rsplit("/", 1)[-1]) in known:
            if known[name] is not None:
                documents[target.cluster] = (role_arn, known[name].get("AssumeRolePolicyDocument", {}))
            continue
        try:
            role = session.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        except Exception as err:
            if error_code(err) != "NoSuchEntity":
                notes.append(f"could not read the trust policy of {role_arn} ({describe(err, 'iam:GetRole').reason})")
            continue
        documents[target.cluster] = (role_arn, role.get("AssumeRolePolicyDocument", {}))
    return documents, notes


def read_organization(documents: Mapping[str, tuple[str, Any]], keys: AWSSession) -> str | None:
    """The keys' AWS Organization, read only when a trust policy conditions on aws:PrincipalOrgID (the common
    organisation guard): its ID, NO_ORGANIZATION for an account in none, None when it may not be read."""
    if not any("aws:principalorgid" in json.dumps(doc).lower() for _, doc in documents.values()):
        return None
    try:
        return str(keys.client("organizations").describe_organization()["Organization"]["Id"])
    except Exception as err:
        return NO_ORGANIZATION if error_code(err) == "AWSOrganizationsNotInUseException" else None
