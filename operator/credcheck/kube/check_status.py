"""The AWSCredentialCheck's status as a type: what kube.status builds from a verdict, what the operator writes
(`to_dict`, the status patch), what `credcheck check --output json` prints, and what every reader reads back
(`from_dict`) instead of knowing the dict's shape. docs/status.md lists the fields.

Pure. `from_dict` is tolerant: a status written by an older version, or missing fields, parses (a missing field
gets its default, a field of the wrong type too), so a reader never fails on what is stored. `to_dict` writes every
top-level and nested-object field, None included (a merge patch's null removes a field a verdict no longer has);
list entries (conditions, Clusters, actions, …) leave out what is None or empty, as the status always did.

Field names are the dataclass fields in camelCase (`credential_in_use_since` → `credentialInUseSince`); the CRD's
status schema declares each (tests/unit/kube/test_check_status.py derives the paths from a full instance).
"""

import json
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

READY = "Ready"  # the condition every reader asks about, named once
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    arn: str
    account: str | None = None
    type: str | None = None  # user | assumed-role | root | …
    policy_source: str | None = None  # the ARN whose policies are simulated
    partition: str | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    checked: int = 0
    allowed: int = 0
    missing_required: int = 0
    missing_recommended: int = 0
    undecided: int = 0


@dataclass(frozen=True, slots=True)
class ActionEntry:
    """One action the credential lacks (engine.action_result.action_entry's keys)."""

    action: str
    resource: str = "*"
    reason: str = ""
    severity: str = ""
    features: tuple[str, ...] = ()
    cluster: str | None = None
    identity: str | None = None
    why: str | None = None
    missing_context_keys: tuple[str, ...] = ()
    matched_statements: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BrokenFeature:
    feature: str
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleRemediation:
    """What a Cluster's control-plane role's own policy lacks: a policy document (JSON) to add to that role."""

    role: str
    policy: str


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """One KKP Cluster's entry in status.clusters."""

    name: str
    ready: str | None = None  # "True" | "False" | "Unknown"; None: no per-Cluster verdict (yet)
    region: str | None = None
    kubernetes: str | None = None
    cloud_controller: str | None = None
    missing: tuple[str, ...] = ()
    undecided: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    credential_in_use: str | None = None  # what the Cluster's components run on (controller.rotation's InUse)
    credential_in_use_since: str | None = None
    credential_in_use_reason: str | None = None
    credential_in_use_message: str | None = None
    deletion_ready: str | None = None  # "True" | "False" | "Unknown"
    deletion_message: str | None = None
    config_findings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Upgrade:
    profile: str | None = None
    kkp_version: str | None = None
    missing_required: int = 0
    missing: tuple[ActionEntry, ...] = ()
    remediation_policy: str | None = None  # a policy document, as JSON text


@dataclass(frozen=True, slots=True)
class Denial:
    action: str
    count: int = 0
    last_seen: str | None = None
    region: str | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class ObservedDenials:
    state: str
    message: str = ""
    window_hours: int = 0
    regions: tuple[str, ...] = ()
    denials: tuple[Denial, ...] = ()


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str  # masked
    status: str | None = None
    created: str | None = None
    age_days: int | None = None
    last_used: str | None = None
    never_used: bool | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
    in_secret_since: str | None = None


@dataclass(frozen=True, slots=True)
class KeyFinding:
    type: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Keys:
    state: str
    message: str | None = None
    user: str | None = None
    read_by: str | None = None
    missing_permissions: tuple[str, ...] = ()
    current: AccessKey | None = None
    others: tuple[AccessKey, ...] = ()
    findings: tuple[KeyFinding, ...] = ()


