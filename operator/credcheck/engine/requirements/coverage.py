"""Which KKP releases and Kubernetes minors the built-in profiles cover, from which tags they were read; and what to
say when a Seed or a Cluster reports a KKP version no profile covers (pure).

Where KKP reports its version: a Seed's `status.versions.kubermatic` (kubermatic/kubermatic@v2.31.0:
sdk/apis/kubermatic/v1/datacenter.go:249,259-263) and each Cluster condition's `kubermaticVersion` (sdk/apis/
kubermatic/v1/cluster.go:646-647).
"""

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from credcheck.engine.requirements.profiles import ALIASES, BUILTIN, Profile, load_profile

_TAG = re.compile(r"([\w.-]+/[\w.-]+)@(v[0-9][\w.-]*)")


@dataclass(frozen=True)
class Coverage:
    profile: str
    kkp: str  # the KKP minor, e.g. 2.31
    kubernetes: tuple[tuple[str, str, str], ...]  # (minor, CCM, mode)
    read_from: tuple[str, ...]  # repository@tag of every source the profile's evidence cites
    versions_evidence: tuple[str, ...]  # where the Kubernetes and CCM tables come from


def kkp_profiles() -> tuple[str, ...]:
    """The built-in profiles generated from KKP's code, one per KKP minor."""
    return tuple(sorted((n for n in BUILTIN if re.fullmatch(r"kkp-\d+\.\d+", n)),
                        key=lambda n: tuple(int(x) for x in n[4:].split("."))))


def coverage_of(name: str, profile: Profile) -> Coverage:
    tags = {f"{repo}@{tag}" for st in profile.statements for e in st.evidence for repo, tag in _TAG.findall(e)}
    tags |= {f"{repo}@{tag}" for e in profile.evidence for repo, tag in _TAG.findall(e)}
    minors = sorted(profile.cloud_controllers, key=lambda m: tuple(int(x) for x in m.split(".")))
    return Coverage(name, profile.version, tuple((m, *profile.cloud_controllers[m]) for m in minors),
                    tuple(sorted(tags)), profile.evidence)


@functools.cache  # built-in profiles only: fixed for the process (the operator asks on every reconcile)
def coverage() -> tuple[Coverage, ...]:
    return tuple(coverage_of(name, load_profile(name)) for name in kkp_profiles())


def kkp_minor(version: str | None) -> str | None:
    """`2.31` for `v2.31.0`, `2.31.3-rc.1` or `2.31`; None for anything else."""
    found = re.match(r"^v?(\d+)\.(\d+)", (version or "").strip())
    return f"{found.group(1)}.{found.group(2)}" if found else None


def version_findings(profile: Profile, reported: Mapping[str, str]) -> tuple[str, ...]:
    """What to say about the KKP versions Seeds and Clusters report (`what` -> version, e.g. "Seed europe" ->
    "v2.32.0"): a version no profile covers, or one other than the profile's."""
    return findings_for(profile.name, profile.version, reported)


def findings_for(profile_name: str, profile_version: str | None, reported: Mapping[str, str]) -> tuple[str, ...]:
    """version_findings for a profile known by its name and KKP version (a verdict's profile_version)."""
    covered = {c.kkp: c.profile for c in coverage()}
    profile_name = ALIASES.get(profile_name, profile_name)
    out: list[str] = []
    for what, version in sorted(reported.items()):
        minor = kkp_minor(version)
        if minor is None:
            continue
        if minor not in covered:
            out.append(f"{what} reports KKP {version}, which no profile covers (credcheck covers KKP "
                       f"{', '.join(sorted(covered, key=_key))}); this verdict is for KKP {profile_version}'s code "
                       f"and may miss what {minor} calls: hack/kkp-audit/diff lists what changed, a newer credcheck "
                       "may cover it")
        elif profile_version and minor != profile_version and profile_name in covered.values():
            out.append(f"{what} reports KKP {version}, but this check uses {profile_name}: use {covered[minor]} "
                       "(the operator's --profile, a check's spec.requirements.profile)")
    return tuple(out)


def _key(minor: str) -> tuple[int, ...]:
    return tuple(int(x) for x in minor.split("."))


def table(rows: Sequence[Coverage]) -> str:
    """`requirements show --kkp-versions`: one line per profile and Kubernetes minor, then where it was read."""
    lines = ["PROFILE    KKP    KUBERNETES  CCM       MODE"]
    for c in rows:
        for minor, ccm, mode in c.kubernetes:
            lines.append(f"{c.profile:<10} {c.kkp:<6} {minor:<11} {ccm:<9} {mode}")
    lines.append("")
    for c in rows:
        lines.append(f"{c.profile}: calls read from {', '.join(c.read_from)}; Kubernetes minors and CCMs from "
                     f"{', '.join(c.versions_evidence)}")
    return "\n".join(lines)
