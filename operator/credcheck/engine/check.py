"""One check end to end: a credential in, a Verdict out. AWS is reached through what the caller built once and hands
over in CheckOptions: its AWSClients (clients, endpoint policy, simulation threads) and its AuditorCache."""

import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from credcheck.engine import hygiene
from credcheck.engine.aws import ownership
from credcheck.engine.aws import principal as principals
from credcheck.engine.aws.accesskeys import AccessKeyFacts
from credcheck.engine.aws.auditor import SELF, AuditorCache, AuditorUnavailable
from credcheck.engine.aws.cloudtrail import DenialReader
from credcheck.engine.aws.errors import ACCESS_DENIED, AWSFailure, describe, error_code, sanitize
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSClients, AWSSession, RetryPolicy, assume_role
from credcheck.engine.aws.simulator import fan_out, simulate_batch
from credcheck.engine.batches import MAX_SIMULATIONS, RequestKey, SimulationBatch, plan
from credcheck.engine.cloud_config import role_name_findings
from credcheck.engine.denials import disagreements
from credcheck.engine.iam.arn import template
from credcheck.engine.model import (
    KEYS,
    OPERATING,
    AssumeRole,
    Credential,
    Principal,
    Requirement,
    SimulationResult,
    Status,
    Verdict,
    role_of,
)
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target, variables
from credcheck.engine.topology import topology_findings
from credcheck.engine.trust import NO_ORGANIZATION, Trust, trust_admits, trust_statement
from credcheck.engine.verdict import TargetSummary, decide

SIMULATE_STATEMENT = ('{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", '
                      '"Resource": "%s"}')


LOG = logging.getLogger("credcheck.engine.check")


def account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


@dataclass(frozen=True)
class Auditor:
    """A separate identity that simulates when a credential may not simulate itself (its sessions and failures are
    remembered by CheckOptions.auditor_cache)."""

    aws_profile: str | None = None  # boto3 profile; None: the default chain (environment, instance role)
    role_arn: str | None = None  # e.g. arn:{partition}:iam::{account}:role/credcheck-auditor, assumed per account

    def role_for(self, principal: Principal) -> str:
        """The role to assume for the principal's account ("": none, the profile's identity simulates)."""
        if not self.role_arn:
            return ""
        return template(self.role_arn, account=principal.account, partition=principal.partition)


@dataclass(frozen=True)
class CheckOptions:
    profile: Profile
    aws: AWSClients = field(kw_only=True)  # the process's, built once (the operator's Runtime, a CLI command)
    auditor_cache: AuditorCache = field(kw_only=True)  # likewise: shared by every check of the process
    region: str = "us-east-1"  # for Clusters whose region is not known (and for checks without a Cluster)
    assume_role: AssumeRole | None = None
    skip_features: tuple[str, ...] = ()
    auditor: Auditor | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None  # shared by every check: a cap on calls per second per account
    targets: tuple[Target, ...] = ()  # the Clusters using the credential; none: one check without a Cluster
    target_profile: Profile | None = None  # the KKP version to report upgrade readiness for
    include_recommended: bool = False  # also simulate on-request features (documented, never called)
    denial_reader: DenialReader | None = None  # read what AWS refused the credential (CloudTrail), opt-in
    # the auditor simulates a control-plane role (and reads its CloudTrail denials) only for roles a Cluster KKP runs
    # names for this credential (the operator: discovered checks); never for a role a check's maker typed (#33)
    audit_roles: bool = True
    excess_permissions: bool = False  # also ask the high-risk actions KKP never calls (engine/excess.py)
    key_facts: AccessKeyFacts | None = None  # read the keys' user's access keys (engine/aws/accesskeys.py)
    seed_egress: tuple[str, ...] = ()  # the seed's egress addresses/CIDRs: aws:SourceIp of the CCM's AssumeRole


def _unknown(reason: str, message: str, principal: Principal | None = None) -> Verdict:
    return Verdict(Status.UNKNOWN, reason, message, principal)


