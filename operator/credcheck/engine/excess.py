"""Excess access (pure): high-risk actions KKP never calls, asked in the check's own simulation.

A KKP credential needs EC2, ELB and a few IAM actions on KKP's own roles and instance profiles (`credcheck
requirements show`). Admins often grant far more (`IAMFullAccess` next to `AmazonEC2FullAccess`, kubermatic/docs#65),
and a seed then holds keys that can create IAM users. These questions ask whether the identity KKP acts as may do
what an attacker with the keys would do first. None is in any KKP profile (every profile's actions are checked
against this list in tests/unit/engine/test_excess.py), so an answer never changes the verdict: it is a finding.

The list (each action is one AWS documents in the Service Authorization Reference):
- IAM escalation: iam:CreateUser, iam:CreateAccessKey, iam:CreateLoginProfile, iam:AttachUserPolicy,
  iam:PutUserPolicy on a user; iam:AttachRolePolicy, iam:PutRolePolicy on a role that is not KKP's
  (`role/credcheck-not-kkp`: KKP's own roles are `kubernetes-*`); iam:CreatePolicyVersion on a policy;
- the organisation and the account: organizations:CreateAccount, organizations:LeaveOrganization (standing for
  `organizations:*`), account:PutAlternateContact, account:DisableRegion (standing for `account:*`);
- covering tracks and destroying data: cloudtrail:DeleteTrail, cloudtrail:StopLogging, kms:ScheduleKeyDeletion.
`*` on `*` cannot be asked as such (SimulatePrincipalPolicy takes concrete action names of 3 to 128 characters,
cloud-custodian/cloud-custodian#4769): it is reported when every action above is allowed.

Questions on a user, role or policy are asked on a stand-in ARN of the account (`user/credcheck-not-kkp`); the
others on `*`. A policy that grants them only on some other trails or keys is not reported.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from credcheck.engine.batches import RequestKey, request_key
from credcheck.engine.keyfacts import Excess, ExcessPermission
from credcheck.engine.model import OPERATING, Principal, Requirement, Severity, SimulationResult

FEATURE = "excess-permissions"
STAND_IN = "credcheck-not-kkp"


@dataclass(frozen=True)
class Risk:
    action: str
    resource: str  # "user", "role", "policy" (a stand-in ARN of the account) or "*"
    why: str


HIGH_RISK = (
    Risk("iam:CreateUser", "user", "creates IAM users"),
    Risk("iam:CreateAccessKey", "user", "creates access keys for any user"),
    Risk("iam:CreateLoginProfile", "user", "gives users console passwords"),
    Risk("iam:AttachUserPolicy", "user", "attaches any policy to users"),
    Risk("iam:PutUserPolicy", "user", "writes users' inline policies"),
    Risk("iam:AttachRolePolicy", "role", "attaches any policy to roles that are not KKP's"),
    Risk("iam:PutRolePolicy", "role", "writes inline policies of roles that are not KKP's"),
    Risk("iam:CreatePolicyVersion", "policy", "rewrites managed policies"),
    Risk("organizations:CreateAccount", "*", "creates accounts in the organisation (organizations:*)"),
    Risk("organizations:LeaveOrganization", "*", "takes the account out of its organisation (organizations:*)"),
    Risk("account:PutAlternateContact", "*", "changes the account's contacts (account:*)"),
    Risk("account:DisableRegion", "*", "disables Regions of the account (account:*)"),
    Risk("cloudtrail:DeleteTrail", "*", "deletes CloudTrail trails"),
    Risk("cloudtrail:StopLogging", "*", "stops CloudTrail logging"),
    Risk("kms:ScheduleKeyDeletion", "*", "schedules KMS keys for deletion"),
)
EVERYTHING = "*"  # the entry reported when every listed action is allowed


def stand_in(kind: str, principal: Principal) -> str:
    if kind == "*":
        return "*"
    return f"arn:{principal.partition}:iam::{principal.account}:{kind}/{STAND_IN}"


def requirements(principal: Principal) -> list[Requirement]:
    """The questions, as requirements the batch planner can place: for the identity KKP acts as, with no request
    context of their own (so they ride along any call of that identity whose resources fit)."""
    return [Requirement(risk.action, stand_in(risk.resource, principal), Severity.RECOMMENDED, (FEATURE,),
                        risk.action, principal=OPERATING, why=risk.why) for risk in HIGH_RISK]


def found(asked: Sequence[Requirement], simulated: Mapping[RequestKey, SimulationResult],
          replacement: dict[str, object] | None = None) -> Excess:
    """The asked actions AWS allowed (an undecided or missing answer is not reported); `*` when all were."""
    allowed: list[ExcessPermission] = []
    for req in asked:
        result = simulated.get(request_key(req))
        if result is not None and result.decision == "allowed":
            allowed.append(ExcessPermission(req.action, req.resource, result.matched_statements))
    if asked and len(allowed) == len(asked):
        statements = tuple(dict.fromkeys(s for a in allowed for s in a.allowed_by))
        allowed.append(ExcessPermission(EVERYTHING, "*", statements))
    return Excess(tuple(allowed), len(asked), replacement if allowed else None)


def finding(excess: Excess) -> str | None:
    """The finding's words, or None when nothing on the list is allowed."""
    if not excess.found:
        return None
    actions = [e.action for e in excess.found if e.action != EVERYTHING]
    everything = len(actions) < len(excess.found)
    by = sorted({s for e in excess.found for s in e.allowed_by})
    return ("this credential can do more than KKP needs: " + ", ".join(actions)
            + (" — every high-risk action asked, as good as * on *" if everything else "")
            + (f" (allowed by {', '.join(by)})" if by else "")
            + ". Replace its policy with the one `credcheck requirements show` prints for its Clusters "
              "(status.leastPrivilegePolicy); nothing KKP calls needs these")
