"""Which partition a check asks, with plain values; how a rejection is judged after asking the others (fake STS)."""

import json
from collections import Counter
from importlib import resources
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError

from credcheck.engine.aws.errors import describe
from credcheck.engine.aws.principal import NO_CLUSTER, Scope, elsewhere, refusing_regions, rejected
from credcheck.engine.iam.arn import (
    DEFAULT_REGIONS,
    PUBLIC_PARTITIONS,
    choose_partition,
    home_region,
    is_opt_in,
)
from credcheck.engine.model import Credential
from credcheck.engine.target import Target

KEY = Credential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def test_the_partition_of_most_clusters_is_asked_in_its_home_region() -> None:
    assert (choose_partition(["cn-northwest-1"]).partition, choose_partition(["cn-northwest-1"]).region) == \
        ("aws-cn", "cn-north-1")
    assert choose_partition(["us-gov-east-1"]).region == "us-gov-west-1"
    assert choose_partition(["eu-central-1", "me-south-1"]).region == "us-east-1"  # never the opt-in Region itself
    choice = choose_partition(["eu-central-1", "cn-north-1", "cn-northwest-1"])
    assert (choice.partition, choice.mixed) == ("aws-cn", True)
    assert choice.regions == (("aws", ("eu-central-1",)), ("aws-cn", ("cn-north-1", "cn-northwest-1")))
    assert choose_partition(["us-gov-west-1", "eu-west-1"]).partition == "aws-us-gov", "a tie: the first seen"
    assert choose_partition(["eu-west-1", "eu-west-1"]).regions == (("aws", ("eu-west-1",)),)
    assert not choose_partition(["eu-west-1", "us-east-2"]).mixed
    assert choose_partition([]).region == "us-east-1"
    assert choose_partition(["us-iso-east-1"]).region == "us-iso-east-1"


def test_what_a_check_is_about_each_cluster_in_its_region_else_the_checks_region() -> None:
    scope = Scope.of((Target("abc", "cn-north-1"), Target("def")), "us-east-1")
    assert scope.checked == (("cluster abc", "cn-north-1"), ("cluster def", "us-east-1"))
    assert scope.choice.mixed
    alone = Scope.of((), "us-gov-east-1")
    assert alone.checked == ((NO_CLUSTER, "us-gov-east-1"),)
    assert (alone.choice.partition, alone.region) == ("aws-us-gov", "us-gov-west-1")


@pytest.mark.parametrize(("region", "opt_in"), [
    ("me-south-1", True), ("ap-east-1", True), ("il-central-1", True), ("eu-central-2", True),
    ("ap-southeast-9", True),  # a Region launched tomorrow is opt-in: only the 17 of before 2019 are not
    ("eu-central-1", False), ("us-east-1", False), ("ap-northeast-3", False),
    ("cn-northwest-1", False), ("us-gov-east-1", False), ("us-iso-east-1", False), ("*", False), ("", False),
])
def test_opt_in_regions(region: str, opt_in: bool) -> None:
    assert is_opt_in(region) is opt_in


def test_default_regions_and_home_regions_are_botocores() -> None:
    endpoints = json.loads(resources.files("botocore").joinpath("data/endpoints.json").read_text())
    regions = {p["partition"]: set(p["regions"]) for p in endpoints["partitions"]}
    assert regions["aws"] >= DEFAULT_REGIONS
    for partition in PUBLIC_PARTITIONS:
        assert home_region(partition) in regions[partition]
        assert not is_opt_in(home_region(partition))


@pytest.mark.parametrize(("partition", "sts", "iam"), [
    ("aws", "https://sts.us-east-1.amazonaws.com", "https://iam.amazonaws.com"),
    ("aws-cn", "https://sts.cn-north-1.amazonaws.com.cn", "https://iam.cn-north-1.amazonaws.com.cn"),
    ("aws-us-gov", "https://sts.us-gov-west-1.amazonaws.com", "https://iam.us-gov.amazonaws.com"),
])
def test_a_client_of_the_home_region_reaches_the_partitions_endpoints(partition: str, sts: str, iam: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """What AWSSession relies on: botocore resolves a client of the home Region to that partition's endpoints."""
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_STS_REGIONAL_ENDPOINTS"):
        monkeypatch.delenv(var, raising=False)
    session = botocore.session.get_session()
    region = home_region(partition)
    assert session.create_client("sts", region_name=region, aws_access_key_id="a",
                                 aws_secret_access_key="b").meta.endpoint_url == sts
    assert session.create_client("iam", region_name=region, aws_access_key_id="a",
                                 aws_secret_access_key="b").meta.endpoint_url == iam


# --- a rejection, judged after asking the other partitions (fake STS per Region) --------------------------------


def _error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "The security token included in the request is invalid."}},
                       "GetCallerIdentity")


class _FakeSession:
    """A session whose STS answers from a table: Region -> caller ARN, or an exception to raise."""

    def __init__(self, answers: dict[str, Any], region: str, asked: list[str]) -> None:
        self.answers, self.region, self.asked = answers, region, asked
        self.calls: Counter[str] = Counter()
        self.credential = KEY

    def client(self, service: str) -> "_FakeSession":
        assert service == "sts"
        return self

    def get_caller_identity(self) -> dict[str, str]:
        self.asked.append(self.region)
        answer = self.answers.get(self.region, _error("InvalidClientTokenId"))
        if isinstance(answer, Exception):
            raise answer
        return {"Arn": answer}


