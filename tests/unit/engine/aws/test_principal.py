from credcheck.engine.aws.principal import principal_from_arn


def test_user() -> None:
    p = principal_from_arn("arn:aws:iam::111122223333:user/kkp/seed")
    assert (p.kind, p.policy_source_arn, p.account, p.partition) == (
        "user", "arn:aws:iam::111122223333:user/kkp/seed", "111122223333", "aws")


def test_assumed_role_maps_to_role_with_recovered_path_or_a_note() -> None:
    caller = "arn:aws-cn:sts::111122223333:assumed-role/kkp-seed/credcheck"
    with_path = principal_from_arn(caller, "arn:aws-cn:iam::111122223333:role/team/kkp-seed")
    assert with_path.policy_source_arn == "arn:aws-cn:iam::111122223333:role/team/kkp-seed"
    assert with_path.notes == ()
    guessed = principal_from_arn(caller)
    assert guessed.policy_source_arn == "arn:aws-cn:iam::111122223333:role/kkp-seed"
    assert "path could not be read" in guessed.notes[0]


def test_root_and_federated_are_findings() -> None:
    root = principal_from_arn("arn:aws:iam::111122223333:root")
    assert root.kind == "root" and "never root" in root.notes[0]
    fed = principal_from_arn("arn:aws:sts::111122223333:federated-user/bob")
    assert fed.kind == "federated-user"