def _assume(session: AWSSession, role: AssumeRole) -> AWSSession | Verdict:
    try:
        return assume_role(session, role)
    except Exception as err:
        failure = describe(err, "sts:AssumeRole", session.region)
    if role.external_id:  # STS quotes a malformed one back (ValidationError): never into a status (issue 33)
        failure = replace(failure, message=failure.message.replace(role.external_id, "(the external ID)"))
    if failure.reason in ("InvalidCredentials", "ExpiredToken"):
        return Verdict(Status.INVALID, failure.reason, failure.message)
    if failure.reason == "AccessDenied":
        return Verdict(Status.INVALID, "AssumeRoleFailed",
                       f"could not assume {role.role_arn}: denied. Check the role's trust policy "
                       "names this credential's principal and that the external ID matches (a wrong or missing "
                       "external ID is denied)")
    return _unknown(failure.reason, failure.message)


def check_failed(err: Exception) -> Verdict:
    """Ready=Unknown, reason CheckFailed: the error's type and a sanitised message; retried with backoff."""
    return Verdict(Status.UNKNOWN, "CheckFailed", f"{type(err).__name__}: {sanitize(str(err), 400)}; the check "
                   "failed before a verdict and is retried with backoff (the operator's log has the traceback)")


def _failure_verdict(failure: AWSFailure, principal: Principal | None) -> Verdict:
    if failure.reason in ("InvalidCredentials", "ExpiredToken"):
        return Verdict(Status.INVALID, failure.reason, failure.message, principal)
    return _unknown(failure.reason, failure.message, principal)


@dataclass(frozen=True)
class _Identity:
    """One identity whose policies are simulated: the keys themselves, or the role KKP acts as."""

    principal: Principal
    session: AWSSession


def _not_permitted(principal: Principal) -> Verdict:
    return _unknown("SimulationNotPermitted",
                    f"{principal.caller_arn} may not call iam:SimulatePrincipalPolicy on itself, and no auditor "
                    "is configured; nothing was verified. Add this statement to the credential's policy: "
                    + SIMULATE_STATEMENT % principal.policy_source_arn
                    + " — or configure an auditor identity", principal)


def _auditor_failed(err: Exception, principal: Principal) -> Verdict:
    """AWS's text names credcheck's own identity (its user, its role, the account it assumes into): it goes to the
    operator's log, never into the status of a check that anyone may write (issue 33)."""
    failure = (err.failure if isinstance(err, AuditorUnavailable)
               else describe(err, "simulation by the auditor identity"))
    LOG.warning("the auditor identity failed for %s: %s", principal.caller_arn, failure.message)
    return _unknown("AuditorFailed" if failure.reason == "AccessDenied" else failure.reason,
                    f"the auditor identity could not simulate this credential ({failure.code or failure.reason}); "
                    "what AWS said is in credcheck's log, for its administrators; nothing was verified", principal)


def _auditor_of(options: CheckOptions, principal: Principal, region: str) -> tuple[AWSSession, str]:
    """The auditor's session for the principal's account, and its ARN: remembered by the check's AuditorCache."""
    assert options.auditor is not None
    return options.auditor_cache.session(options.aws, options.auditor.aws_profile, options.auditor.role_for(principal),
                                         region, options.retry)


def _auditor_session(identity: _Identity, options: CheckOptions) -> tuple[AWSSession, str] | Verdict:
    """The auditor's session for this identity's account, spending the budget of the account it calls: the
    auditor's own (one auditor for many tenant accounts spends one account's budget), counted with the check."""
    assert options.auditor is not None
    try:
        auditor, auditor_arn = _auditor_of(options, identity.principal, identity.session.region)
    except Exception as err:
        return _auditor_failed(err, identity.principal)
    auditor.calls, auditor.budget = identity.session.calls, identity.session.budget
    auditor.limiter = options.limiter
    auditor.limit_key = account_of(auditor_arn) or identity.principal.account
    return auditor, auditor_arn


Simulated = dict[RequestKey, SimulationResult]


