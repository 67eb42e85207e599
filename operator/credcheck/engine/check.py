"""One check end to end: a credential in, a Verdict out, in two halves (prepare_check: who the credential is and
what to ask; finish_check: the IAM calls and the verdicts) or in one go (run_check). The jobs it orchestrates live
in their own modules: the options (engine/options.py), the simulation strategy (engine/simulation.py), the auditor
(engine/auditing.py), the AWS reads (engine/aws/), the trust decision (engine/trust.py) and the verdict
(engine/verdict.py). AWS is reached through what the caller built once and hands over in CheckOptions: its
AWSClients (clients, endpoint policy, simulation threads) and its AuditorCache."""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from credcheck.engine import hygiene
from credcheck.engine.auditing import Identity, key_auditor
from credcheck.engine.aws import ownership
from credcheck.engine.aws import principal as principals
from credcheck.engine.aws.errors import describe
from credcheck.engine.aws.instance_profiles import profiles_to_read, read_instance_profiles
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSSession, assume_role
from credcheck.engine.aws.trust_policies import read_organization, read_trust
from credcheck.engine.batches import MAX_SIMULATIONS, SimulationBatch, plan
from credcheck.engine.cloud_config import role_name_findings
from credcheck.engine.model import (
    KEYS,
    OPERATING,
    AssumeRole,
    Credential,
    Principal,
    Requirement,
    Status,
    Verdict,
    role_of,
)
from credcheck.engine.observation import observe
from credcheck.engine.options import Auditor, CheckOptions, check_options
from credcheck.engine.outcomes import check_failed, failure_verdict, unknown
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.simulation import simulate_all, undecided
from credcheck.engine.target import Target
from credcheck.engine.topology import topology_findings
from credcheck.engine.trust import assumes_role, trust_problems
from credcheck.engine.verdict import TargetSummary, decide

# the engine's one door for a check: its options come with it
__all__ = ["Auditor", "CheckOptions", "Prepared", "check_failed", "check_options", "finish_check", "prepare_check",
           "rate_limited", "run_check"]


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
    return unknown(failure.reason, failure.message)


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
        reads = (sum(1 for t in self.targets if any(assumes_role(p, t) for p in profiles)
                     and t.control_plane_role not in owned)
                 + len(profiles_to_read(self.targets)) + ownership.reads(self.targets, self.options.region))
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
        return replace(failure_verdict(failure, None), aws_calls=dict(static.calls))
    session = operating_session
    session.limit_key = principal.account  # every call spends the budget of the account it calls
    static.limit_key = (keys_principal or principal).account
    findings = principal.notes
    if credential.access_key_id.startswith("ASIA") and credential.session_token is None:
        findings += ("the access key is temporary (ASIA…) yet no session token is stored",)
    if principal.kind == "root":
        return replace(unknown("RootCredentials",
                               "these are the AWS account's root keys: they may do anything SCPs allow, which "
                               "nothing can simulate. Give KKP an IAM user or role with the KKP policy instead",
                               principal), findings=findings, aws_calls=dict(session.calls))
    if principal.kind not in ("user", "assumed-role"):
        return replace(unknown("PrincipalNotSimulatable",
                               f"a {principal.kind} principal cannot be simulated; use an IAM user or role",
                               principal), findings=findings, aws_calls=dict(session.calls))
    problem, notes = principals.out_of_scope(session, principal, scope, probe)  # MixedPartitions, RegionNotEnabled
    findings += notes
    if problem is not None:
        return replace(failure_verdict(problem, principal), findings=findings, aws_calls=dict(session.calls))
    same_identity = keys_principal is None
    role_arn = options.assume_role.role_arn if options.assume_role else None
    targets = tuple(replace(t, assume_role_arn=role_arn) for t in (options.targets or (Target(),)))
    requirements = _requirements(options.profile, principal, targets, options, same_identity)
    upgrade_reqs = (_requirements(options.target_profile, principal, targets, options, same_identity)
                    if options.target_profile else [])
    asked = hygiene.questions(options.excess_permissions, principal)
    batches = plan(requirements + upgrade_reqs + asked)
    if len(batches) > MAX_SIMULATIONS:  # a per-check cap (issue 33): nothing is sent
        return replace(unknown("TooManySimulations", f"this check would make {len(batches)} SimulatePrincipalPolicy "
                               f"calls, more than {MAX_SIMULATIONS}: split its Clusters over checks of their own",
                               principal), findings=findings, aws_calls=dict(session.calls))
    return Prepared(options, static, session, principal, keys_principal or principal, targets, requirements,
                    upgrade_reqs, batches, findings)


