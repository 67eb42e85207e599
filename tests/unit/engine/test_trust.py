"""Trust policies decided for the AssumeRole KKP's cloud-controller-manager makes: the keys' principal, no external ID,
no source identity, no MFA, no session tags, the STS endpoint of the Cluster's region.

Every expected answer below is written by hand from AWS's documented rules, not from running the code:
- IAM User Guide, "Policy evaluation logic" and "Cross-account policy evaluation logic": an explicit Deny that
  applies wins; otherwise an Allow must apply; naming the account delegates to the caller's identity policies.
- IAM User Guide, "AWS JSON policy elements: Principal": account principals (`arn:aws:iam::A:root` or `A`), IAM
  user and role principals, role session principals, `*` and {"AWS": "*"}; service principals.
- IAM User Guide, "AWS JSON policy elements: NotPrincipal": with Deny, all principals except those listed are
  denied, and the account must be listed along with the user or role, or the account is denied; with Allow it is
  not supported.
- IAM User Guide, "IAM JSON policy elements: Condition operators": a key missing from the request makes a condition
  false, except negated operators (true), `...IfExists` (true) and `Null` (tests absence).
- IAM User Guide, "AWS global condition context keys": aws:PrincipalOrgID (present only for a member of an
  organisation), aws:PrincipalArn (a role session's is its role's ARN), aws:PrincipalAccount, aws:PrincipalType,
  aws:MultiFactorAuthPresent ("not present in AWS CLI, API or SDK requests made with long-term access keys"),
  aws:SourceIp, aws:RequestedRegion, aws:SecureTransport; IAM User Guide, "Available keys for AWS STS"
  (sts:ExternalId, sts:SourceIdentity, sts:RoleSessionName); AWS re:Post knowledge center "mfa-iam-user-aws-cli"
  (`Bool aws:MultiFactorAuthPresent false` does not deny requests signed with long-term keys; `BoolIfExists` does).
- IAM User Guide, "Providing access to AWS accounts owned by third parties" (the sts:ExternalId trust example) and
  "Monitor and control actions taken with assumed roles" (the sts:SourceIdentity examples).
"""

from dataclasses import dataclass, field
from typing import Any

import pytest
from policy_edits import doc

from credcheck.engine.model import Principal
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck.engine.trust import (
    NO_ORGANIZATION,
    Trust,
    TrustDecision,
    request_context,
    trust_admits,
    trust_problems,
)

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
ORG = "o-a1b2c3d4e5"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/kkp"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/seed"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/seed/kkp-session"
USER = Principal(USER_ARN, USER_ARN, ACCOUNT, "aws", "user")
SESSION = Principal(SESSION_ARN, ROLE_ARN, ACCOUNT, "aws", "assumed-role")
ROOT = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}

ADMITS, REFUSES, UNDECIDED = Trust.ADMITS, Trust.REFUSES, Trust.UNDECIDED


def allow(principal: Any = None, action: Any = "sts:AssumeRole", sid: str | None = None,
          **condition: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": ROOT if principal is None else principal,
                                 "Action": action}
    if sid:
        statement["Sid"] = sid
    if condition:
        statement["Condition"] = condition
    return statement


def deny(principal: Any = "*", action: Any = "sts:AssumeRole", sid: str | None = None,
         **condition: dict[str, Any]) -> dict[str, Any]:
    return {**allow(principal, action, sid, **condition), "Effect": "Deny"}


def not_principal_deny(names: list[str], sid: str = "OnlyThese") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "NotPrincipal": {"AWS": names}, "Action": "sts:AssumeRole"}


# The organisation guard as AWS documents it for resource policies ("aws:PrincipalOrgID"; the data perimeter's
# "Deny unless the principal belongs to my organisation, sparing AWS services").
ORG_GUARD = deny(sid="DenyOutsideOrg", StringNotEquals={"aws:PrincipalOrgID": ORG})
ORG_GUARD_SPARING_SERVICES = deny(sid="DenyOutsideOrg", StringNotEqualsIfExists={"aws:PrincipalOrgID": ORG},
                                  BoolIfExists={"aws:PrincipalIsAWSService": "false"})


