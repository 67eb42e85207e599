"""Does a role's trust policy let KKP's cloud-controller-manager assume it? (pure; AWS's evaluation rules)

The request decided is the one the AWS cloud-controller-manager makes in KKP's assume-role mode: sts:AssumeRole
into the control-plane role with the credential's static keys, with no external ID, no source identity, no MFA
and no session tags (kubernetes/cloud-provider-aws@v1.34.0 pkg/providers/v1/aws.go:508-514), through the STS
endpoint of the Cluster's region. AWS's IAM simulator cannot decide it: it discards trust policies for
sts:Assume* actions (aws/aws-cli#10314).

AWS's rules (IAM User Guide: "Policy evaluation logic", "Cross-account policy evaluation logic", "AWS JSON policy
elements: Principal", "AWS JSON policy elements: NotPrincipal", "IAM JSON policy elements: Condition operators",
"AWS global condition context keys"):
- a Deny whose Action, Principal (or NotPrincipal) and Condition match wins;
- otherwise an Allow must name the principal itself (the user's ARN, the role's ARN or the session's ARN),
  `*` / {"AWS": "*"}, or its account (`arn:P:iam::A:root` or the bare account ID). Naming the account delegates
  to the caller's identity policies, which must allow sts:AssumeRole on the role as well (credcheck simulates
  that separately; `TrustDecision.via_account` says when it is the only way in);
- `Service`, `Federated` and `CanonicalUser` principals never match an IAM user or role; NotPrincipal with Allow
  is not supported by AWS and admits no one here;
- Conditions are decided by credcheck's own matcher (credcheck.engine.iam.conditions) against the request context of
  `request_context`: a key AWS leaves out of this request is absent (so `StringEquals sts:ExternalId` fails and
  `BoolIfExists aws:MultiFactorAuthPresent false` holds), a key whose value credcheck cannot know
  (aws:SourceIp, sts:RoleSessionName, principal tags, ...) leaves its statement undecided, never failed.
"""

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from credcheck.engine.iam.conditions import condition_holds
from credcheck.engine.iam.policy import Condition, PolicyError, Statement, parse_policy
from credcheck.engine.iam.variables import Context
from credcheck.engine.iam.wildcard import glob_match
from credcheck.engine.model import Principal
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target

ACTION = "sts:AssumeRole"
NO_ORGANIZATION = ""  # organization_id for an account known to belong to no AWS Organization

# Keys AWS leaves out of the cloud-controller-manager's AssumeRole whoever the principal is: it passes no external
# ID, is no AWS service and calls STS directly, not through another service ("AWS global condition context keys").
# aws:SourceAccount and aws:SourceArn stay unknown: the CCM's STS client sets the x-amz-source-account (and, when
# configured, x-amz-source-arn) headers, and AWS does not document what a non-service caller's headers become.
_ABSENT = frozenset({
    "sts:externalid", "aws:principalservicename", "aws:principalservicenameslist",
    "aws:calledvia", "aws:calledviafirst", "aws:calledvialast",
})
# ... and for an IAM user's long-term access keys: no MFA (the key is not present at all with access keys), no
# session (no token issue time, no source identity carried along), no session tags, no federation.
_ABSENT_FOR_USER = frozenset({
    "aws:multifactorauthpresent", "aws:multifactorauthage", "aws:tokenissuetime",
    "sts:sourceidentity", "aws:sourceidentity", "aws:tagkeys", "sts:transitivetagkeys", "aws:federatedprovider",
    "aws:ec2instancesourcevpc", "aws:ec2instancesourceprivateipv4", "aws:sourceinstancearn",
})
_ABSENT_PREFIXES_FOR_USER = ("aws:requesttag/",)
_PRINCIPAL_TYPES = {"user": "User", "assumed-role": "AssumedRole", "federated-user": "FederatedUser",
                    "root": "Account"}
_ORGANIZATION_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Trust(StrEnum):
    ADMITS = "Admits"
    REFUSES = "Refuses"
    UNDECIDED = "Undecided"


@dataclass(frozen=True)
class TrustDecision:
    """What the trust policy answers the cloud-controller-manager's AssumeRole, and why (statements by Sid/number).

    REFUSES: `keys` are the condition keys that refused it; `denied` when an explicit Deny did (an added Allow does
    not help). UNDECIDED: `keys` are the condition keys credcheck cannot know for this request.
    """

    answer: Trust
    reason: str
    statements: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    via_account: bool = False  # admitted only by naming the account: the identity policy must allow it too
    denied: bool = False

    def __bool__(self) -> bool:
        raise TypeError("a TrustDecision has three answers: compare .answer with Trust.ADMITS/REFUSES/UNDECIDED")


