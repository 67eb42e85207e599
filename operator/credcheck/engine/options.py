"""What a check is asked and with what it reaches AWS: CheckOptions, assembled by check_options() alone (the
operator's reconcile and the CLI's `check` both call it)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from credcheck.engine.aws.accesskeys import AccessKeyFacts
from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.cloudtrail import DenialReader
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSClients, RetryPolicy
from credcheck.engine.iam.arn import template
from credcheck.engine.model import AssumeRole, Principal
from credcheck.engine.requirements.profiles import Profile
from credcheck.engine.target import Target


@dataclass(frozen=True)
class Auditor:
    """A separate identity that simulates when a credential may not simulate itself (its sessions and failures are
    remembered by CheckOptions.auditor_cache)."""

    aws_profile: str | None = None  # boto3 profile; None: the default chain (environment, instance role)
    role_arn: str | None = None  # e.g. arn:{partition}:iam::{account}:role/credcheck-auditor, assumed per account

    def role_for(self, principal: Principal) -> str:
        """The role to assume for the principal's account ("": none, the profile's identity simulates)."""
        if not self.role_arn:
            return ""
        return template(self.role_arn, account=principal.account, partition=principal.partition)


@dataclass(frozen=True)
class CheckOptions:
    profile: Profile
    aws: AWSClients = field(kw_only=True)  # the process's, built once (the operator's Runtime, a CLI command)
    auditor_cache: AuditorCache = field(kw_only=True)  # likewise: shared by every check of the process
    region: str = "us-east-1"  # for Clusters whose region is not known (and for checks without a Cluster)
    assume_role: AssumeRole | None = None
    skip_features: tuple[str, ...] = ()
    auditor: Auditor | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter | None = None  # shared by every check: a cap on calls per second per account
    targets: tuple[Target, ...] = ()  # the Clusters using the credential; none: one check without a Cluster
    target_profile: Profile | None = None  # the KKP version to report upgrade readiness for
    include_recommended: bool = False  # also simulate on-request features (documented, never called)
    denial_reader: DenialReader | None = None  # read what AWS refused the credential (CloudTrail), opt-in
    # the auditor simulates a control-plane role (and reads its CloudTrail denials) only for roles a Cluster KKP runs
    # names for this credential (the operator: discovered checks); never for a role a check's maker typed (#33)
    audit_roles: bool = True
    excess_permissions: bool = False  # also ask the high-risk actions KKP never calls (engine/excess.py)
    key_facts: AccessKeyFacts | None = None  # read the keys' user's access keys (engine/aws/accesskeys.py)
    seed_egress: tuple[str, ...] = ()  # the seed's egress addresses/CIDRs: aws:SourceIp of the CCM's AssumeRole


def check_options(profile: Profile, *, aws: AWSClients, auditor_cache: AuditorCache, region: str,
                  assume_role: AssumeRole | None, skip_features: Sequence[str], targets: Sequence[Target],
                  target_profile: Profile | None, include_recommended: bool, denial_reader: DenialReader | None,
                  auditor_profile: str | None, auditor_role_arn: str | None, seed_egress: Sequence[str],
                  limiter: RateLimiter | None = None, audit_roles: bool = True, excess_permissions: bool = False,
                  key_facts: AccessKeyFacts | None = None) -> CheckOptions:
    """One check's options, from what the operator's settings or the CLI's flags say: an auditor only when its
    profile or its role is given. The keywords without defaults are the ones both callers decide; the others only
    the operator sets (the CLI checks without a rate limit, key facts or excess questions, and audits any role)."""
    auditor = Auditor(auditor_profile, auditor_role_arn) if auditor_profile or auditor_role_arn else None
    return CheckOptions(profile, aws=aws, auditor_cache=auditor_cache, region=region, assume_role=assume_role,
                        skip_features=tuple(skip_features), auditor=auditor, limiter=limiter, targets=tuple(targets),
                        target_profile=target_profile, include_recommended=include_recommended,
                        denial_reader=denial_reader, audit_roles=audit_roles, excess_permissions=excess_permissions,
                        key_facts=key_facts, seed_egress=tuple(seed_egress))