def _run_batches(plan_: Mapping[str, tuple[AWSSession, str, Sequence[SimulationBatch]]], pool: Executor,
                 ) -> dict[str, Simulated | Exception]:
    """Every batch of every identity at once (in `pool`, the simulation threads); per identity its results, or the
    first failure of its batches."""
    calls = [(kind, partial(simulate_batch, session, source, batch))
             for kind, (session, source, batches) in plan_.items() for batch in batches]
    out: dict[str, Simulated | Exception] = {}
    for (kind, _), result in zip(calls, fan_out([call for _, call in calls], pool), strict=True):
        if isinstance(result, BaseException):
            if not isinstance(out.get(kind), Exception):
                out[kind] = result if isinstance(result, Exception) else RuntimeError(repr(result))
            continue
        found = out.setdefault(kind, {})
        if isinstance(found, dict):
            found.update(result)
    return out


def _simulate_all(identities: dict[str, _Identity], batches: Sequence[SimulationBatch], options: CheckOptions,
                  ) -> tuple[dict[RequestKey, SimulationResult], str, dict[str, str]] | Verdict:
    """Every identity's batches simulated, at once (wall time: the slowest batch, not the sum), each identity by
    itself — or by the auditor, when it may not simulate itself. The credential's own failing ends the check, a
    control-plane role's failing (not created yet, not permitted) leaves its questions undecided: returned as
    principal -> why.

    Who simulated each identity lately is remembered (SELF_RETRY): such an identity's batches all go at once to
    that simulator. One not simulated lately (new, a role not created yet, one that may not simulate itself) is
    asked one batch first, with the first batches of the others, and its other batches only if that worked: a
    missing role or a missing permission costs one request, not one per batch."""
    groups = {kind: [b for b in batches if b.principal == kind] for kind in identities}
    groups = {kind: mine for kind, mine in groups.items() if mine}
    outcomes: dict[str, tuple[Simulated, str] | Verdict] = {}
    done: dict[str, Simulated] = {}
    auditor_arns: dict[str, str] = {}
    first, rest = _first_requests(identities, groups, options, outcomes, auditor_arns)
    by_auditor: list[str] = []
    second: Requests = {}
    memory = options.auditor_cache
    for kind, result in _run_batches(first, options.aws.simulations).items():
        principal = identities[kind].principal
        if not isinstance(result, Exception):
            done[kind] = result
            if rest.get(kind):
                second[kind] = (first[kind][0], first[kind][1], rest[kind])
        elif kind in auditor_arns:
            outcomes[kind] = _auditor_failed(result, principal)
            memory.simulated(principal.policy_source_arn, None)
        elif error_code(result) not in ACCESS_DENIED:
            outcomes[kind] = _failure_verdict(describe(result, "iam:SimulatePrincipalPolicy"), principal)
            memory.simulated(principal.policy_source_arn, None)
        elif _auditor_for(kind, options) is None:
            outcomes[kind] = _not_permitted(principal)
            memory.simulated(principal.policy_source_arn, None)
        else:
            by_auditor.append(kind)
    for kind in by_auditor:
        session = _auditor_session(identities[kind], options)
        if isinstance(session, Verdict):
            outcomes[kind] = session
            continue
        auditor_arns[kind] = session[1]
        second[kind] = (session[0], identities[kind].principal.policy_source_arn, groups[kind])
    for kind, result in _run_batches(second, options.aws.simulations).items():
        principal = identities[kind].principal
        if isinstance(result, Exception):
            outcomes[kind] = (_auditor_failed(result, principal) if kind in auditor_arns else
                              _failure_verdict(describe(result, "iam:SimulatePrincipalPolicy"), principal))
            memory.simulated(principal.policy_source_arn, None)
            done.pop(kind, None)
        else:
            done.setdefault(kind, {}).update(result)
    for kind, result in done.items():
        simulator = second[kind][0] if kind in second else first[kind][0]
        outcomes[kind] = (result, auditor_arns.get(kind, "self"))
        memory.simulated(identities[kind].principal.policy_source_arn,
                         simulator.limit_key if kind in auditor_arns else SELF)
    return _assembled(groups, outcomes)


Requests = dict[str, tuple[AWSSession, str, Sequence[SimulationBatch]]]


def _auditor_for(kind: str, options: CheckOptions) -> Auditor | None:
    """The auditor may simulate the credential itself always, a control-plane role only with audit_roles."""
    return options.auditor if role_of(kind) is None or options.audit_roles else None


