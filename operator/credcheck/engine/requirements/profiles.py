"""Loading and validating requirement profiles, and expanding them into concrete requirements."""

import hashlib
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from credcheck.engine.iam.catalog import ActionCatalog, UnknownActionError, load_catalog
from credcheck.engine.model import CONTROL_PLANE_ROLE, KEYS, OPERATING, Requirement, Severity, role_principal
from credcheck.engine.requirements import bounded_yaml
from credcheck.engine.target import Target, fill, iam_region, minor_of, variables

BUILTIN = ("kkp", "kkp-2.31", "kkp-2.30", "kkp-2.29", "kkp-docs", "kkp-docs-2.22", "eks")
ALIASES = {"kkp": "kkp-2.31"}  # `kkp` is the newest KKP minor credcheck knows
DEFAULT_PROFILE = "kkp"
PLACEHOLDERS = frozenset({"partition", "account", "region", "cluster", "controlPlaneRole", "controlPlaneRoleInAccount",
                          "workerRole", "instanceProfileRole",
                          "instanceProfile", "securityGroup", "vpc", "assumeRole"})
GATES = frozenset({"disableIAMReconciling"})
# How a cloud-controller-manager uses the keys: direct (every EC2/ELB call with them), hybrid (direct, but the
# instance-topology client assumes the control-plane role), assume-role (only sts:AssumeRole with them)
MODES = frozenset({"direct", "hybrid", "assume-role"})


EXPANSIONS = 32  # expansions kept, across all profiles (about 85 KB each: 119 requirements for one Cluster)


class _Expansions:
    """A small LRU of expanded requirements, shared by every profile: an expansion costs about 1.5 ms, keeping one
    per Cluster for ever cost 85 KB a Cluster (and kept deleted Clusters). Keyed by the profile's serial number and
    every input, so a deleted Cluster's, or an evicted ConfigMap profile's, expansions simply age out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[Requirement, ...]] = OrderedDict()
        self._lock = threading.Lock()  # checks expand in the AWS pool's threads

    def get(self, key: tuple[Any, ...]) -> tuple[Requirement, ...] | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: tuple[Requirement, ...]) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


EXPANDED = _Expansions(EXPANSIONS)
_SERIALS = itertools.count()


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the problem and the fix."""


@dataclass(frozen=True)
class Feature:
    name: str
    severity: Severity
    description: str
    skipped_when: str | None = None  # a Cluster setting that turns the feature off: disableIAMReconciling
    only_with_assume_role: bool = False  # needed only when the Cluster sets assumeRoleARN
    proven_by_call: bool = False  # credcheck makes the call itself instead of simulating it
    on_request: bool = False  # checked only when asked (includeRecommended): documented, never called
    only_when: str | None = None  # a Cluster setting without which the feature is off: disableIAMReconciling


@dataclass(frozen=True)
class ProfileStatement:
    feature: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    principal: str = OPERATING
    cloud_controllers: tuple[str, ...] = ()  # only when the Cluster's CCM runs in one of these modes
    region: str | None = None  # a region KKP's code hard-codes for this call
    component: str = ""
    why: str = ""
    evidence: tuple[str, ...] = ()
    untagged: bool = False  # the call carries no tags (aws:RequestTag, aws:TagKeys are certainly absent)
    owned_only: bool = False  # KKP calls it only on what carries its ownership tag (or what it creates)


