"""The operator's settings: each a flag and an environment variable (CREDCHECK_<NAME>)."""

import argparse
import os
from dataclasses import dataclass, fields
from typing import Any

from credcheck.engine.requirements.profiles import DEFAULT_PROFILE
from credcheck.engine.trust import egress_addresses
from credcheck.kube.contract import parse_duration


@dataclass(frozen=True)
class Settings:
    namespaces: tuple[str, ...] = ("kubermatic",)
    """Namespaces whose KKP credential Secrets are discovered and checked."""

    operator_namespace: str = "kubermatic"
    """Where checks for Presets are created (Presets are cluster-scoped)."""

    profile: str = DEFAULT_PROFILE
    """Requirement profile of checks that name none: kkp (the newest KKP), kkp-2.29/2.30/2.31, kkp-docs, eks, or
    configmap:NAME/KEY. Set it to the KKP version the seed runs."""

    upgrade_profile: str | None = None
    """The KKP version to report upgrade readiness for (e.g. kkp-2.31): the UpgradeReady condition."""

    include_recommended: bool = False
    """Also simulate what KKP's documentation grants but no KKP code calls (recommended, never failing)."""

    observe_denials: bool = False
    """Read what AWS refused each credential in the last 24 h (CloudTrail LookupEvents, with the keys or the
    auditor; cloudtrail:LookupEvents needed) into status.observedDenials, and flag where AWS and the simulation
    disagree."""

    seed_egress_cidrs: tuple[str, ...] = ()
    """The seed's egress addresses or CIDRs (at most 256 addresses): the aws:SourceIp of the cloud-controller-manager's
    AssumeRole, so a control-plane role's trust policy conditioned on it is decided instead of Unknown."""

    region: str = "us-east-1"
    """Region of Clusters whose datacenter is in no Seed, and of checks without Clusters (a check's spec.region
    wins over both and over the Seed)."""

    interval: str = "6h"
    """Default re-check interval of discovered checks (jittered by 10%)."""

    resync_interval: str = "10m"
    """How often discovery re-derives every check from KKP's objects, whatever events were missed."""

    concurrency: int = 4
    """How many checks talk to AWS at once."""

    aws_calls_per_second: float = 5.0
    """Cap on AWS API calls per second per account, across all checks (0: no cap)."""

    retry_base: str = "1m"
    """First retry delay of a check that could not verify; doubles per failure, up to the interval."""

    cache_ttl: str = "5m"
    """How long one credential's verdict is shared by every check that uses it."""

    auditor_profile: str | None = None
    """boto3 profile of an auditor identity that simulates when a credential may not simulate itself."""

    auditor_role_arn: str | None = None
    """Auditor role assumed per account, e.g. arn:aws:iam::{account}:role/credcheck-auditor."""

    presets: bool = True
    """Discover and check the AWS credentials in KKP Presets."""

    log_format: str = "text"
    """text or json."""

    metrics_port: int = 8080
    """Port of /metrics."""

    health_port: int = 8081
    """Port of /healthz (kopf's liveness endpoint)."""

    webhook_mode: str = "warn"
    """Admission for KKP credential Secrets and Presets: off, warn (allow with warnings) or enforce (deny malformed)."""

    webhook_address: str = "0.0.0.0"  # noqa: S104 - the API server reaches it through a Service
    """Address the webhook listens on."""

    webhook_port: int = 9443
    """HTTPS port of the admission webhook."""

    webhook_cert_dir: str | None = None
    """Folder with tls.crt and tls.key for the webhook; without it the webhook is not served."""

    webhook_live: bool = False
    """Also run the permission check during admission and warn about missing required actions."""

    webhook_live_budget: str = "3s"
    """How long a live admission check may take: past it the write is allowed and the check makes no more AWS
    calls (the operator's own check reports the verdict)."""

    webhook_live_concurrency: int = 2
    """Live admission checks running at once, in a pool of their own; a write over it is allowed with a warning."""

    webhook_client_ca: str | None = None
    """CA bundle (PEM file) of the client certificate the kube-apiserver presents to webhooks (its
    AdmissionConfiguration kubeconfig): set, the webhook refuses any caller without a certificate it signed."""

    webhook_client_names: tuple[str, ...] = ()
    """Common names the webhook accepts from client certificates signed by --webhook-client-ca (empty: any)."""

    dev_endpoints: bool = False
    """Development only: honour AWS_ENDPOINT_URL* and `endpoint_url` in the AWS config (e.g. a local AWS endpoint
    over http). Off, every AWS request goes over https to an AWS host."""

    leader_election: bool = True
    """Run the handlers only while holding the coordination.k8s.io Lease (the webhook is served regardless)."""

    leader_lease_name: str = "credcheck"
    """Name of the Lease, in the operator namespace."""

    leader_identity: str | None = None
    """This replica's identity in the Lease: the pod's name (POD_NAME) in a cluster, else host and process id."""

    leader_lease_duration: str = "15s"
    """How long a standby waits after the leader's last renewal before taking over."""

    leader_renew_deadline: str = "10s"
    """A leader that could not renew for this long stops (exits), before any standby may take over."""

    leader_retry_period: str = "2s"
    """How often the leader renews and a standby looks at the Lease."""

    cluster_events: bool = True
    """Post a Warning Event on each KKP Cluster a verdict breaks (and a Normal one when fixed), where KKP's dashboard
    shows a cluster's Events to its project's members (in the namespace default; needs a Role there)."""

    excess_permissions: bool = True
    """Also simulate high-risk actions KKP never calls (iam:CreateUser, organizations:*, …) in the check's own
    calls and report those allowed in status.excessPermissions (informational: never changes Ready)."""

    key_hygiene: bool = True
    """Read the keys' user's access keys (iam:ListAccessKeys, iam:GetAccessKeyLastUsed; with the keys or the
    auditor) into status.keys, with findings on old, unused and still-used other keys (never changes Ready)."""

    key_max_age_days: int = 90
    """An access key older than this many days is an old key (status.keys, alert CredcheckAccessKeyOld)."""

    key_unused_days: int = 30
    """A key no Cluster uses that AWS has not seen used for this many days is an unused key."""

    key_facts_ttl: str = "1h"
    """How long a key's facts (age, last use, the user's other key) are reused before IAM is asked again."""
    rotation: bool = True
    """Follow which keys each covered KKP Cluster runs on: get its `cluster-<id>/cloud-credentials` copy by name
    and list its namespace's Deployments (credentialInUse per Cluster, the RotationComplete condition)."""

    rotation_grace: str = "15m"
    """How long a Cluster may stay Rotating (copy or rollout behind its credential) before it is Stale."""

    rotation_recheck: str = "1m"
    """While a Cluster is Rotating, Stale or Invalid (or has no copy yet, within the grace), its check looks again
    this soon (the permissions' verdict comes from the cache while it is fresh; one sts:GetCallerIdentity with the
    Cluster's copy's keys per look)."""

    @property
    def interval_seconds(self) -> float:
        return parse_duration(self.interval)

    @property
    def resync_seconds(self) -> float:
        return parse_duration(self.resync_interval)

    @property
    def retry_base_seconds(self) -> float:
        return parse_duration(self.retry_base)

    @property
    def cache_ttl_seconds(self) -> float:
        return parse_duration(self.cache_ttl)

    @property
    def rotation_grace_seconds(self) -> float:
        return parse_duration(self.rotation_grace)

    @property
    def rotation_recheck_seconds(self) -> float:
        return parse_duration(self.rotation_recheck)