def _first_requests(identities: Mapping[str, _Identity], groups: Mapping[str, Sequence[SimulationBatch]],
                    options: CheckOptions, outcomes: dict[str, tuple[Simulated, str] | Verdict],
                    auditor_arns: dict[str, str]) -> tuple[Requests, dict[str, Sequence[SimulationBatch]]]:
    """What goes first: every batch of an identity whose simulator is known; one batch of any other (the rest)."""
    first: Requests = {}
    rest: dict[str, Sequence[SimulationBatch]] = {}
    for kind, mine in groups.items():
        source = identities[kind].principal.policy_source_arn
        known = options.auditor_cache.simulator_lately(source)
        if known is not None and known != SELF and _auditor_for(kind, options) is not None:
            session = _auditor_session(identities[kind], options)
            if isinstance(session, Verdict):
                outcomes[kind] = session
                continue
            auditor_arns[kind] = session[1]
            first[kind] = (session[0], source, mine)
        elif known == SELF:
            first[kind] = (identities[kind].session, source, mine)
        else:
            first[kind], rest[kind] = (identities[kind].session, source, mine[:1]), mine[1:]
    return first, rest


def _assembled(groups: Mapping[str, Sequence[SimulationBatch]], outcomes: Mapping[str, tuple[Simulated, str] | Verdict],
               ) -> tuple[dict[RequestKey, SimulationResult], str, dict[str, str]] | Verdict:
    results: dict[RequestKey, SimulationResult] = {}
    by: list[str] = []
    unasked: dict[str, str] = {}
    for kind in groups:
        outcome = outcomes[kind]
        if isinstance(outcome, Verdict):
            if role_of(kind) is None:
                return outcome
            unasked[kind] = (f"the control-plane role {role_of(kind)} could not be simulated ({outcome.reason}: "
                             f"{outcome.message[:300]}); what the cloud-controller-manager may do as that role is "
                             "neither missing nor verified")
            continue
        results.update(outcome[0])
        by.append(outcome[1])
    return results, ", ".join(dict.fromkeys(by)) or "self", unasked


def _undecided(requirements: Sequence[Requirement], unasked: Mapping[str, str]) -> list[Requirement]:
    return [replace(r, undecided_because=unasked[r.principal]) if r.principal in unasked else r
            for r in requirements]


def _summaries(profile: Profile, targets: Sequence[Target], region: str, trust: Mapping[str | None, str],
               trust_undecided: Mapping[str | None, str] | None = None) -> tuple[TargetSummary, ...]:
    out = []
    for target in targets:
        ccm = profile.cloud_controller(target)
        notes: list[str] = []
        if ccm is not None and ccm.assumed:
            notes.append(f"no Kubernetes version known: assumed {ccm.minor}, the newest KKP {profile.version} "
                         f"supports (cloud-controller-manager {ccm.ccm}, {ccm.mode} mode)")
        out.append(TargetSummary(target.cluster, target.region or region, ccm.minor if ccm else None,
                                 f"{ccm.mode} (CCM {ccm.ccm})" if ccm else None, tuple(notes),
                                 trust.get(target.cluster), (trust_undecided or {}).get(target.cluster)))
    return tuple(out)


def _requirements(profile: Profile, principal: Principal, targets: Sequence[Target], options: CheckOptions,
                  same_identity: bool) -> list[Requirement]:
    out: list[Requirement] = []
    for target in targets:
        out.extend(profile.requirements(principal.account, principal.partition, options.skip_features,
                                        target=target, region=options.region,
                                        include_on_request=options.include_recommended,
                                        keys_are_operating=same_identity))
    return out


def _assumes_role(profile: Profile, target: Target) -> bool:
    ccm = profile.cloud_controller(target)
    return ccm is not None and ccm.mode == "assume-role" and target.cluster is not None


def _profiles_to_read(targets: Sequence[Target]) -> set[str]:
    return {t.instance_profile for t in targets if t.instance_profile and t.instance_profile_role is None
            and t.instance_profile_unread is None}


