"""Partitions through the test ground: keys of aws-cn and aws-us-gov are checked in their own partition, a key
checked in the wrong one is WrongPartition (never InvalidCredentials), an opt-in Region not enabled is named.

The test ground keeps IAM and STS apart per partition by the Region each request is signed for, as AWS keeps them
apart by endpoint: a user created in aws-cn exists only there (calls_by_region shows where credcheck asked).
"""

import json
import uuid
from typing import Any

import pytest
from statuses import conditions

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import CheckOptions, run_check
from credcheck.engine.model import AssumeRole, Credential, Status
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck_testground.aws import ACCOUNT, Keys, LocalAWS

pytestmark = pytest.mark.aws
# as the operator's runtime does: one set of clients (honouring the test ground's AWS_ENDPOINT_URL, as --dev-endpoints
# does) and one auditor memory for every check of this module
AWS = AWSClients(honour_configured_endpoints=True)
AUDITORS = AuditorCache()
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
HOME = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}


@pytest.fixture(autouse=True)
def _endpoint(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def regions(local_aws: LocalAWS) -> Any:
    local_aws.disable_regions([])
    yield local_aws
    local_aws.disable_regions([])


def cred(keys: Keys) -> Credential:
    return Credential(keys.access_key_id, keys.secret_access_key)


def check(keys: Keys, *targets: Target, region: str = "us-east-1", **kwargs: Any) -> Any:
    return run_check(cred(keys), CheckOptions(load_profile("kkp"), region=region, targets=targets, aws=AWS,
                                              auditor_cache=AUDITORS, **kwargs))


def printed_policy(partition: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    from credcheck.cli.main import main  # noqa: PLC0415 - the CLI's own output is the input here

    assert main(["requirements", "show", "kkp", "--format", "policy", "--account", ACCOUNT,
                 "--partition", partition]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_the_test_ground_keeps_partitions_apart(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(partition="aws-cn")
    assert arn.startswith(f"arn:aws-cn:iam::{ACCOUNT}:user/")
    assert local_aws.client("sts", keys, partition="aws-cn").get_caller_identity()["Arn"] == arn
    assert local_aws.client("sts", keys, region="cn-northwest-1").get_caller_identity()["Arn"] == arn
    for elsewhere in ("us-east-1", "us-gov-west-1"):
        with pytest.raises(Exception, match="InvalidClientTokenId"):
            local_aws.client("sts", keys, region=elsewhere).get_caller_identity()


@pytest.mark.parametrize(("partition", "region"), [("aws-cn", "cn-northwest-1"), ("aws-us-gov", "us-gov-east-1")])
def test_keys_of_a_partition_are_checked_there_and_the_printed_policy_is_ready(
        partition: str, region: str, local_aws: LocalAWS, capsys: pytest.CaptureFixture[str]) -> None:
    arn, keys = local_aws.create_user(policies=[printed_policy(partition, capsys),
                                                {"Version": "2012-10-17", "Statement": [SIMULATE]}],
                                      partition=partition)
    local_aws.reset_calls()
    verdict = check(keys, Target("abc", region, "1.34.2"))  # the operator's region (us-east-1) plays no part
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.principal.caller_arn == arn and verdict.principal.partition == partition
    assert conditions(verdict)["CredentialsValid"] == ("True", "Valid")
    assert [c.region for c in verdict.clusters] == [region]
    asked = local_aws.calls_by_region()
    assert set(asked) == {HOME[partition]}, "STS and IAM of the partition's home Region, nothing else"
    assert asked[HOME[partition]]["GetCallerIdentity"] == 1
    assert asked[HOME[partition]]["SimulatePrincipalPolicy"] == verdict.aws_calls["iam:SimulatePrincipalPolicy"] > 0
    assert all(f":{partition}:" in r.requirement.resource or r.requirement.resource == "*"
               or not r.requirement.resource.startswith("arn:") for r in verdict.results)


def test_without_a_cluster_the_checks_region_picks_the_partition(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(policies=[ALL], partition="aws-us-gov")
    local_aws.reset_calls()
    verdict = check(keys, region="us-gov-east-1")
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.principal.caller_arn == arn
    assert set(local_aws.calls_by_region()) == {"us-gov-west-1"}


def test_a_china_key_for_a_cluster_in_frankfurt_is_wrong_partition_not_invalid(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[ALL], partition="aws-cn")
    verdict = check(keys, Target("abc", "eu-central-1", "1.34.2"))
    assert (verdict.status, verdict.reason) == (Status.UNKNOWN, "WrongPartition")
    assert verdict.principal is None
    assert conditions(verdict) == {"CredentialsValid": ("Unknown", "WrongPartition"),
                                   "PermissionsSufficient": ("Unknown", "WrongPartition"),
                                   "Ready": ("Unknown", "WrongPartition")}
    for fragment in ("belongs to the aws-cn partition", "cluster abc (eu-central-1)", "is in aws",
                     "keys of an IAM identity in aws", "Region of aws-cn"):
        assert fragment in verdict.message
    assert keys.access_key_id not in verdict.message and keys.secret_access_key not in verdict.message
    assert verdict.aws_calls == {"sts:GetCallerIdentity": 2}, "asked in aws, then in aws-cn, which knew it"


def test_a_commercial_key_for_a_cluster_in_govcloud_is_wrong_partition(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[ALL])
    verdict = check(keys, Target("abc", "us-gov-west-1", "1.34.2"))
    assert verdict.reason == "WrongPartition", verdict.message
    assert "belongs to the aws partition" in verdict.message and "is in aws-us-gov" in verdict.message


def test_keys_no_partition_knows_are_still_invalid(local_aws: LocalAWS) -> None:
    verdict = check(Keys("AKIAZZZZZZZZZZZZZZZZ", "A" * 40), Target("abc", "eu-central-1", "1.34.2"))
    assert (verdict.status, verdict.reason) == (Status.INVALID, "InvalidCredentials")
    assert conditions(verdict)["CredentialsValid"] == ("False", "InvalidCredentials")
    assert "in aws, and aws-cn and aws-us-gov do not know it either" in verdict.message
    assert "update the Secret with a valid key pair" in verdict.message
    assert verdict.aws_calls == {"sts:GetCallerIdentity": 3}


def test_a_wrong_secret_is_invalid_and_names_the_keys_partition(local_aws: LocalAWS) -> None:
    _, keys = local_aws.create_user(policies=[ALL], partition="aws-cn")
    wrong = Keys(keys.access_key_id, "A" * 40)
    at_home = check(wrong, Target("abc", "cn-north-1", "1.34.2"))
    assert (at_home.reason, at_home.aws_calls) == ("InvalidCredentials", {"sts:GetCallerIdentity": 1})
    abroad = check(wrong, Target("abc", "eu-central-1", "1.34.2"))
    assert abroad.reason == "InvalidCredentials"
    assert "the key id belongs to the aws-cn partition, but its secret is wrong" in abroad.message


def test_clusters_in_two_partitions_are_mixed_partitions(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(policies=[ALL])
    verdict = check(keys, Target("a", "eu-central-1", "1.34.2"), Target("b", "eu-west-1", "1.34.2"),
                    Target("c", "cn-north-1", "1.34.2"))
    assert (verdict.status, verdict.reason) == (Status.UNKNOWN, "MixedPartitions")
    assert verdict.principal.caller_arn == arn, "the keys are known: CredentialsValid stays True"
    assert conditions(verdict)["Ready"] == ("Unknown", "MixedPartitions")
    assert "KKP cannot use them for cluster c (cn-north-1)" in verdict.message
    # the key of the fewer Clusters' partition: found by asking it, still MixedPartitions
    _, cn_keys = local_aws.create_user(policies=[ALL], partition="aws-cn")
    verdict = check(cn_keys, Target("a", "eu-central-1", "1.34.2"), Target("c", "cn-north-1", "1.34.2"),
                    Target("d", "eu-west-1", "1.34.2"))
    assert verdict.reason == "MixedPartitions" and "these keys belong to aws-cn" in verdict.message


def test_an_opt_in_region_the_account_has_not_enabled_is_named(regions: LocalAWS) -> None:
    arn, keys = regions.create_user(policies=[ALL])
    enabled = check(keys, Target("abc", "me-south-1", "1.34.2"))
    assert enabled.status is Status.SUFFICIENT, enabled.message
    assert enabled.aws_calls["sts:GetCallerIdentity"] == 2, "the opt-in Region's STS is asked once"
    regions.disable_regions(["me-south-1"])
    regions.reset_calls()
    verdict = check(keys, Target("abc", "me-south-1", "1.34.2"), Target("def", "eu-central-1", "1.34.2"))
    assert (verdict.status, verdict.reason) == (Status.UNKNOWN, "RegionNotEnabled")
    assert verdict.principal.caller_arn == arn
    assert conditions(verdict)["CredentialsValid"] == ("True", "Valid")
    assert "cluster abc in me-south-1: the opt-in Region me-south-1 is not enabled for account" in verdict.message
    assert "SimulatePrincipalPolicy" not in regions.calls_by_region().get("us-east-1", {})
    # nothing in an opt-in Region: no extra question
    assert check(keys, Target("def", "eu-central-1", "1.34.2")).aws_calls["sts:GetCallerIdentity"] == 1


def test_the_role_kkp_assumes_is_asked_of_its_partition_too(regions: LocalAWS) -> None:
    user_arn, keys = regions.create_user(policies=[ALL], partition="aws-cn")
    role = regions.create_role(f"kkp-cn-{uuid.uuid4().hex[:8]}", user_arn, [ALL], external_id="kkp-1",
                               partition="aws-cn")
    assert role.startswith("arn:aws-cn:iam::")
    regions.reset_calls()
    verdict = check(keys, Target("abc", "cn-north-1", "1.34.2"), assume_role=AssumeRole(role, "kkp-1"))
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert verdict.principal.partition == "aws-cn" and verdict.principal.kind == "assumed-role"
    assert set(regions.calls_by_region()) == {"cn-north-1"}