@dataclass(frozen=True, slots=True)
class ExcessPermission:
    action: str
    resource: str | None = None
    allowed_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckStatus:
    verdict: str | None = None  # engine.model.Status's value: what `check` and `explain` exit with
    observed_generation: int | None = None
    conditions: tuple[Condition, ...] = ()
    principal: Principal | None = None
    access_key_id: str | None = None  # masked
    profile: str | None = None
    kkp_version: str | None = None
    simulated_by: str | None = None
    summary: Summary | None = None  # None without results: kubectl's MISSING column stays empty
    broken_features: tuple[BrokenFeature, ...] = ()
    missing: tuple[ActionEntry, ...] = ()
    remediation_policy: str | None = None  # a policy document, as JSON text
    role_remediation: tuple[RoleRemediation, ...] = ()
    blockers: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    last_check_time: str | None = None
    next_check_time: str | None = None
    consecutive_failures: int = 0
    clusters: tuple[ClusterStatus, ...] = ()
    upgrade: Upgrade | None = None
    observed_denials: ObservedDenials | None = None
    keys: Keys | None = None
    excess_permissions: tuple[ExcessPermission, ...] | None = None  # None: not asked
    least_privilege_policy: str | None = None  # a policy document, as JSON text
    aws_calls: dict[str, int] | None = None  # the CLI's only: AWS requests per call (the operator's are metrics)

    # -- reading ---------------------------------------------------------------------------------------------------

    def condition(self, kind: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)

    @property
    def ready(self) -> Condition | None:
        return self.condition(READY)

    def cluster(self, name: str) -> ClusterStatus | None:
        return next((c for c in self.clusters if c.name == name), None)

    # -- changing (a new value) ------------------------------------------------------------------------------------

    def with_conditions(self, new: tuple[Condition, ...] | list[Condition]) -> "CheckStatus":
        """The conditions with each of `new` in place of the one of its type (added at the end when new)."""
        kinds = {c.type for c in new}
        return replace(self, conditions=tuple(c for c in self.conditions if c.type not in kinds) + tuple(new))

    def with_clusters(self, clusters: tuple[ClusterStatus, ...] | list[ClusterStatus]) -> "CheckStatus":
        return replace(self, clusters=tuple(clusters))

    # -- the wire shape --------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return _to_dict(self, in_list=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "CheckStatus":
        return _from(cls, data or {})


def policy_document(text: str | None) -> dict[str, Any] | None:
    """A policy document stored as JSON text, as an object (None when absent or unreadable)."""
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def entry_dict(value: Any) -> dict[str, Any]:
    """A part of the status (a Cluster's entry, an action, …) as the status writes it in a list: no empty fields."""
    return _to_dict(value, in_list=True)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_Parser = Callable[[Any], Any]
_BAD = object()  # what a parser returns for a value of the wrong type: the field keeps its default
_PLANS: dict[type, tuple[tuple[str, str, _Parser], ...]] = {}
_NAMES: dict[type, tuple[tuple[str, str], ...]] = {}


class _Unparsable(Exception):
    pass


def _names(cls: type) -> tuple[tuple[str, str], ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple((f.name, camel(f.name)) for f in fields(cls))
    return names


def _to_dict(value: Any, *, in_list: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key in _names(type(value)):
        v = _plain(getattr(value, name))
        if in_list and (v is None or v == []):
            continue
        out[key] = v
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_to_dict(x, in_list=True) if hasattr(x, "__dataclass_fields__") else x for x in v]
    if hasattr(v, "__dataclass_fields__"):
        return _to_dict(v, in_list=False)
    return dict(v) if isinstance(v, dict) else v


def _plan(cls: type) -> tuple[tuple[str, str, _Parser], ...]:
    """Per dataclass, once: each field's name, its key in the dict, and the parser of its type."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = get_type_hints(cls)
        plan = _PLANS[cls] = tuple((name, key, _parser(hints[name])) for name, key in _names(cls))
    return plan


def _from(cls: type[T], data: Mapping[str, Any]) -> T:
    values: dict[str, Any] = {}
    for name, key, parser in _plan(cls):
        raw = data.get(key)
        if raw is None:
            continue
        parsed = parser(raw)
        if parsed is not _BAD:
            values[name] = parsed
    try:
        return cls(**values)
    except TypeError:  # a required field absent: the value cannot stand (the caller's container drops it)
        raise _Unparsable from None


def _parser(kind: Any) -> _Parser:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return _parser(next(a for a in get_args(kind) if a is not type(None)))
    if origin is dict:
        return lambda raw: dict(raw) if isinstance(raw, Mapping) else _BAD
    if origin is tuple:
        item = _parser(get_args(kind)[0])

        def many(raw: Any) -> Any:
            if not isinstance(raw, list | tuple):
                return _BAD
            return tuple(x for x in map(item, raw) if x is not _BAD)
        return many
    if isinstance(kind, type) and is_dataclass(kind):
        def one(raw: Any) -> Any:
            if not isinstance(raw, Mapping):
                return _BAD
            try:
                return _from(kind, raw)
            except _Unparsable:
                return _BAD
        return one
    if kind is bool:
        return lambda raw: raw if isinstance(raw, bool) else _BAD
    if kind is int:
        return _int
    return _str


def _int(raw: Any) -> Any:
    if isinstance(raw, bool):
        return _BAD
    try:
        return int(raw)
    except (TypeError, ValueError):
        return _BAD


def _str(raw: Any) -> Any:
    return raw if isinstance(raw, str) else str(raw) if isinstance(raw, int | float) else _BAD


def parse(cls: type[T], data: Mapping[str, Any]) -> T:
    """A nested part of the status (an action entry, …) from its dict: as tolerant as CheckStatus.from_dict."""
    return _from(cls, data)