def _read_instance_profiles(targets: Sequence[Target], operating: _Identity) -> tuple[Target, ...]:
    """Each instance profile a Cluster names, read once (iam:GetInstanceProfile, which KKP calls itself): the role
    inside it is what RunInstances passes, and its ownership tag says whether KKP manages the worker role. A profile
    that does not exist yet is created by KKP with its own worker role; one that can't be read leaves the PassRole
    question undecided, naming why."""
    read: dict[str, tuple[str | None, list[dict[str, str]] | None, str | None]] = {}
    for name in sorted(_profiles_to_read(targets)):
        try:
            found = operating.session.client("iam").get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
            roles = found.get("Roles") or []
            read[name] = (str(roles[0]["Arn"]) if roles else None, list(found.get("Tags") or []), None)
        except Exception as err:
            if error_code(err) == "NoSuchEntity":
                read[name] = (None, None, None)  # KKP creates it (instance_profile.go:113-118), with its worker role
            else:
                failure = describe(err, "iam:GetInstanceProfile")
                read[name] = (None, None, f"iam:GetInstanceProfile failed ({failure.reason})")
    out = []
    for t in targets:
        if t.instance_profile not in read:
            out.append(t)
            continue
        role, tags, why = read[t.instance_profile]
        if why is not None:
            out.append(replace(t, instance_profile_unread=why))
        elif tags is None:
            out.append(replace(t, instance_profile_owned=True))
        else:
            owned = ownership.owns(tags, t.cluster or "")  # KKP's hasIAMTag: the key with an empty value
            unread = None if role else f"instance profile {t.instance_profile} holds no role yet"
            out.append(replace(t, instance_profile_role=role, instance_profile_owned=owned,
                               instance_profile_unread=unread))
    return tuple(out)


def _read_trust(profiles: Sequence[Profile], targets: Sequence[Target], operating: _Identity,
                known: Mapping[str, Any] | None = None) -> tuple[dict[str, tuple[str, Any]], list[str]]:
    """Each control-plane role a CCM in assume-role mode will assume (under any of the profiles), read once:
    cluster -> (role ARN, trust policy); a role not created yet is left out (KKP creates it with the right trust).
    `known`: roles the ownership read already got, by name (None: it does not exist)."""
    documents: dict[str, tuple[str, Any]] = {}
    notes: list[str] = []
    for target in targets:
        if target.cluster is None or not any(_assumes_role(p, target) for p in profiles):
            continue
        values = variables(target, partition=operating.principal.partition, account=operating.principal.account,
                           region=target.region or "us-east-1")
        role_arn = values["controlPlaneRole"]
        if known is not None and (name := role_arn.rsplit("/", 1)[-1]) in known:
            if known[name] is not None:
                documents[target.cluster] = (role_arn, known[name].get("AssumeRolePolicyDocument", {}))
            continue
        try:
            role = operating.session.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
        except Exception as err:
            if error_code(err) != "NoSuchEntity":
                notes.append(f"could not read the trust policy of {role_arn} ({describe(err, 'iam:GetRole').reason})")
            continue
        documents[target.cluster] = (role_arn, role.get("AssumeRolePolicyDocument", {}))
    return documents, notes


def _organization(documents: Mapping[str, tuple[str, Any]], keys: AWSSession) -> str | None:
    """The keys' AWS Organization, read only when a trust policy conditions on aws:PrincipalOrgID (the common
    organisation guard): its ID, NO_ORGANIZATION for an account in none, None when it may not be read."""
    if not any("aws:principalorgid" in json.dumps(doc).lower() for _, doc in documents.values()):
        return None
    try:
        return str(keys.client("organizations").describe_organization()["Organization"]["Id"])
    except Exception as err:
        return NO_ORGANIZATION if error_code(err) == "AWSOrganizationsNotInUseException" else None


def _trust_problems(profile: Profile, targets: Sequence[Target], documents: Mapping[str, tuple[str, Any]],
                    keys: Principal, organization_id: str | None = None, *, source_ips: Sequence[str] = (),
                    ) -> tuple[dict[str | None, str], dict[str | None, str]]:
    """Clusters whose control-plane role's trust policy refuses the keys while their CCM must assume it; and the
    Clusters whose role's trust credcheck cannot decide (a condition on a key it cannot know): Unknown, naming the key.

    The request is the CCM's: sts:AssumeRole with the keys, no external ID, source identity, MFA or session tags,
    through the STS endpoint of the Cluster's region; organization_id: the keys' AWS Organization, None: unknown."""
    problems: dict[str | None, str] = {}
    undecided: dict[str | None, str] = {}
    for target in targets:
        if target.cluster is None or not _assumes_role(profile, target) or target.cluster not in documents:
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


