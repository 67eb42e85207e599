"""The verdict cache's key for a check: the credential and everything its verdict depends on (role, external ID,
profiles, features, region, Clusters, whether it is vouched for, the seed's egress), hashed with no key material
left readable. Checks with equal keys share one verdict (controller/verdict_cache.py)."""

from credcheck.engine.check import CheckOptions
from credcheck.engine.model import Credential


def cache_key(credential: Credential, options: CheckOptions, profile_id: str, upgrade_id: str | None) -> str:
    """profile_id / upgrade_id: the profiles' fingerprints (a built-in's name, a ConfigMap text's hash); None: no
    upgrade profile. A discovered check's verdict (audit_roles: vouched) is never a user's check's."""
    role = options.assume_role
    return credential.fingerprint(role.role_arn if role else "", (role.external_id or "") if role else "",
                                  profile_id, ",".join(options.skip_features), options.region,
                                  repr(options.targets), upgrade_id or "", str(options.include_recommended),
                                  "vouched" if options.audit_roles else "", ",".join(options.seed_egress))
