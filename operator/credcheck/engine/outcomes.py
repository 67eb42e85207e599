"""The verdicts of a check that ends without its questions answered: an unknown, AWS's refusal, a failed check."""

from credcheck.engine.aws.errors import AWSFailure, sanitize
from credcheck.engine.model import Principal, Status, Verdict


def unknown(reason: str, message: str, principal: Principal | None = None) -> Verdict:
    return Verdict(Status.UNKNOWN, reason, message, principal)


def check_failed(err: Exception) -> Verdict:
    """Ready=Unknown, reason CheckFailed: the error's type and a sanitised message; retried with backoff."""
    return Verdict(Status.UNKNOWN, "CheckFailed", f"{type(err).__name__}: {sanitize(str(err), 400)}; the check "
                   "failed before a verdict and is retried with backoff (the operator's log has the traceback)")


def failure_verdict(failure: AWSFailure, principal: Principal | None) -> Verdict:
    """Invalid for keys AWS rejects (InvalidCredentials, ExpiredToken), Unknown for any other failure."""
    if failure.reason in ("InvalidCredentials", "ExpiredToken"):
        return Verdict(Status.INVALID, failure.reason, failure.message, principal)
    return unknown(failure.reason, failure.message, principal)
