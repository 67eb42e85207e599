"""One check end to end: a credential in, a Verdict out. AWS is reached through injected session builders."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from credcheck.aws import principal as principals
from credcheck.aws.errors import ACCESS_DENIED, AWSFailure, describe, error_code
from credcheck.aws.ratelimit import RateLimiter
from credcheck.aws.session import AWSSession, RetryPolicy, ambient_session, assume_role, static_session
from credcheck.aws.simulator import simulate
from credcheck.iam.arn import template
from credcheck.model import AssumeRole, Credential, Principal, SimulationResult, Status, Verdict
from credcheck.plan import SimulationBatch, plan
from credcheck.requirements.profiles import Profile
from credcheck.verdict import decide

SIMULATE_STATEMENT = ('{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", '
                      '"Resource": "%s"}')


@dataclass(frozen=True)
class Auditor:
    """A separate identity that simulates when a credential may not simulate itself."""

    profile: str | None = None  # boto3 profile; None: the default chain (environment, instance role)
    role_arn: str | None = None  # e.g. arn:{partition}:iam::{account}:role/credcheck-auditor, assumed per account

    def session(self, principal: Principal, region: str, retry: RetryPolicy) -> AWSSession:
        base = ambient_session(region, self.profile, retry)
        if self.role_arn:
            arn = template(self.role_arn, account=principal.account, partition=principal.partition)
            return assume_role(base, AssumeRole(arn), session_name="credcheck-auditor")
        return base


@dataclass(frozen=True)
class CheckOptions:
    profile: Profile
    region: str = "us-east-1"
    assume_role: AssumeRole | None = None
    skip_features: tuple[str, ...] = ()
    auditor: Auditor | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None  # shared by every check: a cap on calls per second per account


SessionFactory = Callable[[Credential, str, RetryPolicy, RateLimiter | None], AWSSession]


def _unknown(reason: str, message: str, principal: Principal | None = None) -> Verdict:
    return Verdict(Status.UNKNOWN, reason, message, principal)


def _connect(credential: Credential, options: CheckOptions, factory: SessionFactory) -> AWSSession | Verdict:
    session = factory(credential, options.region, options.retry, options.limiter)
    if options.assume_role is None:
        return session
    try:
        return assume_role(session, options.assume_role)
    except Exception as err:
        failure = describe(err, "sts:AssumeRole")
    if failure.reason in ("InvalidCredentials", "ExpiredToken"):
        return Verdict(Status.INVALID, failure.reason, failure.message)
    if failure.reason == "AccessDenied":
        return Verdict(Status.INVALID, "AssumeRoleFailed",
                       f"could not assume {options.assume_role.role_arn}: denied. Check the role's trust policy "
                       "names this credential's principal and that the external ID matches (a wrong or missing "
                       "external ID is denied)")
    return _unknown(failure.reason, failure.message)


def _failure_verdict(failure: AWSFailure, principal: Principal | None) -> Verdict:
    if failure.reason in ("InvalidCredentials", "ExpiredToken"):
        return Verdict(Status.INVALID, failure.reason, failure.message, principal)
    return _unknown(failure.reason, failure.message, principal)


def _simulate_with_fallback(session: AWSSession, principal: Principal, options: CheckOptions,
                            batches: tuple[SimulationBatch, ...],
                            ) -> tuple[dict[tuple[str, str], SimulationResult], str] | Verdict:
    try:
        return simulate(session, principal.policy_source_arn, batches), "self"
    except Exception as err:
        if error_code(err) not in ACCESS_DENIED:
            return _failure_verdict(describe(err, "iam:SimulatePrincipalPolicy"), principal)
    if options.auditor is None:
        return _unknown("SimulationNotPermitted",
                        f"{principal.caller_arn} may not call iam:SimulatePrincipalPolicy on itself, and no auditor "
                        "is configured; nothing was verified. Add this statement to the credential's policy: "
                        + SIMULATE_STATEMENT % principal.policy_source_arn
                        + " — or configure an auditor identity", principal)
    try:
        auditor = options.auditor.session(principal, options.region, options.retry)
        auditor.calls, auditor.limiter, auditor.limit_key = session.calls, options.limiter, principal.account
        results = simulate(auditor, principal.policy_source_arn, batches)
        auditor_arn = auditor.client("sts").get_caller_identity()["Arn"]
        return results, str(auditor_arn)
    except Exception as err:
        failure = describe(err, "simulation by the auditor identity")
        return _unknown("AuditorFailed" if failure.reason == "AccessDenied" else failure.reason,
                        failure.message + "; nothing was verified", principal)


def run_check(credential: Credential, options: CheckOptions, factory: SessionFactory = static_session) -> Verdict:
    connected = _connect(credential, options, factory)
    if isinstance(connected, Verdict):
        return connected
    session = connected
    try:
        principal = principals.resolve(session)
    except Exception as err:
        return replace(_failure_verdict(describe(err, "sts:GetCallerIdentity"), None), aws_calls=dict(session.calls))
    session.limit_key = principal.account
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
    requirements = options.profile.requirements(principal.account, principal.partition, options.skip_features)
    batches = plan(requirements, options.region)
    outcome = _simulate_with_fallback(session, principal, options, batches)
    if isinstance(outcome, Verdict):
        return replace(outcome, findings=findings, aws_calls=dict(session.calls))
    simulated, simulated_by = outcome
    verdict = decide(principal, requirements, simulated, findings)
    return replace(verdict, aws_calls=dict(session.calls), simulated_by=simulated_by)
