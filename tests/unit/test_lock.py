"""requirements.lock (make lock) covers pyproject.toml's runtime dependencies, each pinned with hashes."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def locked() -> dict[str, tuple[str, int]]:
    """name -> (pinned version, number of hashes)."""
    text = (ROOT / "requirements.lock").read_text("utf-8")
    out: dict[str, tuple[str, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            out[canonicalize_name(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return out


def test_every_runtime_dependency_is_locked_with_a_version_it_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    lock = locked()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement.name} is not in requirements.lock: run make lock"
        assert requirement.specifier.contains(lock[name][0]), f"{name} {lock[name][0]} outside {requirement.specifier}"


def test_every_locked_package_has_hashes() -> None:
    lock = locked()
    assert len(lock) > 10, "transitive dependencies are locked too"
    assert all(hashes > 0 for _, hashes in lock.values()), [n for n, (_, h) in lock.items() if not h]