@dataclass(frozen=True)
class RequestContext:
    """The condition keys of the cloud-controller-manager's AssumeRole: known values, keys known to be absent,
    and every other key unknown."""

    values: Context
    absent: frozenset[str] = frozenset()
    absent_prefixes: tuple[str, ...] = ()
    notes: Mapping[str, str] = field(default_factory=dict)  # lower-case key -> why it is unknown (for messages)

    def unknown(self, key: str) -> bool:
        lower = key.lower()
        return lower not in self.values and lower not in self.absent and not lower.startswith(self.absent_prefixes)


def parse_document(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    text = str(raw)
    parsed = json.loads(unquote(text) if text.lstrip().startswith("%7B") else text)
    return parsed if isinstance(parsed, Mapping) else {}


def request_context(principal: Principal, *, region: str | None = None,
                    organization_id: str | None = None, source_ip: str | None = None) -> RequestContext:
    """The context AWS builds for the cloud-controller-manager's AssumeRole with `principal`'s keys.

    region: the STS region it calls (the Cluster's; None: unknown). organization_id: the principal's AWS
    Organization ID (e.g. read by an auditor allowed organizations:DescribeOrganization); None: unknown;
    NO_ORGANIZATION: the account belongs to none, so aws:PrincipalOrgID is absent. source_ip: the address the
    request leaves the seed from (aws:SourceIp, as the admin gives it); None: unknown.
    """
    values: dict[str, tuple[str, ...]] = {
        # a role session's aws:PrincipalArn is its role's ARN, not the session's ("aws:PrincipalArn")
        "aws:principalarn": (principal.policy_source_arn,),
        "aws:principalaccount": (principal.account,),
        "aws:principaltype": (_PRINCIPAL_TYPES.get(principal.kind, principal.kind),),
        "aws:principalisawsservice": ("false",),
        "aws:viaawsservice": ("false",),
        "aws:securetransport": ("true",),
    }
    absent = set(_ABSENT)
    prefixes: tuple[str, ...] = ()
    if principal.kind == "user":
        values["aws:username"] = (principal.policy_source_arn.rsplit("/", 1)[-1],)
        absent |= _ABSENT_FOR_USER
        prefixes = _ABSENT_PREFIXES_FOR_USER
    elif principal.kind == "assumed-role":
        absent.add("aws:username")  # only IAM users carry it
    if region:
        values["aws:requestedregion"] = (region,)
    if organization_id == NO_ORGANIZATION:
        absent |= _ORGANIZATION_KEYS
    elif organization_id is not None:
        values["aws:principalorgid"] = (organization_id,)
    if source_ip:
        values["aws:sourceip"] = (source_ip,)
    notes = {key: "the organisation is known only when credcheck is given it" for key in _ORGANIZATION_KEYS}
    notes["aws:sourceip"] = ("the seed's egress address is known only when the admin gives it: setting "
                             "seedEgressCIDRs, --seed-egress-cidr")
    notes["aws:requestedregion"] = "the Cluster's region is not known"
    return RequestContext(values, frozenset(absent), prefixes, notes)


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _label(statement: Statement) -> str:
    return f"statement {statement.sid!r}" if statement.sid else f"statement {statement.index + 1}"


def _own_arns(principal: Principal) -> set[str]:
    return {principal.caller_arn, principal.policy_source_arn}


def _account_names(principal: Principal) -> set[str]:
    return {principal.account, f"arn:{principal.partition}:iam::{principal.account}:root"}


def _named(element: Any, principal: Principal) -> str | None:
    """How a Principal element names the principal: "self" (itself or `*`), "account" (its account), or None."""
    if element == "*":
        return "self"
    if not isinstance(element, Mapping):
        return None
    entries = set(_strings(element.get("AWS")))
    if "*" in entries or entries & _own_arns(principal):
        return "self"
    if entries & _account_names(principal):
        return "account"
    return None  # Service, Federated and CanonicalUser principals never name an IAM user or role


def _excluded(element: Any, principal: Principal) -> bool:
    """Does a NotPrincipal element spare the principal? AWS may check the account first, then the user or role
    ("AWS JSON policy elements: NotPrincipal"): both the account and the user's or role's ARN must be listed."""
    if element == "*":
        return True
    entries = set(_strings(element.get("AWS"))) if isinstance(element, Mapping) else set()
    return "*" in entries or (bool(entries & _account_names(principal)) and principal.policy_source_arn in entries)


def _covers(statement: Statement) -> bool:
    if statement.actions is not None:
        return any(glob_match(a, ACTION, case_sensitive=False) for a in statement.actions)
    return not any(glob_match(a, ACTION, case_sensitive=False) for a in statement.not_actions or ())


def _keys_of(condition: Condition, substitutes: bool) -> list[str]:
    """The condition's key and the keys of the policy variables in its values."""
    keys = [condition.key]
    if substitutes:
        for value in condition.values:
            keys += [name for body in _VARIABLE.findall(value)
                     if (name := body.split(",", 1)[0].strip()) not in ("*", "?", "$")]
    return keys


@dataclass
class _Conditions:
    holds: bool | None  # None: depends on a key credcheck cannot know
    failed: list[Condition] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def _conditions(statement: Statement, context: RequestContext) -> _Conditions:
    """All of a statement's conditions (AND): false if one fails, undecided if one depends on an unknown key."""
    out = _Conditions(True)
    for condition in statement.conditions:
        unknown = [k for k in _keys_of(condition, statement.substitutes_variables) if context.unknown(k)]
        if unknown:
            out.unknown += [k for k in unknown if k not in out.unknown]
        elif not condition_holds(condition, context.values, statement.substitutes_variables):
            out.failed.append(condition)
    out.holds = False if out.failed else None if out.unknown else True
    return out


def _describe(condition: Condition, context: RequestContext) -> str:
    carried = context.values.get(condition.key.lower())
    request = f"carries {', '.join(carried)}" if carried else f"carries no {condition.key}"
    return f"{condition.operator} {condition.key} {', '.join(condition.values)} (the AssumeRole {request})"


def _unknown_keys(keys: list[str], context: RequestContext) -> str:
    return ", ".join(f"{k} ({context.notes[k.lower()]})" if k.lower() in context.notes else k for k in keys)


def _statements(document: Any) -> list[tuple[Mapping[str, Any], Statement]]:
    """Each raw statement with its parse by credcheck's policy parser (Principal set aside, Resource `*`)."""
    doc = parse_document(document)
    raw = doc.get("Statement")
    raws = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    stripped = [{**{k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal", "Resource", "NotResource")},
                 "Resource": "*"} if isinstance(s, Mapping) else s for s in raws]
    parsed: dict[str, Any] = {"Statement": stripped}
    if "Version" in doc:
        parsed["Version"] = doc["Version"]
    return list(zip(raws, parse_policy(parsed, "trust policy").statements, strict=True))


def _trusted(raw: Mapping[str, Any]) -> str:
    element = raw.get("Principal")
    if element == "*" or not isinstance(element, Mapping):
        return json.dumps(element)
    return ", ".join(f"{kind} {name}" for kind, names in element.items() for name in _strings(names))


@dataclass
class _Tally:
    """The statements for sts:AssumeRole that name the principal, sorted by what they answer."""

    admitting: list[tuple[str, str]] = field(default_factory=list)  # (label, "self" | "account")
    undecided_allows: list[tuple[str, list[str]]] = field(default_factory=list)  # (label, unknown keys)
    undecided_denies: list[tuple[str, list[str]]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # why an Allow naming the principal does not admit it
    refused_by: list[str] = field(default_factory=list)
    refused_keys: list[str] = field(default_factory=list)
    trusted: list[str] = field(default_factory=list)  # whom the other Allow statements trust


def _deny(raw: Mapping[str, Any], statement: Statement, principal: Principal, context: RequestContext,
          tally: _Tally) -> TrustDecision | None:
    """A Deny that certainly applies, as the answer; one that may apply is noted in the tally."""
    applies = ("NotPrincipal" in raw and not _excluded(raw["NotPrincipal"], principal)) or (
        "Principal" in raw and _named(raw["Principal"], principal) is not None)
    if not applies:
        return None
    label = _label(statement)
    found = _conditions(statement, context)
    if found.holds is None:
        tally.undecided_denies.append((label, found.unknown))
    if not found.holds:
        return None
    held = [_describe(c, context) for c in statement.conditions]
    return TrustDecision(
        Trust.REFUSES, f"{label} denies {ACTION} to {principal.policy_source_arn}"
        + (f" when {'; '.join(held)}" if held else ""), (label,), tuple(c.key for c in statement.conditions),
        denied=True)


def _allow(raw: Mapping[str, Any], statement: Statement, principal: Principal, context: RequestContext,
           tally: _Tally) -> None:
    label = _label(statement)
    if "NotPrincipal" in raw:
        tally.refusals.append(f"{label} uses NotPrincipal with Allow, which AWS does not support in a trust policy")
        tally.refused_by.append(label)
        return
    how = _named(raw.get("Principal"), principal)
    if how is None:
        tally.trusted.append(_trusted(raw))
        return
    found = _conditions(statement, context)
    if found.holds:
        tally.admitting.append((label, how))
    elif found.holds is None:
        tally.undecided_allows.append((label, found.unknown))
    else:
        tally.refusals.append(f"{label} names it but requires "
                              + "; ".join(_describe(c, context) for c in found.failed))
        tally.refused_by.append(label)
        tally.refused_keys += [c.key for c in found.failed if c.key not in tally.refused_keys]


def _conclude(tally: _Tally, principal: Principal, context: RequestContext) -> TrustDecision:
    """No Deny certainly applies: an Allow must admit, and no Deny that may apply may be left undecided."""
    who = principal.policy_source_arn
    if not tally.admitting and not tally.undecided_allows:
        refusals = tally.refusals or [
            f"no Allow statement for {ACTION} names {who}, its account {principal.account} or \"*\""
            + (f" (it trusts {'; '.join(tally.trusted)})" if tally.trusted else "")]
        return TrustDecision(Trust.REFUSES, "; ".join(refusals), tuple(tally.refused_by), tuple(tally.refused_keys))
    pending = [(label, keys, "admits") for label, keys in tally.undecided_allows if not tally.admitting] + [
        (label, keys, "denies") for label, keys in tally.undecided_denies]
    if pending:
        keys = tuple(dict.fromkeys(k for _, ks, _ in pending for k in ks))
        why = "; ".join(f"whether {label} {verb} it depends on {_unknown_keys(ks, context)}"
                        for label, ks, verb in pending)
        return TrustDecision(Trust.UNDECIDED, f"{why}, which credcheck cannot know for the "
                             f"cloud-controller-manager's {ACTION}", tuple(label for label, _, _ in pending), keys)
    via_account = all(how == "account" for _, how in tally.admitting)
    labels = tuple(label for label, _ in tally.admitting)
    return TrustDecision(Trust.ADMITS, f"{', '.join(labels)} admit{'s' if len(labels) == 1 else ''} {who}"
                         + (" through its account (its own policy must allow sts:AssumeRole too)" if via_account
                            else ""), labels, via_account=via_account)


MAX_EGRESS_ADDRESSES = 256  # a seed's egress CIDRs are expanded to their addresses, at most this many in all


class EgressError(ValueError):
    """Seed egress addresses that cannot be used; the message says which and why."""


def egress_addresses(cidrs: Sequence[str]) -> tuple[str, ...]:
    """Every address the seed's egress CIDRs hold (the CCM's AssumeRole may leave from any of them)."""
    out: list[str] = []
    for cidr in cidrs:
        try:
            network = ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            raise EgressError(f"seed egress {cidr!r} is not an IP address or CIDR") from None
        if network.num_addresses > MAX_EGRESS_ADDRESSES - len(out):
            raise EgressError(f"seed egress CIDRs hold more than {MAX_EGRESS_ADDRESSES} addresses; give the "
                              "seed's NAT or egress addresses")
        out += [str(a) for a in network]
    return tuple(dict.fromkeys(out))


def trust_admits(document: Any, principal: Principal, *, region: str | None = None,
                 organization_id: str | None = None, source_ips: Sequence[str] = ()) -> TrustDecision:
    """Does the trust policy admit the cloud-controller-manager's AssumeRole with `principal`'s keys?

    ADMITS, REFUSES (naming the statement, and the condition keys that refused it) or UNDECIDED (naming the
    condition keys credcheck cannot know). See `request_context` for `region` and `organization_id`.
    source_ips: the seed's egress addresses or CIDRs (aws:SourceIp): the request may come from any of them, so
    it is admitted only when it is from each; an address it is refused from decides REFUSES.
    """
    if not source_ips:
        return _trust_admits(document, principal, region, organization_id, None)
    try:
        addresses = egress_addresses(source_ips)
    except EgressError as err:
        return TrustDecision(Trust.UNDECIDED, str(err), keys=("aws:SourceIp",))
    decisions = [(a, _trust_admits(document, principal, region, organization_id, a)) for a in addresses]
    for answer in (Trust.REFUSES, Trust.UNDECIDED):
        for address, decision in decisions:
            if decision.answer is answer:
                return replace(decision, reason=f"from the seed's egress address {address}: {decision.reason}")
    return decisions[0][1]


def _trust_admits(document: Any, principal: Principal, region: str | None, organization_id: str | None,
                  source_ip: str | None) -> TrustDecision:
    try:
        statements = _statements(document)
    except (PolicyError, ValueError, TypeError) as err:
        return TrustDecision(Trust.UNDECIDED, f"credcheck cannot read the trust policy: {err}")
    context = request_context(principal, region=region, organization_id=organization_id, source_ip=source_ip)
    tally = _Tally()
    for raw, statement in statements:
        if not _covers(statement):
            continue
        if statement.effect == "Deny":
            if (denied := _deny(raw, statement, principal, context, tally)) is not None:
                return denied
        else:
            _allow(raw, statement, principal, context, tally)
    return _conclude(tally, principal, context)


def trust_statement(account: str, partition: str) -> dict[str, Any]:
    """What KKP (v2.30+) itself writes into the control-plane role's trust policy for the keys' account."""
    return {"Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "sts:AssumeRole"}


def assumes_role(profile: Profile, target: Target) -> bool:
    """Does the Cluster's cloud-controller-manager (under this profile) assume the control-plane role?"""
    ccm = profile.cloud_controller(target)
    return ccm is not None and ccm.mode == "assume-role" and target.cluster is not None


def trust_problems(profile: Profile, targets: Sequence[Target], documents: Mapping[str, tuple[str, Any]],
                   keys: Principal, organization_id: str | None = None, *, source_ips: Sequence[str] = (),
                   ) -> tuple[dict[str | None, str], dict[str | None, str]]:
    """Clusters whose control-plane role's trust policy refuses the keys while their CCM must assume it; and the
    Clusters whose role's trust credcheck cannot decide (a condition on a key it cannot know): Unknown, naming the key.

    The request is the CCM's: sts:AssumeRole with the keys, no external ID, source identity, MFA or session tags,
    through the STS endpoint of the Cluster's region; documents: cluster -> (role ARN, trust policy), as
    engine/aws/trust_policies.py reads them; organization_id: the keys' AWS Organization, None: unknown."""
    problems: dict[str | None, str] = {}
    undecided: dict[str | None, str] = {}
    for target in targets:
        if target.cluster is None or not assumes_role(profile, target) or target.cluster not in documents:
            continue
        role_arn, document = documents[target.cluster]
        ccm = profile.cloud_controller(target)
        assumer = (f"the cloud-controller-manager of cluster {target.cluster} ({ccm.ccm if ccm else ''}) assumes it "
                   f"with the credential's keys")
        decision = trust_admits(document, keys, region=target.region, organization_id=organization_id,
                                source_ips=source_ips)
        if decision.answer is Trust.UNDECIDED:
            undecided[target.cluster] = (
                f"could not decide whether the trust policy of {role_arn} admits {keys.policy_source_arn} for the "
                f"cloud-controller-manager of cluster {target.cluster}: {decision.reason}; so its AssumeRole is "
                f"unverified (condition key(s): {', '.join(decision.keys) or 'none'})")
        elif decision.answer is Trust.REFUSES and decision.denied:
            problems[target.cluster] = (
                f"the trust policy of {role_arn} refuses {keys.policy_source_arn} ({decision.reason}), yet {assumer} "
                "(no external ID, source identity, MFA or session tags). Narrow that Deny so it spares this AssumeRole")
        elif decision.answer is Trust.REFUSES:
            statement = json.dumps(trust_statement(keys.account, keys.partition))
            problems[target.cluster] = (
                f"the trust policy of {role_arn} does not admit {keys.policy_source_arn} ({decision.reason}), yet "
                f"{assumer} (a role created before KKP v2.30 trusts only ec2.amazonaws.com). Add to its "
                f"trust policy: {statement}")
    return problems, undecided
