"""The test ground's own condition matcher (not credcheck's evaluator), on the IAM User Guide's examples."""

import pytest

from credcheck_testground.conditions import UnsupportedOperator, conditions_hold

EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "Unique ID Assigned by Example Corp"}}


def test_external_id_example() -> None:
    """IAM User Guide, "Access to AWS accounts owned by third parties" (the external ID example)."""
    assert conditions_hold(EXTERNAL_ID, {"sts:externalid": ["Unique ID Assigned by Example Corp"]})
    assert not conditions_hold(EXTERNAL_ID, {"sts:externalid": ["unique id assigned by example corp"]})
    assert not conditions_hold(EXTERNAL_ID, {}), "no external ID sent: denied"


def test_absent_keys() -> None:
    """"Condition operators": an absent key does not match — except negated operators, IfExists and Null."""
    assert not conditions_hold({"StringLike": {"ec2:InstanceType": "t2.*"}}, {})
    assert conditions_hold({"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}, {})
    assert conditions_hold({"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}, {})
    assert conditions_hold({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not conditions_hold({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:tokenissuetime": ["2026-01-01"]})


def test_set_qualifiers() -> None:
    """"Multivalued context keys": ForAllValues is true for an absent key, ForAnyValue false."""
    tags = {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}}
    assert conditions_hold(tags, {"aws:tagkeys": ["environment"]})
    assert not conditions_hold(tags, {"aws:tagkeys": ["environment", "owner"]})
    assert conditions_hold(tags, {})
    assert not conditions_hold({"ForAnyValue:StringEquals": {"aws:TagKeys": "owner"}}, {})


def test_wildcards_values_and_keys() -> None:
    like = {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/kubernetes-*"}}
    assert conditions_hold(like, {"aws:principalarn": ["arn:aws:iam::111122223333:role/kubernetes-a/b"]})
    assert not conditions_hold(like, {"aws:principalarn": ["arn:aws:iam::111122223333:user/kubernetes-a"]})
    arn = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ops"}}
    assert conditions_hold(arn, {"aws:principalarn": ["arn:aws:iam::444455556666:role/ops"]})
    either = {"StringEquals": {"sts:ExternalId": ["a", "b"]}}  # values are ORed
    assert conditions_hold(either, {"sts:externalid": ["b"]})
    both = {"StringEquals": {"sts:ExternalId": "a", "aws:PrincipalAccount": "1"}}  # keys are ANDed
    assert not conditions_hold(both, {"sts:externalid": ["a"], "aws:principalaccount": ["2"]})
    assert conditions_hold({"Bool": {"aws:SecureTransport": True}}, {"aws:securetransport": ["true"]})
    with pytest.raises(UnsupportedOperator):
        conditions_hold({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:multifactorauthage": ["1"]})
