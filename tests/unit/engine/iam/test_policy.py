import pytest

from credcheck.engine.iam.policy import PolicyError, parse_policy


@pytest.mark.parametrize(("document", "problem"), [
    ("{", "not valid JSON"),
    ("[]", "must be a JSON object"),
    ('{"Version": "2012-10-17"}', "no Statement"),
    ('{"Version": "2099-01-01", "Statement": []}', "unknown policy Version"),
    ('{"Statement": [{"Effect": "Permit", "Action": "*", "Resource": "*"}]}', "Effect must be"),
    ('{"Statement": [{"Effect": "Allow", "Resource": "*"}]}', "exactly one of Action and NotAction"),
    ('{"Statement": [{"Effect": "Allow", "Action": "*"}]}', "exactly one of Resource and NotResource"),
    ('{"Statement": [{"Effect": "Allow", "Action": "PassRole", "Resource": "*"}]}', "lacks its service prefix"),
    ('{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEq": {"a": "b"}}}]}',
     "unknown condition operator"),
])
def test_malformed_policies_are_named(document: str, problem: str) -> None:
    with pytest.raises(PolicyError, match=problem):
        parse_policy(document, "p")


def test_statement_labels() -> None:
    policy = parse_policy('{"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow", "Action": "*", '
                          '"Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*"}]}', "kkp")
    assert [s.label for s in policy.statements] == ["kkp#A", "kkp#statement-2"]
