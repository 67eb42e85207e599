"""How the test ground decides sts:AssumeRole (AWS's rules; not credcheck's evaluator): trust plus identity."""

from credcheck_testground.trust import assume_allowed, trust_decision

USER = "arn:aws:iam::111122223333:user/kkp"
SESSION = "arn:aws:sts::111122223333:assumed-role/seed/credcheck"


def trust(*statements: dict) -> dict:  # type: ignore[type-arg]
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: object, **condition: dict) -> dict:  # type: ignore[type-arg]
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole",
            **({"Condition": condition} if condition else {})}


def test_account_principal_delegates_to_identity_policies() -> None:
    for principal in ({"AWS": "arn:aws:iam::111122223333:root"}, {"AWS": "111122223333"}):
        decision = trust_decision(trust(allow(principal)), USER, {})
        assert decision == "account"
        assert assume_allowed(decision, same_account=True, identity_ok=lambda: True)
        assert not assume_allowed(decision, same_account=True, identity_ok=lambda: False), "needs the identity grant"


def test_named_principal_needs_no_identity_grant_in_the_same_account() -> None:
    decision = trust_decision(trust(allow({"AWS": USER})), USER, {})
    assert decision == "self" and assume_allowed(decision, same_account=True, identity_ok=lambda: False)
    role = trust_decision(trust(allow({"AWS": "arn:aws:iam::111122223333:role/seed"})), SESSION, {})
    assert role == "self", "a role session is named by its role's ARN"


def test_cross_account_needs_both_sides() -> None:
    decision = trust_decision(trust(allow({"AWS": USER})), USER, {})
    assert not assume_allowed(decision, same_account=False, identity_ok=lambda: False)
    assert assume_allowed(decision, same_account=False, identity_ok=lambda: True)


def test_star_with_conditions_service_principals_and_deny() -> None:
    scoped = trust(allow("*", StringEquals={"aws:PrincipalAccount": "111122223333"}))
    assert trust_decision(scoped, USER, {"aws:principalaccount": ["111122223333"]}) == "self"
    assert trust_decision(scoped, USER, {"aws:principalaccount": ["444455556666"]}) is None
    assert trust_decision(trust(allow({"Service": "ec2.amazonaws.com"})), USER, {}) is None
    denied = trust(allow({"AWS": "111122223333"}), {"Effect": "Deny", "Principal": {"AWS": USER},
                                                     "Action": "sts:AssumeRole"})
    assert trust_decision(denied, USER, {}) == "deny"


def test_external_id_is_required_when_the_trust_names_one() -> None:
    with_id = trust(allow({"AWS": "111122223333"}, StringEquals={"sts:ExternalId": "kkp-1"}))
    assert trust_decision(with_id, USER, {"sts:externalid": ["kkp-1"]}) == "account"
    assert trust_decision(with_id, USER, {"sts:externalid": ["other"]}) is None
    assert trust_decision(with_id, USER, {}) is None, "a missing external ID is denied (moto alone accepts it)"
