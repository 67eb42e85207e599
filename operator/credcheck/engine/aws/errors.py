"""AWS errors turned into condition reasons, with messages that carry no request ids or key material."""

import re
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

INVALID_CREDENTIALS = {"InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "UnrecognizedClientException",
                       "InvalidAccessKeyId", "IncompleteSignature"}
EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
THROTTLED = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
             "RequestThrottled", "SlowDown"}
ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}
# STS does not know the key id. AWS answers the same for a key of another partition and, at the STS endpoint of an
# opt-in Region the account has not enabled, for any of the account's keys: it only means "not known here".
KEY_NOT_KNOWN_HERE = {"InvalidClientTokenId"}
# STS deactivated in the Region asked, for the account whose credentials are requested (IAM User Guide, "Manage AWS
# STS in an AWS Region")
REGION_DISABLED = {"RegionDisabledException"}

_SCRUB = (
    (re.compile(r"Credential=[^,\s]+"), "Credential=(hidden)"),
    (re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|AGPA)[A-Z0-9]{12,}\b"), "(hidden)"),
    (re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"), "(hidden)"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "(request id)"),
    (re.compile(r"(?i)(request ?id:?\s*)[A-Za-z0-9/+=-]{16,}"), r"\1(request id)"),
    (re.compile(r"(?i)(signature|token)[=:]\s*[^\s,]+"), r"\1=(hidden)"),
    (re.compile(r"(?i)encoded authorization failure message:\s*\S+"),
     "encoded authorization failure message: (omitted)"),
)


def sanitize(message: str, limit: int = 300) -> str:
    """Strip request ids, Credential= fragments, key ids, 40-character secrets and tokens; shorten."""
    for pattern, replacement in _SCRUB:
        message = pattern.sub(replacement, message)
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"


@dataclass(frozen=True)
class AWSFailure(Exception):
    """An AWS call that failed, reduced to a reason and a sanitised message."""

    reason: str
    message: str
    code: str = ""

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def error_code(err: Exception) -> str:
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


def describe(err: Exception, during: str, region: str | None = None) -> AWSFailure:
    """The reason (CamelCase) and a safe message for an exception raised while doing `during` (in `region`)."""
    if isinstance(err, ClientError):
        code = error_code(err)
        text = sanitize(str(err.response.get("Error", {}).get("Message", "")))
        if code in REGION_DISABLED:
            where = f"in {region}" if region else "in the Region asked"
            return AWSFailure("RegionNotEnabled", f"AWS STS is not active {where} for the account whose credentials "
                              f"{during} requests ({code}); the key was not judged. Activate STS in that Region "
                              "(IAM console: Account settings, Security Token Service endpoints)", code)
        if code in INVALID_CREDENTIALS:
            return AWSFailure("InvalidCredentials", f"AWS rejected the access key during {during} ({code}): the "
                              "key id is unknown or the secret is wrong; update the Secret with a valid key pair",
                              code)
        if code in EXPIRED:
            return AWSFailure("ExpiredToken", f"the credential has expired ({code}) during {during}; "
                              "store long-lived IAM user keys, not session credentials", code)
        if code in THROTTLED:
            return AWSFailure("Throttled", f"AWS throttled {during} ({code}) after retries; "
                              "the check will be retried", code)
        if code in ACCESS_DENIED:
            return AWSFailure("AccessDenied", f"{during} was denied ({code}): {text}", code)
        return AWSFailure("AWSError", f"{during} failed ({code}): {text}", code)
    if isinstance(err, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError):
        return AWSFailure("AWSUnreachable", f"could not reach AWS during {during} ({type(err).__name__}); "
                          "check network access from the seed to the AWS endpoints")
    if isinstance(err, NoCredentialsError):
        return AWSFailure("MalformedCredential", f"no credential available for {during}")
    if isinstance(err, BotoCoreError):
        return AWSFailure("AWSError", f"{during} failed ({type(err).__name__}): {sanitize(str(err))}")
    raise err
