import json
from importlib import resources

import pytest

from credcheck.engine.iam.arn import PARTITIONS, Arn, ArnError, partition_of_region, resource_matches, template


def test_parse_and_format_round_trip() -> None:
    text = "arn:aws:iam::111122223333:role/team/kubernetes-abc"
    arn = Arn.parse(text)
    assert (arn.partition, arn.service, arn.region, arn.account) == ("aws", "iam", "", "111122223333")
    assert arn.resource == "role/team/kubernetes-abc"
    assert arn.resource_type == "role"
    assert str(arn) == text


def test_resource_may_contain_colons() -> None:
    arn = Arn.parse("arn:aws:logs:us-east-1:111122223333:log-group:/x:*")
    assert arn.resource == "log-group:/x:*"
    assert arn.resource_type == "log-group"


@pytest.mark.parametrize("text", ["", "arn:aws:iam", "urn:aws:iam::1:role/x", "arn::iam::1:role/x", "arn:aws:iam::1:"])
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(ArnError):
        Arn.parse(text)


@pytest.mark.parametrize(("region", "partition"), [
    ("eu-central-1", "aws"), ("us-east-2", "aws"), ("us-gov-west-1", "aws-us-gov"), ("cn-northwest-1", "aws-cn"),
    ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b"),
])
def test_partition_of_region(region: str, partition: str) -> None:
    assert partition_of_region(region) == partition


def test_partitions_match_botocore() -> None:
    endpoints = json.loads(resources.files("botocore").joinpath("data/endpoints.json").read_text())
    botocore_partitions = {p["partition"]: p for p in endpoints["partitions"]}
    assert set(PARTITIONS) <= set(botocore_partitions) | {"aws-eusc"}
    for name in ("aws", "aws-cn", "aws-us-gov"):
        assert name in PARTITIONS
        assert PARTITIONS[name].dns_suffix == botocore_partitions[name]["dnsSuffix"]


def test_template_fills_every_placeholder() -> None:
    assert template("arn:{partition}:iam::{account}:role/kubernetes-*", account="123456789012",
                    partition="aws-cn") == "arn:aws-cn:iam::123456789012:role/kubernetes-*"
    assert template("arn:aws:iam::YOUR_ACCOUNT_ID:instance-profile/*", account="123456789012") == \
        "arn:aws:iam::123456789012:instance-profile/*"


@pytest.mark.parametrize(("pattern", "resource", "expected"), [
    ("*", "arn:aws:iam::1:role/x", True),
    ("arn:aws:iam::1:role/k8s-*", "arn:aws:iam::1:role/k8s-a", True),
    ("arn:aws:iam::1:role/K8S-*", "arn:aws:iam::1:role/k8s-a", False),
    ("arn:aws:iam::1:role/k8s-?", "arn:aws:iam::1:role/k8s-ab", False),
    ("arn:aws:iam::*:role/x", "arn:aws:iam::2:role/x", True),
    ("arn:aws:ec2:*:1:*", "arn:aws:iam::1:role/x", False),
    ("arn:aws:iam::1*", "arn:aws:iam::1:role/x", True),
])
def test_resource_matches(pattern: str, resource: str, expected: bool) -> None:
    assert resource_matches(pattern, resource) is expected