@dataclass(frozen=True)
class Case:
    name: str
    document: dict[str, Any]
    answer: Trust
    keys: tuple[str, ...] = ()  # the condition keys the answer names (REFUSES: that refused; UNDECIDED: unknown)
    principal: Principal = USER
    options: dict[str, Any] = field(default_factory=dict)
    via_account: bool | None = None
    denied: bool | None = None
    says: str = ""  # a phrase the reason must contain


CASES = [
    # (1) the organisation guard: Deny when aws:PrincipalOrgID differs; the key is present only for members.
    Case("org guard, organisation known and matching", doc(ORG_GUARD, allow()), ADMITS,
         options={"organization_id": ORG}, via_account=True),
    Case("org guard, organisation unknown", doc(ORG_GUARD, allow()), UNDECIDED, ("aws:PrincipalOrgID",),
         says="aws:PrincipalOrgID"),
    Case("org guard, another organisation", doc(ORG_GUARD, allow()), REFUSES, ("aws:PrincipalOrgID",),
         options={"organization_id": "o-zzzzzzzzzz"}, denied=True, says="'DenyOutsideOrg'"),
    Case("org guard, account in no organisation (negated operator, key absent: true)", doc(ORG_GUARD, allow()),
         REFUSES, ("aws:PrincipalOrgID",), options={"organization_id": NO_ORGANIZATION}, denied=True),
    Case("org guard sparing services, organisation matching", doc(ORG_GUARD_SPARING_SERVICES, allow()), ADMITS,
         options={"organization_id": ORG}),
    Case("org guard sparing services, another organisation", doc(ORG_GUARD_SPARING_SERVICES, allow()), REFUSES,
         ("aws:PrincipalOrgID", "aws:PrincipalIsAWSService"), options={"organization_id": "o-zzzzzzzzzz"},
         denied=True),
    Case("org guard sparing services, account in no organisation (IfExists, key absent: true)",
         doc(ORG_GUARD_SPARING_SERVICES, allow()), REFUSES, ("aws:PrincipalOrgID", "aws:PrincipalIsAWSService"),
         options={"organization_id": NO_ORGANIZATION}, denied=True),
    Case("Allow * for the organisation, organisation matching",
         doc(allow("*", StringEquals={"aws:PrincipalOrgID": ORG})), ADMITS, options={"organization_id": ORG},
         via_account=False),
    Case("Allow * for the organisation, organisation unknown",
         doc(allow("*", StringEquals={"aws:PrincipalOrgID": ORG})), UNDECIDED, ("aws:PrincipalOrgID",)),
    Case("Allow * for the organisation, account in no organisation",
         doc(allow("*", StringEquals={"aws:PrincipalOrgID": ORG})), REFUSES, ("aws:PrincipalOrgID",),
         options={"organization_id": NO_ORGANIZATION}),
    # (2) the external ID: the cloud-controller-manager sends none, so an Allow requiring one does not apply.
    Case("account root with an external ID", doc(allow(sid="ThirdParty", StringEquals={"sts:ExternalId": "kkp-1"})),
         REFUSES, ("sts:ExternalId",), denied=False, says="sts:ExternalId"),
    Case("account root with any external ID (StringLike *)", doc(allow(StringLike={"sts:ExternalId": "*"})),
         REFUSES, ("sts:ExternalId",)),
    Case("an external-ID statement beside the one KKP writes", doc(
        allow(StringEquals={"sts:ExternalId": "kkp-1"}), allow()), ADMITS, via_account=True),
    Case("Deny without an external ID (Null true)", doc(allow(), deny(Null={"sts:ExternalId": "true"})),
         REFUSES, ("sts:ExternalId",), denied=True),
    # (3) the source identity: none is set on the keys' AssumeRole.
    Case("source identity required", doc(allow(StringLike={"sts:SourceIdentity": "*"})), REFUSES,
         ("sts:SourceIdentity",)),
    Case("source identity must be set (Null false)", doc(allow(Null={"sts:SourceIdentity": "false"})), REFUSES,
         ("sts:SourceIdentity",)),
    Case("Deny when no source identity (Null true)", doc(allow(), deny(Null={"sts:SourceIdentity": "true"})),
         REFUSES, ("sts:SourceIdentity",), denied=True),
    Case("source identity checked only if present (IfExists)",
         doc(allow(StringEqualsIfExists={"sts:SourceIdentity": "admin"})), ADMITS),
    Case("a role session may carry a source identity from earlier in the chain", doc(
        allow({"AWS": ROLE_ARN}, StringEquals={"sts:SourceIdentity": "admin"})), UNDECIDED, ("sts:SourceIdentity",),
         principal=SESSION),
    # (4) MFA: the key is not present at all when long-term access keys sign the request.
    Case("MFA required (Bool true)", doc(allow(Bool={"aws:MultiFactorAuthPresent": "true"})), REFUSES,
         ("aws:MultiFactorAuthPresent",)),
    Case("MFA absent or false (BoolIfExists false)", doc(allow(BoolIfExists={"aws:MultiFactorAuthPresent": "false"})),
         ADMITS),
    Case("Deny without MFA, BoolIfExists false", doc(allow(), deny(BoolIfExists={"aws:MultiFactorAuthPresent": "false"})),
         REFUSES, ("aws:MultiFactorAuthPresent",), denied=True),
    Case("Deny without MFA, plain Bool false: does not deny long-term keys",
         doc(allow(), deny(Bool={"aws:MultiFactorAuthPresent": "false"})), ADMITS),
    Case("recent MFA required (MultiFactorAuthAge)", doc(allow(NumericLessThan={"aws:MultiFactorAuthAge": "3600"})),
         REFUSES, ("aws:MultiFactorAuthAge",)),
    Case("MFA on a role session depends on how the session was made",
         doc(allow({"AWS": ROLE_ARN}, Bool={"aws:MultiFactorAuthPresent": "true"})), UNDECIDED,
         ("aws:MultiFactorAuthPresent",), principal=SESSION),
    # (5) a named principal, and the account principal in both its forms.
    Case("the user named", doc(allow({"AWS": USER_ARN})), ADMITS, via_account=False),
    Case("the user in a list", doc(allow({"AWS": [f"arn:aws:iam::{ACCOUNT}:user/other", USER_ARN]})), ADMITS,
         via_account=False),
    Case("another user named", doc(allow({"AWS": f"arn:aws:iam::{ACCOUNT}:user/other"})), REFUSES,
         says=f"no Allow statement for sts:AssumeRole names {USER_ARN}"),
    Case("the account root", doc(allow()), ADMITS, via_account=True),
    Case("the bare account ID", doc(allow({"AWS": ACCOUNT})), ADMITS, via_account=True),
    Case("another account's root", doc(allow({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"})), REFUSES),
    Case("the role of a session", doc(allow({"AWS": ROLE_ARN})), ADMITS, principal=SESSION, via_account=False),
    Case("the session itself", doc(allow({"AWS": SESSION_ARN})), ADMITS, principal=SESSION),
    Case("a role session is no user", doc(allow({"AWS": USER_ARN})), REFUSES, principal=SESSION),
    # (6) the wildcard principal, narrowed by conditions on the principal.
    Case("* alone", doc(allow("*")), ADMITS, via_account=False),
    Case("{AWS: *}", doc(allow({"AWS": "*"})), ADMITS, via_account=False),
    Case("* for the account", doc(allow("*", StringEquals={"aws:PrincipalAccount": ACCOUNT})), ADMITS),
    Case("* for another account", doc(allow("*", StringEquals={"aws:PrincipalAccount": OTHER_ACCOUNT})), REFUSES,
         ("aws:PrincipalAccount",), says=OTHER_ACCOUNT),
    Case("* for matching principal ARNs", doc(allow({"AWS": "*"}, ArnLike={"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/k*"})),
         ADMITS),
    Case("* for another principal ARN", doc(allow("*", ArnEquals={"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/other"})),
         REFUSES, ("aws:PrincipalArn",)),
    Case("* for a session's role ARN (aws:PrincipalArn is the role's)",
         doc(allow("*", ArnEquals={"aws:PrincipalArn": ROLE_ARN})), ADMITS, principal=SESSION),
    Case("* for IAM users", doc(allow("*", StringEquals={"aws:PrincipalType": "User"})), ADMITS),
    Case("* for role sessions, asked by a user", doc(allow("*", StringEquals={"aws:PrincipalType": "AssumedRole"})),
         REFUSES, ("aws:PrincipalType",)),
    Case("* for a policy variable resolved from the request",
         doc(allow("*", StringEquals={"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:user/kkp"})), ADMITS),
    Case("* for a policy variable credcheck cannot resolve",
         doc(allow("*", StringLike={"aws:PrincipalArn": "*${aws:userid}*"})), UNDECIDED, ("aws:userid",)),
    # (7) service and federated principals never match an IAM user or role.
    Case("ec2.amazonaws.com only (what KKP wrote before v2.30)", doc(allow({"Service": "ec2.amazonaws.com"})),
         REFUSES, says="Service ec2.amazonaws.com"),
    Case("a SAML provider only", doc(allow({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/corp"},
                                           "sts:AssumeRoleWithSAML")), REFUSES),
    Case("a SAML provider with sts:AssumeRole", doc(allow({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/corp"})),
         REFUSES),
    # (8) NotPrincipal with Deny: all but the listed principals; the account must be listed with the user or role.
    Case("NotPrincipal Deny sparing someone else", doc(allow(), not_principal_deny(
        [f"arn:aws:iam::{ACCOUNT}:user/other", f"arn:aws:iam::{ACCOUNT}:root"])), REFUSES, denied=True,
         says="'OnlyThese'"),
    Case("NotPrincipal Deny sparing the user and its account", doc(allow(), not_principal_deny(
        [USER_ARN, f"arn:aws:iam::{ACCOUNT}:root"])), ADMITS),
    Case("NotPrincipal Deny sparing the user but not its account", doc(allow(), not_principal_deny([USER_ARN])),
         REFUSES, denied=True),
    Case("NotPrincipal Deny sparing the role and its account", doc(allow({"AWS": ROLE_ARN}), not_principal_deny(
        [ROLE_ARN, f"arn:aws:iam::{ACCOUNT}:root"])), ADMITS, principal=SESSION),
    Case("NotPrincipal Deny sparing only a service", doc(allow(), {
        "Effect": "Deny", "NotPrincipal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}),
         REFUSES, denied=True),
    Case("NotPrincipal with Allow is not supported", doc(
        {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/other"}, "Action": "sts:AssumeRole"}),
         REFUSES, says="NotPrincipal with Allow"),
    # (9) keys credcheck cannot know for the cloud-controller-manager's request: undecided, never missing.
    Case("Allow from an IP range", doc(allow(IpAddress={"aws:SourceIp": "203.0.113.0/24"})), UNDECIDED,
         ("aws:SourceIp",), says="aws:SourceIp"),
    Case("Deny outside an IP range", doc(allow(), deny(NotIpAddress={"aws:SourceIp": "203.0.113.0/24"})), UNDECIDED,
         ("aws:SourceIp",)),
    Case("Deny outside an IP range, and no Allow: refused whatever the IP", doc(
        deny(NotIpAddress={"aws:SourceIp": "203.0.113.0/24"}), allow({"Service": "ec2.amazonaws.com"})), REFUSES),
    Case("an IP-bound Allow beside an unconditional one", doc(
        allow(IpAddress={"aws:SourceIp": "203.0.113.0/24"}), allow({"AWS": USER_ARN})), ADMITS),
    Case("an unconditional Deny beside an IP-bound Allow", doc(
        allow(IpAddress={"aws:SourceIp": "203.0.113.0/24"}), deny({"AWS": USER_ARN})), REFUSES, denied=True),
    Case("an IP-bound Allow, another failing one", doc(
        allow(IpAddress={"aws:SourceIp": "203.0.113.0/24"}), allow(StringEquals={"sts:ExternalId": "x"})), UNDECIDED,
         ("aws:SourceIp",)),
    Case("the session name the CCM picks", doc(allow(StringLike={"sts:RoleSessionName": "kkp-*"})), UNDECIDED,
         ("sts:RoleSessionName",)),
    Case("a principal tag", doc(allow(StringEquals={"aws:PrincipalTag/team": "kkp"})), UNDECIDED,
         ("aws:PrincipalTag/team",)),
    Case("one failing condition decides though another is unknown", doc(allow(
        IpAddress={"aws:SourceIp": "203.0.113.0/24"}, StringEquals={"sts:ExternalId": "x"})), REFUSES,
         ("sts:ExternalId",)),
    Case("no session tags are passed", doc(allow(StringEquals={"aws:RequestTag/team": "kkp"})), REFUSES,
         ("aws:RequestTag/team",)),
    Case("Deny when session tags are passed (Null false)", doc(allow(), deny(Null={"aws:TagKeys": "false"})), ADMITS),
    # the request's region, transport and direct call
    Case("the Cluster's region", doc(allow(StringEquals={"aws:RequestedRegion": "eu-central-1"})), ADMITS,
         options={"region": "eu-central-1"}),
    Case("another region", doc(allow(StringEquals={"aws:RequestedRegion": "eu-central-1"})), REFUSES,
         ("aws:RequestedRegion",), options={"region": "us-east-1"}),
    Case("region unknown", doc(allow(StringEquals={"aws:RequestedRegion": "eu-central-1"})), UNDECIDED,
         ("aws:RequestedRegion",)),
    Case("Deny without TLS", doc(allow(), deny(Bool={"aws:SecureTransport": "false"})), ADMITS),
    Case("Deny through AWS services", doc(allow(), deny(Bool={"aws:ViaAWSService": "true"})), ADMITS),
    # Action and NotAction: wildcards, case-insensitive action names
    Case("sts:Assume*", doc(allow(action="sts:Assume*")), ADMITS),
    Case("sts:*", doc(allow(action="sts:*")), ADMITS),
    Case("*", doc(allow(action="*")), ADMITS),
    Case("action names ignore case", doc(allow(action="STS:assumerole")), ADMITS),
    Case("only sts:TagSession", doc(allow(action="sts:TagSession")), REFUSES),
    Case("only sts:AssumeRoleWithWebIdentity", doc(allow(action=["sts:AssumeRoleWithWebIdentity"])), REFUSES),
    Case("NotAction sparing sts:AssumeRole", doc({"Effect": "Allow", "Principal": ROOT, "NotAction": "sts:TagSession"}),
         ADMITS),
    Case("NotAction naming sts:AssumeRole", doc({"Effect": "Allow", "Principal": ROOT, "NotAction": "sts:AssumeRole"}),
         REFUSES),
    Case("Deny with NotAction covering sts:AssumeRole", doc(allow(), {
        "Effect": "Deny", "Principal": "*", "NotAction": "sts:TagSession"}), REFUSES, denied=True),
    Case("a Deny of the account denies its users", doc(allow({"AWS": USER_ARN}), deny(ROOT)), REFUSES, denied=True),
    Case("a Deny of another user", doc(allow(), deny({"AWS": f"arn:aws:iam::{ACCOUNT}:user/other"})), ADMITS),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_trust_policies_as_aws_decides_them(case: Case) -> None:
    decision = trust_admits(case.document, case.principal, **case.options)
    assert decision.answer is case.answer, decision.reason
    assert set(decision.keys) == set(case.keys), decision.reason
    if case.via_account is not None:
        assert decision.via_account is case.via_account
    if case.denied is not None:
        assert decision.denied is case.denied
    assert case.says in decision.reason
    if case.answer is not ADMITS:
        assert decision.reason, "a refusal or an undecided answer says why"


def test_an_undecided_answer_names_the_statement_and_how_to_know_the_organisation() -> None:
    decision = trust_admits(doc(ORG_GUARD, allow()), USER)
    assert decision.statements == ("statement 'DenyOutsideOrg'",)
    assert "known only when credcheck is given it" in decision.reason


def test_a_refusal_names_the_statement_and_the_missing_external_id() -> None:
    decision = trust_admits(doc(allow(sid="ThirdParty", StringEquals={"sts:ExternalId": "kkp-1"})), USER)
    assert decision.statements == ("statement 'ThirdParty'",)
    assert "StringEquals sts:ExternalId kkp-1 (the AssumeRole carries no sts:ExternalId)" in decision.reason


def test_a_decision_is_no_bool_so_undecided_is_never_read_as_ok_or_missing() -> None:
    with pytest.raises(TypeError):
        bool(trust_admits(doc(allow()), USER))


def test_url_encoded_documents_as_iam_returns_them() -> None:
    encoded = ("%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22"
               "111122223333%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D")
    assert trust_admits(encoded, USER).answer is ADMITS


def test_a_policy_credcheck_cannot_read_is_undecided() -> None:
    assert trust_admits("{not json", USER).answer is UNDECIDED
    assert trust_admits(doc(), USER).answer is UNDECIDED


def test_the_request_context_of_the_cloud_controller_managers_assume_role() -> None:
    user = request_context(USER, region="eu-central-1", organization_id=ORG)
    assert user.values["aws:principalarn"] == (USER_ARN,)
    assert user.values["aws:username"] == ("kkp",)
    assert user.values["aws:principalorgid"] == (ORG,)
    assert not user.unknown("sts:ExternalId") and "sts:externalid" not in user.values
    assert not user.unknown("aws:MultiFactorAuthPresent") and not user.unknown("aws:RequestTag/team")
    assert user.unknown("aws:SourceIp") and user.unknown("sts:RoleSessionName") and user.unknown("aws:userid")
    session = request_context(SESSION)
    assert session.values["aws:principalarn"] == (ROLE_ARN,)
    assert session.values["aws:principaltype"] == ("AssumedRole",)
    assert session.unknown("aws:MultiFactorAuthPresent") and session.unknown("aws:PrincipalOrgID")
    assert session.unknown("aws:RequestedRegion")
    assert not request_context(USER, organization_id=NO_ORGANIZATION).unknown("aws:PrincipalOrgID")


# --- check.py's use: a refusal is ControlPlaneRoleTrustMissing, an undecided answer that Cluster's Unknown ---

CLUSTER = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.34")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/kubernetes-abc-control-plane"


def problems(document: dict[str, Any], **kwargs: Any) -> tuple[dict[str | None, str], dict[str | None, str]]:
    return trust_problems(load_profile("kkp-2.31"), [CLUSTER], {"abc": (ROLE, document)}, USER, **kwargs)


def test_an_undecided_trust_makes_that_cluster_unknown_naming_the_key_not_a_problem() -> None:
    """issue 31 (6): an AssumeRole credcheck cannot decide is unverified, so the Cluster is Unknown, never Ready."""
    found, undecided = problems(doc(ORG_GUARD, allow()))
    assert found == {}
    assert list(undecided) == ["abc"] and "aws:PrincipalOrgID" in undecided["abc"] and ROLE in undecided["abc"]
    assert problems(doc(ORG_GUARD, allow()), organization_id=ORG) == ({}, {})


SOURCE_IP = {"Sid": "FromTheSeed", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
             "Action": "sts:AssumeRole", "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/28"}}}


def test_a_source_ip_condition_is_unknown_until_the_seeds_egress_is_given_then_decided_exactly() -> None:
    """issue 31 (6): aws:SourceIp of the seed's egress (hand-written expectations, AWS's IpAddress operator)."""
    _, undecided = problems(doc(SOURCE_IP))
    assert "aws:SourceIp" in undecided["abc"] and "seedEgressCIDRs" in undecided["abc"]
    assert problems(doc(SOURCE_IP), source_ips=("203.0.113.5",)) == ({}, {})
    assert problems(doc(SOURCE_IP), source_ips=("203.0.113.0/29",)) == ({}, {}), "every address inside"
    refused, undecided = problems(doc(SOURCE_IP), source_ips=("203.0.113.8/28", "198.51.100.7"))
    assert undecided == {} and "198.51.100.7" in refused["abc"], "one egress address outside: refused"
    _, bad = problems(doc(SOURCE_IP), source_ips=("10.0.0.0/8",))
    assert "more than 256 addresses" in bad["abc"]


def test_a_refused_trust_names_the_statement_to_add_or_the_deny_to_narrow() -> None:
    found, notes = problems(doc(allow(StringEquals={"sts:ExternalId": "kkp-1"})))
    assert notes == {} and "sts:ExternalId" in found["abc"]
    assert f'"AWS": "arn:aws:iam::{ACCOUNT}:root"' in found["abc"], "the trust statement to add"
    denied, _ = problems(doc(ORG_GUARD, allow()), organization_id="o-zzzzzzzzzz")
    assert "Narrow that Deny" in denied["abc"] and "'DenyOutsideOrg'" in denied["abc"]


def test_decisions_compare_by_answer() -> None:
    assert isinstance(trust_admits(doc(allow()), USER), TrustDecision)