def rate_limited(prepared: Prepared, wait: float) -> Verdict:
    return replace(unknown("RateLimited", f"the account's AWS call budget (--aws-calls-per-second) is spent: "
                           f"checking again in {wait:.1f} s", prepared.principal),
                   findings=prepared.findings, aws_calls=dict(prepared.session.calls), retry_after=wait)


def finish_check(prepared: Prepared) -> Verdict:
    """The second half: the simulations, the trust reads, and the verdicts (current and upgrade)."""
    p, options = prepared, prepared.options
    operating = Identity(p.principal, p.session)
    roles_read: dict[str, Any] = {}
    if profiles_to_read(p.targets) or ownership.reads(p.targets, options.region):
        targets = ownership.read_ownership(read_instance_profiles(p.targets, p.session), p.session, options.region,
                                           roles_read)
        same_identity = p.keys is p.principal
        requirements = _requirements(options.profile, p.principal, targets, options, same_identity)
        upgrade = (_requirements(options.target_profile, p.principal, targets, options, same_identity)
                   if options.target_profile else [])
        p = replace(p, targets=targets, requirements=requirements, upgrade_requirements=upgrade,
                    batches=plan(requirements + upgrade + hygiene.questions(options.excess_permissions, p.principal)))
    identities = {OPERATING: operating}
    if p.keys is not p.principal:
        identities[KEYS] = Identity(p.keys, p.static)
    for kind in dict.fromkeys(b.principal for b in p.batches if role_of(b.principal)):
        arn = str(role_of(kind))  # the control-plane role, simulated by the identity KKP acts as (or the auditor)
        identities[kind] = Identity(replace(p.principal, caller_arn=arn, policy_source_arn=arn, kind="role",
                                            notes=()), operating.session)
    outcome = simulate_all(identities, p.batches, options)
    if isinstance(outcome, Verdict):
        return replace(outcome, findings=p.findings, aws_calls=dict(p.session.calls),
                       spent=p.session.budget.spent())
    simulated, simulated_by, unasked = outcome
    if unasked:  # a control-plane role that could not be simulated: its questions are undecided, saying why
        p = replace(p, requirements=undecided(p.requirements, unasked),
                    upgrade_requirements=undecided(p.upgrade_requirements, unasked),
                    findings=p.findings + tuple(sorted(set(unasked.values()))))
    profiles = [x for x in (options.profile, options.target_profile) if x is not None]
    documents, trust_notes = read_trust(profiles, p.targets, p.session, p.principal, roles_read)
    organization = read_organization(documents, p.static)
    trust, trust_undecided = trust_problems(options.profile, p.targets, documents, p.keys, organization,
                                            source_ips=options.seed_egress)
    findings = (p.findings + tuple(trust_notes) + role_name_findings(options.profile, p.targets)
                + topology_findings(options.profile, p.targets, p.requirements, simulated))
    # a missing simulation result (MissingSimulationResult) propagates: the caller reports CheckFailed with its trace
    verdict = decide(p.principal, p.requirements, simulated, findings,
                     targets=_summaries(options.profile, p.targets, options.region, trust, trust_undecided),
                     profile_version=options.profile.version)
    if options.target_profile is not None:
        up_trust, up_undecided = trust_problems(options.target_profile, p.targets, documents, p.keys, organization,
                                                source_ips=options.seed_egress)
        verdict = replace(verdict, upgrade=decide(
            p.principal, p.upgrade_requirements, simulated,
            topology_findings(options.target_profile, p.targets, p.upgrade_requirements, simulated),
            targets=_summaries(options.target_profile, p.targets, options.region, up_trust, up_undecided),
            profile_version=options.target_profile.version))
    verdict = hygiene.attach(verdict, asked=hygiene.questions(options.excess_permissions, p.principal),
                             simulated=simulated, requirements=p.requirements, reader=options.key_facts,
                             keys=p.static, keys_principal=p.keys,
                             auditor=key_auditor(Identity(p.keys, p.static), options))
    if options.denial_reader is not None:
        verdict = observe(verdict, options.denial_reader, keys=p.static, principal=p.principal, targets=p.targets,
                          options=options)
    return replace(verdict, aws_calls=dict(p.session.calls), simulated_by=simulated_by,
                   spent=p.session.budget.spent())


def run_check(credential: Credential, options: CheckOptions) -> Verdict:
    """One check in one go (the CLI's); over the account's budget it answers RateLimited instead of waiting."""
    prepared = prepare_check(credential, options)
    if isinstance(prepared, Verdict):
        return prepared
    if options.limiter is not None and (wait := prepared.reserve(options.limiter)) > 0:
        return rate_limited(prepared, wait)
    return finish_check(prepared)