@dataclass
class Prepared:
    """A check between its two halves: who the credential is and what to ask AWS, before any IAM call."""

    options: CheckOptions
    static: AWSSession  # the keys themselves
    session: AWSSession  # the identity KKP acts as
    principal: Principal
    keys: Principal
    targets: tuple[Target, ...]
    requirements: list[Requirement]
    upgrade_requirements: list[Requirement]
    batches: tuple[SimulationBatch, ...]
    findings: tuple[str, ...]

    def planned_calls(self) -> dict[str, int]:
        """The IAM calls the second half makes, per account called: the simulations — by the account that
        simulates each identity: its own, or the auditor's when the auditor simulated it lately — and the reads
        of the control-plane roles' trust and the Clusters' instance profiles (the identity KKP acts as)."""
        profiles = [p for p in (self.options.profile, self.options.target_profile) if p is not None]
        calls: Counter[str] = Counter()
        for batch in self.batches:
            who = self.keys if batch.principal == KEYS else self.principal
            source = role_of(batch.principal) or who.policy_source_arn
            audited = self.options.auditor is not None and self.options.auditor_cache.audited_lately(source)
            calls[audited or who.account] += 1
        owned = ownership.roles_to_read(self.targets)  # read once, for ownership and trust alike
        reads = (sum(1 for t in self.targets if any(_assumes_role(p, t) for p in profiles)
                     and t.control_plane_role not in owned)
                 + len(_profiles_to_read(self.targets)) + ownership.reads(self.targets, self.options.region))
        if reads:
            calls[self.principal.account] += reads
        credential = self.static.credential
        if keyreads := hygiene.key_calls(self.options.key_facts, credential.access_key_id if credential else None):
            calls[self.keys.account] += keyreads
        return dict(calls)

    @property
    def iam_calls(self) -> int:
        """The IAM calls the second half makes, in all."""
        return sum(self.planned_calls().values())

    def reserve(self, limiter: RateLimiter) -> float:
        """Reserve each called account's budget for the IAM calls (0.0), or the seconds to wait before trying
        again (nothing is taken then)."""
        calls = self.planned_calls()
        wait = limiter.reserve_all(calls)
        if wait == 0:
            self.static.budget.reserve(calls)
        return wait


