"""The domain's values, frozen: what a check reads, plans, learns and concludes."""

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Severity(StrEnum):
    REQUIRED = "required"
    RECOMMENDED = "recommended"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "implicitDeny"
    EXPLICIT_DENY = "explicitDeny"
    DENIED_BY_SCP = "deniedBySCP"
    DENIED_BY_BOUNDARY = "deniedByPermissionsBoundary"
    MISSING_CONTEXT = "missingContext"


class Status(StrEnum):
    SUFFICIENT = "Sufficient"
    INSUFFICIENT = "Insufficient"
    UNKNOWN = "Unknown"
    INVALID = "Invalid"  # the credential itself is malformed, rejected or cannot assume its role
    MISCONFIGURED = "Misconfigured"  # the check's own settings are wrong (unknown profile, missing source)


def mask_key_id(access_key_id: str) -> str:
    """`AKIA************ABCD`, as AWS's console shows key ids: type prefix and last four only."""
    if len(access_key_id) < 12:
        return "*" * len(access_key_id)
    return access_key_id[:4] + "*" * (len(access_key_id) - 8) + access_key_id[-4:]


@dataclass(frozen=True)
class AssumeRole:
    role_arn: str
    external_id: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Credential:
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def masked_key_id(self) -> str:
        return mask_key_id(self.access_key_id)

    def __repr__(self) -> str:
        return f"Credential({self.masked_key_id})"

    def fingerprint(self, *parts: str) -> str:
        """A stable id of this credential plus settings (role, profile, region); reveals no key material."""
        digest = hashlib.sha256()
        for part in (self.access_key_id, self.secret_access_key, self.session_token or "", *parts):
            digest.update(part.encode("utf-8", "surrogateescape"))
            digest.update(b"\0")
        return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Principal:
    caller_arn: str  # what sts:GetCallerIdentity says
    policy_source_arn: str  # the user or role whose policies are simulated
    account: str
    partition: str
    kind: str  # user | assumed-role | root | federated-user
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Requirement:
    action: str
    resource: str  # the profile's resource pattern, templated for the account
    severity: Severity
    features: tuple[str, ...]
    source_pattern: str  # the action pattern in the profile this came from, e.g. "ec2:*"


@dataclass(frozen=True)
class SimulationResult:
    action: str
    resource: str
    decision: str  # AWS's EvalDecision
    matched_statements: tuple[str, ...] = ()
    missing_context: tuple[str, ...] = ()
    allowed_by_boundary: bool | None = None
    allowed_by_organizations: bool | None = None


@dataclass(frozen=True)
class ActionResult:
    requirement: Requirement
    outcome: Outcome
    matched_statements: tuple[str, ...] = ()
    missing_context: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


@dataclass(frozen=True)
class Tally:
    checked: int
    allowed: int
    missing_required: int
    missing_recommended: int


def missing_first(results: tuple[ActionResult, ...]) -> list[ActionResult]:
    """The actions not allowed, required ones first, then by name: the order a status lists them in."""
    return sorted((r for r in results if not r.allowed),
                  key=lambda r: (r.requirement.severity is not Severity.REQUIRED, r.requirement.action))


@dataclass(frozen=True)
class Verdict:
    status: Status
    reason: str  # CamelCase, as Kubernetes conditions use
    message: str
    principal: Principal | None = None
    results: tuple[ActionResult, ...] = ()
    broken_features: dict[str, tuple[str, ...]] = field(default_factory=dict)
    remediation: dict[str, object] | None = None
    blockers: tuple[str, ...] = ()  # what an Allow cannot fix: explicit denies, SCPs, boundaries
    findings: tuple[str, ...] = ()
    aws_calls: dict[str, int] = field(default_factory=dict)
    simulated_by: str | None = None  # "self", or the auditor's ARN
    counts: Tally | None = None  # set by compact(), whose results keep only the first missing actions

    def tally(self) -> Tally:
        if self.counts is not None:
            return self.counts
        return Tally(len(self.results), sum(1 for r in self.results if r.allowed), len(self.missing_required),
                     len(self.missing_recommended))

    def compact(self, listed: int) -> "Verdict":
        """What a status shows, small enough to keep for every credential: the counts and the first `listed`
        missing actions. The allowed actions (most of a check's ~800 results) are dropped."""
        return replace(self, results=tuple(missing_first(self.results)[:listed]), counts=self.tally(),
                       aws_calls={})

    @property
    def missing_required(self) -> tuple[ActionResult, ...]:
        return tuple(r for r in self.results if not r.allowed and r.requirement.severity is Severity.REQUIRED)

    @property
    def missing_recommended(self) -> tuple[ActionResult, ...]:
        return tuple(r for r in self.results if not r.allowed and r.requirement.severity is Severity.RECOMMENDED)
