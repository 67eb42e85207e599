"""Whose access keys are read: the IAM user of a user principal (its path dropped), nobody's for anything else."""

from credcheck.engine.aws.accesskeys import user_name
from credcheck.engine.model import Principal


def _principal(arn: str, kind: str) -> Principal:
    return Principal(arn, arn, "123456789012", "aws", kind)


def test_a_users_name_without_its_path() -> None:
    assert user_name(_principal("arn:aws:iam::123456789012:user/kkp", "user")) == "kkp"
    assert user_name(_principal("arn:aws:iam::123456789012:user/teams/a/kkp-a", "user")) == "kkp-a"
    assert user_name(_principal("arn:aws-cn:iam::123456789012:user/kkp", "user")) == "kkp"


def test_a_role_session_or_root_has_no_keys_of_its_own() -> None:
    assert user_name(_principal("arn:aws:sts::123456789012:assumed-role/r/s", "assumed-role")) is None
    assert user_name(_principal("arn:aws:iam::123456789012:root", "root")) is None
