"""The domain's values, frozen: what a check reads, plans, learns and concludes."""

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum

from credcheck.engine.keyfacts import Excess, KeyFacts


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


OPERATING = "operating"  # the identity KKP acts as: the assumed role when the Cluster sets one, else the keys
KEYS = "keys"  # the credential's static keys themselves (the cloud-controller-manager always uses them)
# in a profile: the Cluster's control-plane role, as the cloud-controller-manager acts in assume-role mode; in a
# requirement its ARN follows: "controlPlaneRole:arn:aws:iam::123456789012:role/kubernetes-abc-control-plane"
CONTROL_PLANE_ROLE = "controlPlaneRole"


def role_principal(arn: str) -> str:
    return f"{CONTROL_PLANE_ROLE}:{arn}"


def role_of(principal: str) -> str | None:
    """The role ARN of a control-plane-role principal; None for the credential's own identities."""
    prefix = CONTROL_PLANE_ROLE + ":"
    return principal[len(prefix):] if principal.startswith(prefix) else None

Context = tuple[tuple[str, tuple[str, ...]], ...]  # request context keys and values, sorted


@dataclass(frozen=True)
class Requirement:
    action: str
    resource: str  # the resource KKP's call acts on, templated for the Cluster and account (may hold `*`)
    severity: Severity
    features: tuple[str, ...]
    source_pattern: str  # the action pattern in the profile this came from, e.g. "ec2:*"
    context: Context = ()  # what KKP's request carries, aws:RequestedRegion included
    principal: str = OPERATING
    cluster: str | None = None
    why: str = ""  # why KKP needs it, for a person
    evidence: tuple[str, ...] = ()  # repository@tag:path:line of the KKP code that calls it
    proven_by_call: bool = False  # credcheck makes the call itself (sts:AssumeRole into assumeRoleARN)
    undecided_because: str | None = None  # the resource is not known (why): a denial on the stand-in is undecided
    untagged: bool = False  # KKP's request carries no tags: a condition on aws:RequestTag/aws:TagKeys can't hold

    def context_dict(self) -> dict[str, list[str]]:
        return {key: list(values) for key, values in self.context}


@dataclass(frozen=True)
class SimulationResult:
    action: str
    resource: str  # the ARN simulated
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
    undecided: int = 0  # required actions AWS could not decide without more request context


@dataclass(frozen=True)
class ClusterVerdict:
    """What one KKP Cluster's use of the credential lacks."""

    cluster: str  # the Cluster's name, or "(no Cluster)"
    status: "Status"
    region: str
    kubernetes: str | None  # the minor the cloud-controller decision was made for
    cloud_controller: str | None  # "assume-role (CCM v1.35.2)" / "direct (CCM v1.33.0)"; None: profile has none
    missing: tuple[str, ...] = ()  # required actions denied
    undecided: tuple[str, ...] = ()  # required actions AWS could not decide
    notes: tuple[str, ...] = ()


def missing_first(results: tuple[ActionResult, ...]) -> list[ActionResult]:
    """The actions not allowed, required ones first, then by name: the order a status lists them in."""
    return sorted((r for r in results if not r.allowed),
                  key=lambda r: (r.requirement.severity is not Severity.REQUIRED, r.requirement.action,
                                 r.requirement.cluster or ""))


def is_missing(result: ActionResult) -> bool:
    """Denied: not allowed, and not merely undecided for want of request context."""
    return not result.allowed and result.outcome is not Outcome.MISSING_CONTEXT


@dataclass(frozen=True)
class ObservedDenial:
    """Calls AWS refused, as CloudTrail recorded them (never request parameters)."""

    action: str  # service:Operation, e.g. ec2:RunInstances
    region: str
    error_code: str
    count: int
    last_seen: str  # the newest eventTime, as CloudTrail writes it (RFC 3339)


@dataclass(frozen=True)
class ObservedDenials:
    """The last window of CloudTrail for one credential: what AWS refused, or why that could not be read."""

    state: str  # Observed | NotPermitted | Failed
    message: str
    window_hours: int
    regions: tuple[str, ...]
    denials: tuple[ObservedDenial, ...] = ()


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
    clusters: tuple[ClusterVerdict, ...] = ()
    profile_version: str | None = None  # the KKP version the verdict is for
    upgrade: "Verdict | None" = None  # the same simulation judged against the target KKP version's profile
    retry_after: float | None = None  # RateLimited: when the account's budget allows the check
    observed_denials: ObservedDenials | None = None  # CloudTrail's refused calls (opt-in: --observe-denials)
    spent: dict[str, int] = field(default_factory=dict)  # AWS requests made per account called (the budget's key)
    key_facts: KeyFacts | None = None  # the keys' user's access keys (iam:ListAccessKeys), when read
    excess: Excess | None = None  # high-risk actions beyond KKP's needs, when asked

    def tally(self) -> Tally:
        if self.counts is not None:
            return self.counts
        return Tally(len(self.results), sum(1 for r in self.results if r.allowed), len(self.missing_required),
                     len(self.missing_recommended), len(self.undecided_required))

    def compact(self, listed: int) -> "Verdict":
        """What a status shows, small enough to keep for every credential: the counts and the first `listed`
        missing actions. The allowed actions (most of a check's results) are dropped."""
        upgrade = self.upgrade.compact(listed) if self.upgrade is not None else None
        return replace(self, results=tuple(missing_first(self.results)[:listed]), counts=self.tally(),
                       aws_calls={}, upgrade=upgrade)

    @property
    def missing_required(self) -> tuple[ActionResult, ...]:
        return tuple(r for r in self.results if is_missing(r) and r.requirement.severity is Severity.REQUIRED)

    @property
    def missing_recommended(self) -> tuple[ActionResult, ...]:
        return tuple(r for r in self.results if is_missing(r) and r.requirement.severity is Severity.RECOMMENDED)

    @property
    def undecided_required(self) -> tuple[ActionResult, ...]:
        return tuple(r for r in self.results
                     if r.outcome is Outcome.MISSING_CONTEXT and r.requirement.severity is Severity.REQUIRED)
