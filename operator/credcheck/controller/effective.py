"""A check's spec with the operator's defaults filled in (its settings: profile, upgrade profile, recommended
actions, interval, region): resolved once per reconcile, read by the check and its status."""

from dataclasses import dataclass

from credcheck.controller.settings import Settings
from credcheck.kube.spec import CheckSpec


@dataclass(frozen=True)
class Effective:
    """A check's spec with the operator's defaults filled in: resolved once, read by the check and its status."""

    spec: CheckSpec
    profile: str
    upgrade_profile: str | None
    include_recommended: bool
    interval: float
    region: str
    explicit_region: str | None  # spec.region: it overrides every Cluster's own region
    vouched: bool = False  # a discovered check: its Clusters' roles are KKP's, the auditor may simulate them (#33)


def effective(spec: CheckSpec, settings: Settings) -> Effective:
    req = spec.requirements
    return Effective(
        spec, req.profile or settings.profile, req.upgrade_profile or settings.upgrade_profile,
        settings.include_recommended if req.include_recommended is None else req.include_recommended,
        spec.interval_seconds or settings.interval_seconds, spec.region or settings.region, spec.region)