def _env_name(name: str) -> str:
    return f"CREDCHECK_{name.upper()}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per setting; its default comes from CREDCHECK_<NAME> when set."""
    for f in fields(Settings):
        default = os.environ.get(_env_name(f.name))
        flag = "--" + f.name.replace("_", "-")
        help_text = f"default {getattr(Settings(), f.name)!r}; env {_env_name(f.name)}"
        if f.type in (bool, "bool"):
            parser.add_argument(flag, default=None if default is None else default.lower() in ("1", "true", "yes"),
                                action=argparse.BooleanOptionalAction, help=help_text)
        else:
            parser.add_argument(flag, default=default, help=help_text)


def from_arguments(args: argparse.Namespace) -> Settings:
    values: dict[str, Any] = {}
    base = Settings()
    for f in fields(Settings):
        raw = getattr(args, f.name, None)
        if raw is None:
            continue
        current = getattr(base, f.name)
        if isinstance(current, tuple):
            values[f.name] = tuple(n.strip() for n in str(raw).split(",") if n.strip())
        elif isinstance(current, bool):
            values[f.name] = bool(raw)
        elif isinstance(current, int):
            values[f.name] = int(raw)
        elif isinstance(current, float):
            values[f.name] = float(raw)
        else:
            values[f.name] = raw
    settings = Settings(**values)
    settings.interval_seconds  # noqa: B018 - validate now, not at the first check
    settings.cache_ttl_seconds  # noqa: B018
    settings.retry_base_seconds  # noqa: B018
    parse_duration(settings.key_facts_ttl)
    if settings.key_max_age_days < 1 or settings.key_unused_days < 1:
        raise ValueError("--key-max-age-days and --key-unused-days must be at least 1")
    settings.rotation_grace_seconds  # noqa: B018
    settings.rotation_recheck_seconds  # noqa: B018
    if settings.resync_seconds < 1:
        raise ValueError("--resync-interval must be at least 1s")
    if settings.log_format not in ("text", "json"):
        raise ValueError("--log-format takes text or json")
    if settings.webhook_mode not in ("off", "warn", "enforce"):
        raise ValueError("--webhook-mode takes off, warn or enforce")
    if not 0 < parse_duration(settings.webhook_live_budget) <= 5:
        raise ValueError("--webhook-live-budget must be between 1s and 5s (the webhook times out at 5s)")
    egress_addresses(settings.seed_egress_cidrs)  # EgressError (a ValueError) names the bad one
    if settings.webhook_live_concurrency < 1:
        raise ValueError("--webhook-live-concurrency must be at least 1")
    lease = [parse_duration(getattr(settings, f"leader_{n}")) for n in ("lease_duration", "renew_deadline",
                                                                       "retry_period")]
    if not 0 < lease[2] < lease[1] < lease[0]:
        raise ValueError("leader election needs 0 < --leader-retry-period < --leader-renew-deadline < "
                         "--leader-lease-duration")
    return settings