@dataclass(frozen=True)
class CloudController:
    """Which cloud-controller-manager KKP runs for a Kubernetes minor, and how it uses the keys."""

    minor: str
    ccm: str
    mode: str  # direct: EC2/ELB calls with the keys; assume-role: only sts:AssumeRole into the control-plane role
    assumed: bool = False  # no Cluster (or no version) known: the newest Kubernetes the KKP version supports


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    description: str
    features: Mapping[str, Feature]
    statements: tuple[ProfileStatement, ...]
    cloud_controllers: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # minor -> (ccm, mode)
    newest_kubernetes: str | None = None
    evidence: tuple[str, ...] = ()  # where the Kubernetes and CCM tables come from
    # minor -> (instance types whose node initialisation fails when the CCM may not assume the role, evidence)
    topology_required: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    serial: int = field(default_factory=lambda: next(_SERIALS), init=False, compare=False, repr=False)  # cache key

    def cloud_controller(self, target: Target) -> CloudController | None:
        """The CCM KKP runs for the target's Kubernetes version (KKP's switch: an unknown minor gets the newest)."""
        if not self.cloud_controllers or self.newest_kubernetes is None:
            return None
        minor = minor_of(target.kubernetes_version)
        assumed = minor is None
        key = minor if minor is not None and minor in self.cloud_controllers else self.newest_kubernetes
        ccm, mode = self.cloud_controllers[key]
        return CloudController(minor or self.newest_kubernetes, ccm, mode, assumed)

    def requirements(self, account: str, partition: str = "aws", skip_features: Iterable[str] = (),
                     catalog: ActionCatalog | None = None, *, target: Target | None = None,
                     region: str = "us-east-1", include_on_request: bool = False,
                     keys_are_operating: bool = False) -> tuple[Requirement, ...]:
        """Concrete requirements for one Cluster (or none): each action on the resource KKP's call acts on, with
        the request context it carries. An action needed by a required feature is required.

        Features in `skip_features`, those the Cluster's settings turn off (disableIAMReconciling), those for a
        cloud-controller mode the Cluster's Kubernetes version does not run, and on-request features unless asked
        are left out. With `keys_are_operating` (no assume-role) the keys and the role KKP acts as are one identity.
        The last EXPANSIONS expansions (of any profile) are kept: a Cluster re-checked soon after, or a verdict's
        upgrade half, reuses them; nothing is kept per Cluster for longer.
        """
        target = target or Target()
        key = (self.serial, account, partition, frozenset(skip_features), target, region, include_on_request,
               keys_are_operating)
        if catalog is None and (found := EXPANDED.get(key)) is not None:
            return found
        expanded = self._expand(account, partition, key[3], catalog or load_catalog(), target=target,
                                region=region, include_on_request=include_on_request,
                                keys_are_operating=keys_are_operating)
        if catalog is None:
            EXPANDED.put(key, expanded)
        return expanded

    def _active(self, statement: ProfileStatement, skipped: frozenset[str], target: Target,
                include_on_request: bool) -> bool:
        feature = self.features[statement.feature]
        if statement.feature in skipped or (feature.on_request and not include_on_request):
            return False
        if feature.skipped_when == "disableIAMReconciling" and target.disable_iam_reconciling:
            return False
        if feature.only_when == "disableIAMReconciling" and not target.disable_iam_reconciling:
            return False
        if statement.principal == CONTROL_PLANE_ROLE and target.cluster is None:
            return False  # no Cluster, no role to ask
        if feature.only_with_assume_role and not target.assume_role_arn:
            return False
        if statement.cloud_controllers:
            ccm = self.cloud_controller(target)
            return ccm is not None and ccm.mode in statement.cloud_controllers
        return True

    def _expand(self, account: str, partition: str, skipped: frozenset[str], catalog: ActionCatalog, *,
                target: Target, region: str, include_on_request: bool,
                keys_are_operating: bool) -> tuple[Requirement, ...]:
        merged: dict[tuple[Any, ...], Requirement] = {}
        cluster_region = target.region or region
        for statement in self.statements:
            if not self._active(statement, skipped, target, include_on_request):
                continue
            feature = self.features[statement.feature]
            principal = (role_principal(variables(target, partition=partition, account=account,
                                                  region=cluster_region)["controlPlaneRoleInAccount"])
                         if statement.principal == CONTROL_PLANE_ROLE
                         else OPERATING if keys_are_operating else statement.principal)
            for pattern in statement.actions:
                service = pattern.split(":", 1)[0]
                call_region = statement.region or (iam_region(partition) if service == "iam" else cluster_region)
                values = variables(target, partition=partition, account=account, region=call_region)
                context = tuple(sorted(
                    [("aws:RequestedRegion", (call_region,))]
                    + [(fill(k, values), tuple(fill(v, values) for v in vs)) for k, vs in statement.context]))
                why = fill(statement.why, values)
                for action in catalog.expand(pattern):
                    for resource in statement.resources:
                        if resource == "{workerRole}" and target.instance_profile_owned is False:
                            continue  # KKP manages the worker role only in a profile it owns (instance_profile.go:66)
                        owner = ownership(target, resource) if statement.owned_only else None
                        if owner is not None and owner[0] is False:
                            continue  # KKP acts only on what carries its ownership tag
                        arn = fill(resource, values)
                        undecided = (f"the role inside instance profile {target.instance_profile} is unknown: "
                                     f"{target.instance_profile_unread}"
                                     if resource == "{instanceProfileRole}" and target.instance_profile_unread
                                     else owner[1] if owner is not None and owner[1] else None)
                        key = (principal, action, arn, context)
                        merged[key] = _merge(merged.get(key), Requirement(
                            action=action, resource=arn, severity=feature.severity, features=(feature.name,),
                            source_pattern=pattern, context=context, principal=principal,
                            cluster=target.cluster, why=why, evidence=statement.evidence,
                            proven_by_call=feature.proven_by_call, undecided_because=undecided,
                            untagged=statement.untagged))
        return tuple(merged[k] for k in sorted(merged))


