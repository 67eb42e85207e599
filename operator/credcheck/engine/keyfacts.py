"""Access-key facts and excess permissions as values (no decisions here): what IAM says about the keys' user's
access keys, and the high-risk actions a credential may do beyond what KKP needs.

Key ids are masked before they reach these values (`AKIA************ABCD`): nothing downstream ever holds one.
"""

from dataclasses import dataclass
from datetime import datetime

READ = "Read"  # the facts were read
UNKNOWN = "Unknown"  # neither the keys nor the auditor may read them (the missing permission named)
NOT_APPLICABLE = "NotApplicable"  # not an IAM user's keys (a role session, temporary keys): no key facts exist
FAILED = "Failed"  # AWS answered with an error other than a denial (sanitised in the message)


@dataclass(frozen=True)
class LastUse:
    """iam:GetAccessKeyLastUsed's AccessKeyLastUsed: date None when AWS never saw the key used."""

    date: datetime | None
    service: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class AccessKeyFact:
    key_id: str  # masked: type prefix and last four characters only
    status: str  # Active | Inactive (iam:ListAccessKeys)
    created: datetime
    last_use: LastUse | None  # None: not read
    current: bool  # the key the checked credential holds


@dataclass(frozen=True)
class KeyFacts:
    state: str  # READ | UNKNOWN | NOT_APPLICABLE | FAILED
    message: str = ""
    user: str | None = None  # the keys' IAM user name
    keys: tuple[AccessKeyFact, ...] = ()
    read_by: str | None = None  # "self" or the auditor's ARN
    missing_permissions: tuple[str, ...] = ()  # what neither identity may call (UNKNOWN)

    @property
    def current(self) -> AccessKeyFact | None:
        return next((k for k in self.keys if k.current), None)

    @property
    def others(self) -> tuple[AccessKeyFact, ...]:
        return tuple(k for k in self.keys if not k.current)


@dataclass(frozen=True)
class ExcessPermission:
    """A high-risk action KKP never calls that the credential may do, and the statements AWS said allow it."""

    action: str
    resource: str
    allowed_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Excess:
    """What the excess question found: the actions allowed, and the policy that would replace the credential's."""

    found: tuple[ExcessPermission, ...]
    asked: int  # how many high-risk questions were asked
    replacement: dict[str, object] | None = None  # `credcheck requirements show`'s policy for its Clusters
