"""The verdict cache's key (controller/cache_key.py): checks share a verdict only when everything the verdict rests
on is equal, and the key shows no key material."""

from dataclasses import replace

import pytest

from credcheck.controller.cache_key import cache_key
from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.model import AssumeRole, Credential
from credcheck.engine.options import CheckOptions
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target

KEYS = Credential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
BASE = CheckOptions(load_profile("kkp"), aws=AWSClients(honour_configured_endpoints=False),
                    auditor_cache=AuditorCache(), region="eu-west-1", targets=(Target(cluster="abc"),),
                    audit_roles=False)


def key(options: CheckOptions = BASE, profile_id: str = "kkp", upgrade_id: str | None = None,
        credential: Credential = KEYS) -> str:
    return cache_key(credential, options, profile_id, upgrade_id)


def test_equal_checks_share_one_key_and_the_key_shows_no_key_material() -> None:
    assert key() == key(replace(BASE, aws=AWSClients(honour_configured_endpoints=False), auditor_cache=AuditorCache()))
    assert KEYS.access_key_id not in key() and KEYS.secret_access_key not in key()


@pytest.mark.parametrize("changed", [
    replace(BASE, assume_role=AssumeRole("arn:aws:iam::123456789012:role/kkp")),
    replace(BASE, assume_role=AssumeRole("arn:aws:iam::123456789012:role/kkp", "ext-1")),
    replace(BASE, skip_features=("iam-reconciling",)),
    replace(BASE, region="us-east-1"),
    replace(BASE, targets=(Target(cluster="other"),)),
    replace(BASE, include_recommended=True),
    replace(BASE, audit_roles=True),
    replace(BASE, seed_egress=("192.0.2.0/24",)),
], ids=["role", "external-id", "skipped-feature", "region", "clusters", "recommended", "vouched", "seed-egress"])
def test_a_check_that_differs_in_what_its_verdict_rests_on_gets_a_key_of_its_own(changed: CheckOptions) -> None:
    assert key(changed) != key()


def test_other_keys_profiles_or_upgrade_profiles_get_keys_of_their_own() -> None:
    assert key(profile_id="0123abcd") != key()
    assert key(upgrade_id="kkp-2.31") != key()
    assert key(credential=replace(KEYS, secret_access_key="x" * 40)) != key()