def _probe(answers: dict[str, Any], asked: list[str]) -> Any:
    return lambda credential, region: _FakeSession(answers, region, asked)


def test_a_key_another_partition_knows_is_wrong_partition() -> None:
    asked: list[str] = []
    scope = Scope.of((Target("abc", "eu-central-1"),), "us-east-1")
    failure = rejected(_error("InvalidClientTokenId"), KEY, scope,
                       _probe({"cn-north-1": "arn:aws-cn:iam::111122223333:user/kkp"}, asked))
    assert failure.reason == "WrongPartition"
    assert asked == ["cn-north-1"], "the first partition that knows the key ends the search"
    for fragment in ("belongs to the aws-cn partition (account 111122223333", "cluster abc (eu-central-1)",
                     "is in aws", "InvalidClientTokenId", "keys of an IAM identity in aws", "Region of aws-cn"):
        assert fragment in failure.message
    assert KEY.access_key_id not in failure.message and KEY.secret_access_key not in failure.message


def test_a_key_no_partition_knows_is_invalid_and_says_where_it_was_asked() -> None:
    asked: list[str] = []
    scope = Scope.of((Target("abc", "cn-north-1"),), "us-east-1")
    failure = rejected(_error("InvalidClientTokenId"), KEY, scope, _probe({}, asked))
    assert failure.reason == "InvalidCredentials"
    assert asked == ["us-east-1", "us-gov-west-1"]
    assert "in aws-cn, and aws and aws-us-gov do not know it either" in failure.message
    assert "update the Secret with a valid key pair" in failure.message


def test_a_partition_that_cannot_be_reached_is_named_and_does_not_hide_an_invalid_key() -> None:
    unreachable = ConnectTimeoutError(endpoint_url="https://sts.cn-north-1.amazonaws.com.cn")
    failure = rejected(_error("InvalidClientTokenId"), KEY, Scope.of((), "us-east-1"),
                       _probe({"cn-north-1": unreachable}, []))
    assert failure.reason == "InvalidCredentials"
    assert "aws-us-gov does not know it either (could not ask aws-cn: AWSUnreachable): the key id" in failure.message


def test_a_key_id_known_elsewhere_with_a_wrong_secret_is_invalid_naming_its_partition() -> None:
    failure = rejected(_error("InvalidClientTokenId"), KEY, Scope.of((), "us-east-1"),
                       _probe({"cn-north-1": _error("SignatureDoesNotMatch")}, []))
    assert failure.reason == "InvalidCredentials"
    assert "the key id belongs to the aws-cn partition, but its secret is wrong" in failure.message


def test_a_wrong_secret_or_other_failure_asks_no_other_partition() -> None:
    asked: list[str] = []
    scope = Scope.of((), "us-east-1")
    assert rejected(_error("SignatureDoesNotMatch"), KEY, scope, _probe({}, asked)).reason == "InvalidCredentials"
    assert rejected(_error("Throttling"), KEY, scope, _probe({}, asked)).reason == "Throttled"
    assert asked == []


def test_clusters_in_two_partitions_and_a_key_of_the_fewer_is_mixed_partitions() -> None:
    scope = Scope.of((Target("a", "eu-central-1"), Target("b", "eu-west-1"), Target("c", "cn-north-1")), "us-east-1")
    failure = elsewhere(KEY, scope.choice, scope.checked, _probe({"cn-north-1": "arn:aws-cn:iam::1:user/k"}, []),
                        "InvalidClientTokenId")
    assert failure.reason == "MixedPartitions"
    assert "aws: cluster a (eu-central-1), cluster b (eu-west-1); aws-cn: cluster c (cn-north-1)" in failure.message
    assert "these keys belong to aws-cn" in failure.message


def test_an_air_gapped_partition_asks_no_other() -> None:
    asked: list[str] = []
    scope = Scope.of((Target("a", "us-iso-east-1"),), "us-east-1")
    assert rejected(_error("InvalidClientTokenId"), KEY, scope, _probe({}, asked)).reason == "InvalidCredentials"
    assert asked == []


def test_only_opt_in_regions_are_asked_and_one_that_refuses_is_named() -> None:
    asked: list[str] = []
    checked = (("cluster a", "eu-central-1"), ("cluster b", "me-south-1"), ("cluster c", "me-south-1"),
               ("cluster d", "ap-east-1"), ("cluster e", "il-central-1"))
    answers = {"ap-east-1": "arn:aws:iam::1:user/k",
               "il-central-1": ConnectTimeoutError(endpoint_url="https://sts.il-central-1.amazonaws.com")}
    refused, notes = refusing_regions(KEY, checked, _probe(answers, asked))
    assert asked == ["me-south-1", "ap-east-1", "il-central-1"]
    assert refused == [("me-south-1", "InvalidClientTokenId")]
    assert notes == ["could not ask STS in the opt-in Region il-central-1 whether the account has enabled it "
                     "(AWSUnreachable)"]


def test_sts_deactivated_in_a_region_is_region_not_enabled() -> None:
    failure = describe(_error("RegionDisabledException"), "sts:AssumeRole", "us-gov-west-1")
    assert failure.reason == "RegionNotEnabled"
    assert "in us-gov-west-1" in failure.message
