"""Who simulates an identity that may not simulate itself: the auditor identity of CheckOptions, chosen per
identity (always for the credential, for a control-plane role only with audit_roles), its session in the account it
audits, and the verdict when it fails (AWS's words go to the log, never into a status)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from credcheck.engine.aws.auditor import AuditorUnavailable
from credcheck.engine.aws.errors import describe
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.model import Principal, Verdict, role_of
from credcheck.engine.options import Auditor, CheckOptions
from credcheck.engine.outcomes import unknown

LOG = logging.getLogger("credcheck.engine.auditing")


def account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


@dataclass(frozen=True)
class Identity:
    """One identity whose policies are simulated: the keys themselves, or the role KKP acts as."""

    principal: Principal
    session: AWSSession


def auditor_for(kind: str, options: CheckOptions) -> Auditor | None:
    """The auditor may simulate the credential itself always, a control-plane role only with audit_roles."""
    return options.auditor if role_of(kind) is None or options.audit_roles else None


def auditor_failed(err: Exception, principal: Principal) -> Verdict:
    """AWS's text names credcheck's own identity (its user, its role, the account it assumes into): it goes to the
    operator's log, never into the status of a check that anyone may write (issue 33)."""
    failure = (err.failure if isinstance(err, AuditorUnavailable)
               else describe(err, "simulation by the auditor identity"))
    LOG.warning("the auditor identity failed for %s: %s", principal.caller_arn, failure.message)
    return unknown("AuditorFailed" if failure.reason == "AccessDenied" else failure.reason,
                   f"the auditor identity could not simulate this credential ({failure.code or failure.reason}); "
                   "what AWS said is in credcheck's log, for its administrators; nothing was verified", principal)


def auditor_of(options: CheckOptions, principal: Principal, region: str) -> tuple[AWSSession, str]:
    """The auditor's session for the principal's account, and its ARN: remembered by the check's AuditorCache."""
    assert options.auditor is not None
    return options.auditor_cache.session(options.aws, options.auditor.aws_profile, options.auditor.role_for(principal),
                                         region, options.retry)


def auditor_session(identity: Identity, options: CheckOptions) -> tuple[AWSSession, str] | Verdict:
    """The auditor's session for this identity's account, spending the budget of the account it calls: the
    auditor's own (one auditor for many tenant accounts spends one account's budget), counted with the check."""
    assert options.auditor is not None
    try:
        auditor, auditor_arn = auditor_of(options, identity.principal, identity.session.region)
    except Exception as err:
        return auditor_failed(err, identity.principal)
    auditor.calls, auditor.budget = identity.session.calls, identity.session.budget
    auditor.limiter = options.limiter
    auditor.limit_key = account_of(auditor_arn) or identity.principal.account
    return auditor, auditor_arn


def key_auditor(keys: Identity, options: CheckOptions) -> Callable[[], tuple[AWSSession, str]] | None:
    """The auditor's session for the keys' account, for reading key facts the keys may not read themselves."""
    if options.auditor is None:
        return None

    def session() -> tuple[AWSSession, str]:
        found = auditor_session(keys, options)
        if isinstance(found, Verdict):
            raise RuntimeError(f"{found.reason}: {found.message}")
        return found

    return session