def ownership(target: Target, resource: str) -> tuple[bool | None, str | None] | None:
    """Whether KKP owns what a resource template names for this Cluster — (owned: None when unknown, why it is
    unknown) — or None for a resource without an owner to ask. An object the Cluster does not name is KKP's own
    (it creates it with its tag); one it names is read at check time (instance profile, control-plane role,
    security group)."""
    if resource == "{instanceProfile}":
        unread = target.instance_profile_unread if target.instance_profile_owned is None else None
        return target.instance_profile_owned, (f"whether KKP owns instance profile {target.instance_profile} is "
                                                f"unknown: {unread}" if unread else None)
    if resource == "{controlPlaneRoleInAccount}":
        unread = target.control_plane_role_unread
        return target.control_plane_role_owned, (f"whether KKP owns the control-plane role {target.control_plane_role} "
                                                 f"is unknown: {unread}" if unread else None)
    if resource == "{securityGroup}":
        unread = target.security_group_unread
        return target.security_group_owned, (f"whether KKP owns security group {target.security_group_id} is "
                                             f"unknown: {unread}" if unread else None)
    return None


def _merge(old: Requirement | None, new: Requirement) -> Requirement:
    if old is None:
        return new
    if old.severity is new.severity:
        features = old.features + tuple(f for f in new.features if f not in old.features)
        evidence = old.evidence + tuple(e for e in new.evidence if e not in old.evidence)
        # a concrete mention wins over a wildcard one, so remediation stays precise
        pattern = old.source_pattern if "*" not in old.source_pattern else new.source_pattern
        return replace(old, features=features, source_pattern=pattern, evidence=evidence,
                       proven_by_call=old.proven_by_call and new.proven_by_call)
    return old if old.severity is Severity.REQUIRED else new


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def _placeholder_problems(texts: Iterable[str], where: str) -> list[str]:
    unknown = sorted({m for t in texts for m in re.findall(r"\{([A-Za-z]+)\}", t)} - PLACEHOLDERS)
    return [f"{where}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
            f"use {', '.join(sorted('{' + p + '}' for p in PLACEHOLDERS))}"] if unknown else []


def _parse_feature(name: str, spec: Mapping[str, Any], problems: list[str]) -> Feature | None:
    severity = spec.get("severity", "required")
    if severity not in (Severity.REQUIRED, Severity.RECOMMENDED):
        problems.append(f"feature {name!r}: severity must be required or recommended, not {severity!r}")
        return None
    gate = spec.get("skippedWhen", spec.get("disabledBy"))
    only = spec.get("onlyWhen")
    for key, value in (("skippedWhen", gate), ("onlyWhen", only)):
        if value is not None and value not in GATES:
            problems.append(f"feature {name!r}: {key} must be one of {', '.join(sorted(GATES))}")
    return Feature(name, Severity(severity), str(spec.get("description", "")), gate,
                   spec.get("when") == "assumeRole", bool(spec.get("provenByCall", False)),
                   bool(spec.get("onRequest", False)), only)


def _parse_statement(st: Any, where: str, features: Mapping[str, Feature], catalog: ActionCatalog,
                     problems: list[str]) -> ProfileStatement | None:
    if not isinstance(st, Mapping):
        problems.append(f"{where}: must be a mapping with feature, actions and resources")
        return None
    feature = st.get("feature")
    if feature not in features:
        problems.append(f"{where}: feature {feature!r} is not declared under features")
    actions = st.get("actions") or []
    resources_ = st.get("resources") or ["*"]
    if not actions or not all(isinstance(a, str) for a in actions):
        problems.append(f"{where}: actions must be a non-empty list of service:Action names")
        return None
    for action in actions:
        problems.extend(_check_action(catalog, action, where))
    context_raw = st.get("context") or {}
    if not isinstance(context_raw, Mapping):
        problems.append(f"{where}: context must map condition keys to values")
        context_raw = {}
    context = tuple(sorted((str(k), _strings(v)) for k, v in context_raw.items()))
    when = st.get("when") or {}
    modes = _strings(when.get("cloudController")) if isinstance(when, Mapping) else ()
    if any(mode not in MODES for mode in modes):
        problems.append(f"{where}: when.cloudController must name {', '.join(sorted(MODES))}, not {list(modes)!r}")
    principal = str(st.get("principal") or OPERATING)
    if principal not in (OPERATING, KEYS, CONTROL_PLANE_ROLE):
        problems.append(f"{where}: principal must be {OPERATING}, {KEYS} or {CONTROL_PLANE_ROLE}, not {principal!r}")
    texts = [str(r) for r in resources_] + [k for k, _ in context] + [v for _, vs in context for v in vs]
    problems.extend(_placeholder_problems(texts, where))
    return ProfileStatement(str(feature), tuple(actions), tuple(str(r) for r in resources_), context, principal,
                            modes, str(st["region"]) if st.get("region") else None, str(st.get("component", "")),
                            str(st.get("why", "")), _strings(st.get("evidence")), bool(st.get("untagged", False)),
                            bool(st.get("ownedOnly", False)))


