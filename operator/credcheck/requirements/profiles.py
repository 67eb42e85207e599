"""Loading and validating requirement profiles, and expanding them into concrete requirements."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from credcheck.iam.arn import template
from credcheck.iam.catalog import ActionCatalog, UnknownActionError, load_catalog
from credcheck.model import Requirement, Severity

BUILTIN = ("kkp", "kkp-docs")
DEFAULT_PROFILE = "kkp"


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the problem and the fix."""


@dataclass(frozen=True)
class Feature:
    name: str
    severity: Severity
    description: str
    disabled_by: str | None = None


@dataclass(frozen=True)
class ProfileStatement:
    feature: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    description: str
    features: Mapping[str, Feature]
    statements: tuple[ProfileStatement, ...]
    _expanded: dict[tuple[str, str, frozenset[str]], tuple[Requirement, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    def requirements(self, account: str, partition: str = "aws", skip_features: Iterable[str] = (),
                     catalog: ActionCatalog | None = None) -> tuple[Requirement, ...]:
        """Concrete (action, resource) requirements; an action needed by a required feature is required.

        Features in `skip_features` (e.g. iam-reconciling for clusters with disableIAMReconciling) are left out.
        Expanded once per account, partition and skip set: every verdict of an account shares the same objects.
        """
        key = (account, partition, frozenset(skip_features))
        if catalog is None and key in self._expanded:
            return self._expanded[key]
        expanded = self._expand(account, partition, key[2], catalog or load_catalog())
        if catalog is None:
            self._expanded[key] = expanded
        return expanded

    def _expand(self, account: str, partition: str, skipped: frozenset[str],
                catalog: ActionCatalog) -> tuple[Requirement, ...]:
        merged: dict[tuple[str, str], Requirement] = {}
        for statement in self.statements:
            if statement.feature in skipped:
                continue
            feature = self.features[statement.feature]
            for pattern in statement.actions:
                for action in catalog.expand(pattern):
                    for resource in statement.resources:
                        key = (action, template(resource, account=account, partition=partition))
                        merged[key] = _merge(merged.get(key), Requirement(
                            action=action, resource=key[1], severity=feature.severity,
                            features=(feature.name,), source_pattern=pattern))
        return tuple(merged[k] for k in sorted(merged))


def _merge(old: Requirement | None, new: Requirement) -> Requirement:
    if old is None:
        return new
    if old.severity is new.severity:
        features = old.features + tuple(f for f in new.features if f not in old.features)
        # a concrete mention wins over a wildcard one, so remediation stays precise
        pattern = old.source_pattern if "*" not in old.source_pattern else new.source_pattern
        return Requirement(old.action, old.resource, old.severity, features, pattern)
    return old if old.severity is Severity.REQUIRED else new


def parse_profile(raw: Any, origin: str, catalog: ActionCatalog | None = None) -> Profile:
    """Validate a decoded profile document; errors name the origin, the place and the closest known action."""
    catalog = catalog or load_catalog()
    if not isinstance(raw, Mapping):
        raise ProfileError(f"{origin}: a profile must be a mapping with name, features and statements")
    problems: list[str] = []
    features: dict[str, Feature] = {}
    for name, spec in (raw.get("features") or {}).items():
        severity = (spec or {}).get("severity", "required")
        if severity not in (Severity.REQUIRED, Severity.RECOMMENDED):
            problems.append(f"feature {name!r}: severity must be required or recommended, not {severity!r}")
            continue
        features[str(name)] = Feature(str(name), Severity(severity), str((spec or {}).get("description", "")),
                                      (spec or {}).get("disabledBy"))
    statements: list[ProfileStatement] = []
    for i, st in enumerate(raw.get("statements") or []):
        where = f"statements[{i}]"
        if not isinstance(st, Mapping):
            problems.append(f"{where}: must be a mapping with feature, actions and resources")
            continue
        feature = st.get("feature")
        if feature not in features:
            problems.append(f"{where}: feature {feature!r} is not declared under features")
        actions = st.get("actions") or []
        resources_ = st.get("resources") or ["*"]
        if not actions or not all(isinstance(a, str) for a in actions):
            problems.append(f"{where}: actions must be a non-empty list of service:Action names")
            continue
        for action in actions:
            problems.extend(_check_action(catalog, action, where))
        statements.append(ProfileStatement(str(feature), tuple(actions), tuple(str(r) for r in resources_)))
    if not statements and not problems:
        problems.append("the profile has no statements")
    if problems:
        raise ProfileError(f"{origin}: " + "; ".join(problems))
    return Profile(name=str(raw.get("name", origin)), version=str(raw.get("version", "")),
                   description=str(raw.get("description", "")), features=features, statements=tuple(statements))


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
    if name_or_path in BUILTIN and catalog is None:
        return _builtin(name_or_path)
    if name_or_path in BUILTIN:
        text = resources.files("credcheck.requirements").joinpath(f"data/{name_or_path}.yaml").read_text("utf-8")
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
    text = resources.files("credcheck.requirements").joinpath(f"data/{name}.yaml").read_text("utf-8")
    return parse_profile_text(text, f"built-in profile {name}")


@lru_cache(maxsize=64)
def parse_profile_cached(text: str, origin: str) -> Profile:
    """parse_profile_text for the operator, where the same ConfigMap text is read on every reconcile."""
    return parse_profile_text(text, origin)


def parse_profile_text(text: str, origin: str, catalog: ActionCatalog | None = None) -> Profile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ProfileError(f"{origin}: not valid YAML{where}") from None
    return parse_profile(raw, origin, catalog)