def prepare_check(credential: Credential, options: CheckOptions) -> Prepared | Verdict:
    """The first half: sessions, principals (STS and one GetRole: not the IAM budget) and the plan.

    STS and IAM are asked in the partition of what is checked (the Clusters' regions; the check's region without
    one), in its home Region: never an opt-in Region, and a key of that partition is known there."""
    scope = principals.Scope.of(options.targets, options.region)
    factory = options.aws.static_session
    static = factory(credential, scope.region, options.retry, options.limiter)
    probe = principals.prober(factory, static.calls)
    keys_principal: Principal | None = None
    operating_session = static
    try:
        if options.assume_role is not None:
            keys_principal = principals.resolve(static)
            assumed = _assume(static, options.assume_role)
            if isinstance(assumed, Verdict):
                return replace(assumed, aws_calls=dict(static.calls))
            operating_session = assumed
        principal = principals.resolve(operating_session)
    except Exception as err:
        # the keys' own GetCallerIdentity: a rejection is judged after asking the other partitions (WrongPartition)
        failure = (principals.rejected(err, credential, scope, probe) if operating_session is static
                   else describe(err, "sts:GetCallerIdentity", scope.region))
        return replace(_failure_verdict(failure, None), aws_calls=dict(static.calls))
    session = operating_session
    session.limit_key = principal.account  # every call spends the budget of the account it calls
    static.limit_key = (keys_principal or principal).account
    findings = principal.notes
    if credential.access_key_id.startswith("ASIA") and credential.session_token is None:
        findings += ("the access key is temporary (ASIA…) yet no session token is stored",)
    if principal.kind == "root":
        return replace(_unknown("RootCredentials",
                                "these are the AWS account's root keys: they may do anything SCPs allow, which "
                                "nothing can simulate. Give KKP an IAM user or role with the KKP policy instead",
                                principal), findings=findings, aws_calls=dict(session.calls))
    if principal.kind not in ("user", "assumed-role"):
        return replace(_unknown("PrincipalNotSimulatable",
                                f"a {principal.kind} principal cannot be simulated; use an IAM user or role",
                                principal), findings=findings, aws_calls=dict(session.calls))
    problem, notes = principals.out_of_scope(session, principal, scope, probe)  # MixedPartitions, RegionNotEnabled
    findings += notes
    if problem is not None:
        return replace(_failure_verdict(problem, principal), findings=findings, aws_calls=dict(session.calls))
    same_identity = keys_principal is None
    role_arn = options.assume_role.role_arn if options.assume_role else None
    targets = tuple(replace(t, assume_role_arn=role_arn) for t in (options.targets or (Target(),)))
    requirements = _requirements(options.profile, principal, targets, options, same_identity)
    upgrade_reqs = (_requirements(options.target_profile, principal, targets, options, same_identity)
                    if options.target_profile else [])
    asked = hygiene.questions(options.excess_permissions, principal)
    batches = plan(requirements + upgrade_reqs + asked)
    if len(batches) > MAX_SIMULATIONS:  # a per-check cap (issue 33): nothing is sent
        return replace(_unknown("TooManySimulations", f"this check would make {len(batches)} SimulatePrincipalPolicy "
                                f"calls, more than {MAX_SIMULATIONS}: split its Clusters over checks of their own",
                                principal), findings=findings, aws_calls=dict(session.calls))
    return Prepared(options, static, session, principal, keys_principal or principal, targets, requirements,
                    upgrade_reqs, batches, findings)


def rate_limited(prepared: Prepared, wait: float) -> Verdict:
    return replace(_unknown("RateLimited", f"the account's AWS call budget (--aws-calls-per-second) is spent: "
                            f"checking again in {wait:.1f} s", prepared.principal),
                   findings=prepared.findings, aws_calls=dict(prepared.session.calls), retry_after=wait)


