"""What credcheck keeps of other people's secrets: the external ID stays in the Cluster, read at check time, and
a check can use it only with that Cluster's own Secret and role."""

import json

import pytest

from credcheck_testground import kkp

from .conftest import GOOD_POLICY, LEAST_POLICY, NS, SIMULATE, Seed, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]


def test_the_external_id_is_read_at_check_time_and_stored_nowhere(seed: Seed, unique: str) -> None:
    external_id = f"kkp-external-id-{unique}-never-stored"
    user_arn, keys = seed.aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, SIMULATE]}])
    role_arn = seed.aws.create_role(f"kkp-x{unique}", user_arn, [LEAST_POLICY], external_id=external_id)
    secret = f"credential-aws-x{unique}"
    seed.kkp_secret(secret, keys)
    cluster = kkp.cluster(f"x{unique}", secret, NS, assumeRoleARN=role_arn, assumeRoleExternalID=external_id)
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    found = wait_for(lambda: (c := seed.check(secret)) and (c.get("status") or {}).get("principal", {}).get("type")
                     == "assumed-role" and c, "a verdict as the assumed role (the external ID was sent)")
    assert found["spec"]["assumeRole"] == {"roleARN": role_arn, "externalIDFrom": {"cluster": f"x{unique}"}}
    events = seed.kubectl("get", "events", "-n", NS, "-o", "json").stdout
    for where, text in (("the check, its annotations (kopf's included)", json.dumps(found)),
                        ("Events", events), ("the operator's log", seed.log.read_text())):
        assert external_id not in text, f"the external ID is in {where}"

    # a new external ID on the Cluster (a new generation) re-checks with it, still without storing it
    cluster["spec"]["cloud"]["aws"]["assumeRoleExternalID"] = f"{external_id}-rotated"
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    rejected = seed.wait_condition(secret, ("False", "AssumeRoleFailed"), kind="CredentialsValid")
    assert "external ID" in rejected["status"]["conditions"][0]["message"]
    assert external_id not in json.dumps(seed.check(secret))


def test_a_check_cannot_pair_a_clusters_external_id_with_other_keys(seed: Seed, unique: str) -> None:
    """Without the webhook too: externalIDFrom works only for the Cluster's own Secret and role."""
    user_arn, keys = seed.aws.create_user(policies=[GOOD_POLICY])
    role_arn = seed.aws.create_role(f"kkp-y{unique}", user_arn, [LEAST_POLICY], external_id=f"ext-y{unique}-id")
    seed.kkp_secret(f"credential-aws-y{unique}", keys)
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(kkp.cluster(
        f"y{unique}", f"credential-aws-y{unique}", NS, assumeRoleARN=role_arn, assumeRoleExternalID=f"ext-y{unique}-id")))
    other = f"other-keys-{unique}"
    seed.kkp_secret(other, seed.user(GOOD_POLICY))
    seed.kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
        "metadata": {"name": f"borrow-{unique}", "namespace": NS},
        "spec": {"source": {"secretRef": {"name": other}},
                 "assumeRole": {"roleARN": role_arn, "externalIDFrom": {"cluster": f"y{unique}"}}}}))
    found = seed.wait_condition(f"borrow-{unique}", ("False", "ExternalIDUnavailable"))
    ready = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")
    assert f"Cluster y{unique} does not assume {role_arn} with Secret {NS}/{other}" in ready["message"]
