"""`credcheck explain` shows the keys' facts and findings and what the credential may do beyond KKP's needs."""

from credcheck.cli.explain import explanation, to_text

CHECK = {
    "metadata": {"namespace": "kubermatic", "name": "credential-aws-abc"},
    "status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "AllRequiredAllowed", "message": "all allowed"}],
        "findings": ["access key AKIA************ABCD is 200 days old (created 2026-05-20; the maximum is 90 days)"],
        "keys": {"state": "Read", "user": "kkp", "readBy": "self",
                 "current": {"accessKeyId": "AKIA************ABCD", "status": "Active", "ageDays": 200,
                             "lastUsed": "2026-12-06T10:00:00Z", "lastUsedService": "ec2",
                             "lastUsedRegion": "eu-central-1"},
                 "others": [{"accessKeyId": "AKIA************WXYZ", "status": "Inactive", "ageDays": 400,
                             "neverUsed": True}],
                 "findings": [{"type": "OldKey", "message": "access key AKIA************ABCD is 200 days old"}]},
        "excessPermissions": [{"action": "iam:CreateUser", "resource": "arn:aws:iam::1:user/credcheck-not-kkp",
                               "allowedBy": ["IAMFullAccess (IAM Policy)"]}],
    },
}


def test_explain_shows_the_keys_and_the_excess() -> None:
    text = to_text(CHECK)
    assert "Access keys of user kkp: Read" in text
    assert "in this Secret: AKIA************ABCD Active, 200 days old, last used 2026-12-06, ec2, eu-central-1" in text
    assert "other key: AKIA************WXYZ Inactive, 400 days old, never used" in text
    assert "OldKey: access key AKIA************ABCD is 200 days old" in text
    assert "- iam:CreateUser on arn:aws:iam::1:user/credcheck-not-kkp (allowed by IAMFullAccess (IAM Policy))" in text
    assert "OK (AllRequiredAllowed)" in text, "informational: the verdict line is unchanged"
    s = explanation(CHECK)
    assert s["keys"]["current"]["ageDays"] == 200 and s["excessPermissions"][0]["action"] == "iam:CreateUser"


def test_explain_without_hygiene_prints_no_section() -> None:
    check = {"metadata": CHECK["metadata"], "status": {"conditions": CHECK["status"]["conditions"]}}
    text = to_text(check)
    assert "Access keys" not in text and "more than KKP needs" not in text
