"""Trust-policy principal matching, cases from AWS's IAM User Guide ("AWS JSON policy elements: Principal")."""

from credcheck.trust import trust_admits

USER = {"arn:aws:iam::111122223333:user/kkp"}


def doc(*statements: dict) -> dict:  # type: ignore[type-arg]
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: object, action: str = "sts:AssumeRole") -> dict:  # type: ignore[type-arg]
    return {"Effect": "Allow", "Principal": principal, "Action": action}


def test_account_root_and_bare_account_id_admit_users_of_that_account() -> None:
    assert trust_admits(doc(allow({"AWS": "arn:aws:iam::111122223333:root"})), USER, "111122223333")
    assert trust_admits(doc(allow({"AWS": "111122223333"})), USER, "111122223333")
    assert not trust_admits(doc(allow({"AWS": "arn:aws:iam::444455556666:root"})), USER, "111122223333")


def test_the_principal_itself_and_star_admit() -> None:
    assert trust_admits(doc(allow({"AWS": ["arn:aws:iam::111122223333:user/kkp"]})), USER, "111122223333")
    assert trust_admits(doc(allow("*")), USER, "111122223333")


def test_a_service_principal_never_admits_a_user() -> None:
    ec2_only = doc(allow({"Service": "ec2.amazonaws.com"}))  # what KKP wrote before v2.30
    assert not trust_admits(ec2_only, USER, "111122223333")


def test_a_matching_deny_wins_and_other_actions_do_not_count() -> None:
    root = {"AWS": "arn:aws:iam::111122223333:root"}
    assert not trust_admits(doc(allow(root), {"Effect": "Deny", "Principal": root, "Action": "sts:AssumeRole"}),
                            USER, "111122223333")
    assert not trust_admits(doc(allow(root, "sts:TagSession")), USER, "111122223333")


def test_url_encoded_documents_as_iam_returns_them() -> None:
    encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22111122223333%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D"
    assert trust_admits(encoded, USER, "111122223333")