def finish_check(prepared: Prepared) -> Verdict:
    """The second half: the simulations, the trust reads, and the verdicts (current and upgrade)."""
    p, options = prepared, prepared.options
    operating = _Identity(p.principal, p.session)
    roles_read: dict[str, Any] = {}
    if _profiles_to_read(p.targets) or ownership.reads(p.targets, options.region):
        targets = ownership.read_ownership(_read_instance_profiles(p.targets, operating), p.session, options.region,
                                           roles_read)
        same_identity = p.keys is p.principal
        requirements = _requirements(options.profile, p.principal, targets, options, same_identity)
        upgrade = (_requirements(options.target_profile, p.principal, targets, options, same_identity)
                   if options.target_profile else [])
        p = replace(p, targets=targets, requirements=requirements, upgrade_requirements=upgrade,
                    batches=plan(requirements + upgrade + hygiene.questions(options.excess_permissions, p.principal)))
    identities = {OPERATING: operating}
    if p.keys is not p.principal:
        identities[KEYS] = _Identity(p.keys, p.static)
    for kind in dict.fromkeys(b.principal for b in p.batches if role_of(b.principal)):
        arn = str(role_of(kind))  # the control-plane role, simulated by the identity KKP acts as (or the auditor)
        identities[kind] = _Identity(replace(p.principal, caller_arn=arn, policy_source_arn=arn, kind="role",
                                             notes=()), operating.session)
    outcome = _simulate_all(identities, p.batches, options)
    if isinstance(outcome, Verdict):
        return replace(outcome, findings=p.findings, aws_calls=dict(p.session.calls),
                       spent=p.session.budget.spent())
    simulated, simulated_by, unasked = outcome
    if unasked:  # a control-plane role that could not be simulated: its questions are undecided, saying why
        p = replace(p, requirements=_undecided(p.requirements, unasked),
                    upgrade_requirements=_undecided(p.upgrade_requirements, unasked),
                    findings=p.findings + tuple(sorted(set(unasked.values()))))
    profiles = [x for x in (options.profile, options.target_profile) if x is not None]
    documents, trust_notes = _read_trust(profiles, p.targets, operating, roles_read)
    organization = _organization(documents, p.static)
    trust, trust_undecided = _trust_problems(options.profile, p.targets, documents, p.keys, organization,
                                             source_ips=options.seed_egress)
    findings = (p.findings + tuple(trust_notes) + role_name_findings(options.profile, p.targets)
                + topology_findings(options.profile, p.targets, p.requirements, simulated))
    # a missing simulation result (MissingSimulationResult) propagates: the caller reports CheckFailed with its trace
    verdict = decide(p.principal, p.requirements, simulated, findings,
                     targets=_summaries(options.profile, p.targets, options.region, trust, trust_undecided),
                     profile_version=options.profile.version)
    if options.target_profile is not None:
        up_trust, up_undecided = _trust_problems(options.target_profile, p.targets, documents, p.keys, organization,
                                                 source_ips=options.seed_egress)
        verdict = replace(verdict, upgrade=decide(
            p.principal, p.upgrade_requirements, simulated,
            topology_findings(options.target_profile, p.targets, p.upgrade_requirements, simulated),
            targets=_summaries(options.target_profile, p.targets, options.region, up_trust, up_undecided),
            profile_version=options.target_profile.version))
    verdict = hygiene.attach(verdict, asked=hygiene.questions(options.excess_permissions, p.principal),
                             simulated=simulated, requirements=p.requirements, reader=options.key_facts,
                             keys=p.static, keys_principal=p.keys, auditor=_key_auditor(p))
    if options.denial_reader is not None:
        verdict = _observe(verdict, p, options.denial_reader)
    return replace(verdict, aws_calls=dict(p.session.calls), simulated_by=simulated_by,
                   spent=p.session.budget.spent())


def _key_auditor(p: Prepared) -> Callable[[], tuple[AWSSession, str]] | None:
    """The auditor's session for the keys' account, for reading key facts the keys may not read themselves."""
    if p.options.auditor is None:
        return None

    def session() -> tuple[AWSSession, str]:
        found = _auditor_session(_Identity(p.keys, p.static), p.options)
        if isinstance(found, Verdict):
            raise RuntimeError(f"{found.reason}: {found.message}")
        return found

    return session


def _observe(verdict: Verdict, p: Prepared, denial_reader: DenialReader) -> Verdict:
    """What AWS refused the keys (and the Clusters' control-plane roles) in CloudTrail, read with the keys or the
    auditor, in the Clusters' regions and the partition's home region (IAM and STS events)."""
    sessions = [p.static]
    if p.options.auditor is not None:
        try:
            sessions.append(_auditor_of(p.options, p.principal, p.static.region)[0])
        except Exception as err:
            why = f"what AWS refused was not read: the auditor failed ({describe(err, 'auditor').reason})"
            return replace(verdict, findings=(*verdict.findings, why))
    credential = p.static.credential
    if credential is None:
        return verdict
    regions = {t.region or p.options.region for t in p.targets} | {p.static.region}
    roles = sorted({str(role_of(r.requirement.principal)) for r in verdict.results
                    if role_of(r.requirement.principal)}) if p.options.audit_roles else []
    clusters = sorted({t.region or p.options.region for t in p.targets})
    observed = denial_reader.observe(sessions, p.principal.account, credential.access_key_id, sorted(regions),
                                role_arns=roles, role_regions=clusters)
    return replace(verdict, observed_denials=observed,
                   findings=verdict.findings + disagreements(observed, verdict.results))


def run_check(credential: Credential, options: CheckOptions) -> Verdict:
    """One check in one go (the CLI's); over the account's budget it answers RateLimited instead of waiting."""
    prepared = prepare_check(credential, options)
    if isinstance(prepared, Verdict):
        return prepared
    if options.limiter is not None and (wait := prepared.reserve(options.limiter)) > 0:
        return rate_limited(prepared, wait)
    return finish_check(prepared)