def parse_profile(raw: Any, origin: str, catalog: ActionCatalog | None = None) -> Profile:
    """Validate a decoded profile document; errors name the origin, the place and the closest known action."""
    catalog = catalog or load_catalog()
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{origin}: a profile must be a mapping with name, features and statements")
    problems: list[str] = []
    features: dict[str, Feature] = {}
    for name, spec in (raw.get("features") or {}).items():
        feature = _parse_feature(str(name), spec or {}, problems)
        if feature is not None:
            features[feature.name] = feature
    statements: list[ProfileStatement] = []
    for i, st in enumerate(raw.get("statements") or []):
        statement = _parse_statement(st, f"statements[{i}]", features, catalog, problems)
        if statement is not None:
            statements.append(statement)
    if not statements and not problems:
        problems.append("the profile has no statements")
    kubernetes = raw.get("kubernetes") or {}
    controllers = {str(minor): (str(v.get("ccm", "")), str(v.get("mode", "")))
                   for minor, v in (kubernetes.get("cloudController") or {}).items()}
    if any(mode not in MODES for _, mode in controllers.values()):
        problems.append(f"kubernetes.cloudController: each mode must be one of {', '.join(sorted(MODES))}")
    if problems:
        raise ProfileError(f"{origin}: " + "; ".join(problems))
    return Profile(name=str(raw.get("name", origin)), version=str(raw.get("version", "")),
                   description=str(raw.get("description", "")), features=features, statements=tuple(statements),
                   cloud_controllers=controllers,
                   newest_kubernetes=str(kubernetes["newest"]) if kubernetes.get("newest") else None,
                   evidence=_strings(kubernetes.get("evidence")) + _strings(kubernetes.get("cloudControllerEvidence")),
                   topology_required={str(minor): (str(v["topologyRequiredFor"]), str(v.get("topologyEvidence", "")))
                                      for minor, v in (kubernetes.get("cloudController") or {}).items()
                                      if isinstance(v, Mapping) and v.get("topologyRequiredFor")})


def _check_action(catalog: ActionCatalog, action: str, where: str) -> list[str]:
    try:
        if "*" in action or "?" in action:
            if not catalog.expand(action):
                return [f"{where}: pattern {action!r} matches no known action"]
            return []
        catalog.validate(action)
    except UnknownActionError as err:
        return [f"{where}: {err}"]
    return []


def load_profile(name_or_path: str, catalog: ActionCatalog | None = None) -> Profile:
    """A built-in profile by name, or a profile file (YAML or JSON) by path."""
    name_or_path = ALIASES.get(name_or_path, name_or_path)
    if name_or_path in BUILTIN and catalog is None:
        return _builtin(name_or_path)
    if name_or_path in BUILTIN:
        text = resources.files("credcheck.engine.requirements").joinpath(f"data/{name_or_path}.yaml").read_text("utf-8")
        origin = f"built-in profile {name_or_path}"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ProfileError(f"unknown profile {name_or_path!r}: use one of {', '.join(BUILTIN)} or a file path")
        text, origin = path.read_text("utf-8"), str(path)
    return parse_profile_text(text, origin, catalog)


@cache
def _builtin(name: str) -> Profile:
    """Built-in profiles are parsed and validated once (about 10 ms each); profiles are immutable."""
    text = resources.files("credcheck.engine.requirements").joinpath(f"data/{name}.yaml").read_text("utf-8")
    return parse_profile_text(text, f"built-in profile {name}")


PARSED = 16  # ConfigMap profiles kept parsed, by the digest of their text (the texts themselves are not kept)
_parsed: OrderedDict[tuple[str, str], Profile] = OrderedDict()
_parsed_lock = threading.Lock()


def parse_profile_cached(text: str, origin: str) -> Profile:
    """parse_profile_text for the operator, where the same ConfigMap text is read on every reconcile: the last
    PARSED profiles, keyed by a digest (a cache of 64 texts held up to 64 ConfigMaps' whole text, issue 33)."""
    key = (hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest(), origin)
    with _parsed_lock:
        found = _parsed.get(key)
        if found is not None:
            _parsed.move_to_end(key)
            return found
    profile = parse_profile_text(text, origin)
    with _parsed_lock:
        _parsed[key] = profile
        while len(_parsed) > PARSED:
            _parsed.popitem(last=False)
    return profile


def parse_profile_text(text: str, origin: str, catalog: ActionCatalog | None = None) -> Profile:
    try:
        raw = bounded_yaml.load(text)  # size, aliases and expanded nodes bounded (issue 33)
    except bounded_yaml.BoundError as err:
        raise ProfileError(f"{origin}: the profile is {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ProfileError(f"{origin}: not valid YAML{where}") from None
    return parse_profile(raw, origin, catalog)
