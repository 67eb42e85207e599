import pytest

from credcheck.credential import CredentialProblem, parse_credential
from credcheck.model import Credential, mask_key_id

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_valid_credential_and_masking() -> None:
    cred = parse_credential({"accessKeyId": KEY_ID.encode(), "secretAccessKey": SECRET.encode()})
    assert isinstance(cred, Credential)
    assert cred.masked_key_id == "AKIA************MPLE"
    assert SECRET not in repr(cred) and KEY_ID not in repr(cred)
    assert mask_key_id("short") == "*****"


def test_fingerprint_changes_with_secret_and_settings_but_reveals_nothing() -> None:
    a = Credential(KEY_ID, SECRET)
    assert a.fingerprint("kkp") == Credential(KEY_ID, SECRET).fingerprint("kkp")
    assert a.fingerprint("kkp") != Credential(KEY_ID, SECRET[:-1] + "Z").fingerprint("kkp")
    assert a.fingerprint("kkp") != a.fingerprint("kkp-docs")
    assert KEY_ID not in a.fingerprint() and len(a.fingerprint()) == 32


@pytest.mark.parametrize(("data", "fragment"), [
    ({"secretAccessKey": SECRET.encode()}, "no key 'accessKeyId'"),
    ({"accessKeyID": KEY_ID.encode(), "secretAccessKey": SECRET.encode()}, "found 'accessKeyID'"),
    ({"accessKeyId": b"", "secretAccessKey": SECRET.encode()}, "is empty"),
    ({"accessKeyId": KEY_ID.encode() + b"\n", "secretAccessKey": SECRET.encode()}, "trailing whitespace"),
    ({"accessKeyId": KEY_ID.encode(), "secretAccessKey": b" " + SECRET.encode()}, "leading or trailing"),
    ({"accessKeyId": b"\xff\xfe", "secretAccessKey": SECRET.encode()}, "not UTF-8"),
    ({"accessKeyId": b"A" * (1 << 20), "secretAccessKey": SECRET.encode()}, "far longer"),
    ({"accessKeyId": b"akiaiosfodnn7example", "secretAccessKey": SECRET.encode()}, "not an AWS access key ID"),
    ({"accessKeyId": KEY_ID.encode(), "secretAccessKey": b"short"}, "not an AWS secret access key"),
])
def test_malformed_credentials_name_the_key_never_the_value(data: dict[str, bytes], fragment: str) -> None:
    problem = parse_credential(data)
    assert isinstance(problem, CredentialProblem)
    assert problem.reason == "MalformedCredential"
    assert fragment in problem.message
    assert KEY_ID not in problem.message and SECRET not in problem.message
