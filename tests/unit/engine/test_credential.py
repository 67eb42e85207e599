import re

import pytest

from credcheck.controller.admission import preset_problems, secret_problems
from credcheck.engine.credential import CredentialProblem, credential_problems, parse_credential
from credcheck.engine.model import Credential, mask_key_id

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


# Issue 25 item 5: every malformed credential names its cause and what to do, never the value nor any part of it.
FAKE_ID = "AKIA2Q7XJ4M9PLW3RTBZ"
FAKE_TEMP_ID = "ASIA2Q7XJ4M9PLW3RTBZ"
FAKE_SECRET = "Zq8vR2mT5yK1nB7xW4cF0hJ6dL3pG9sA/+eU2iOx"
PUBLIC = {"AKIA", "ASIA"}  # an access key ID's type prefix: public (the masked form AKIA************ABCD shows it)


def _good(**values: str) -> dict[str, bytes]:
    data = {"accessKeyId": FAKE_ID, "secretAccessKey": FAKE_SECRET, **values}
    return {k: v.encode() for k, v in data.items()}


CAUSES = {
    "swapped": ({"accessKeyId": FAKE_SECRET.encode(), "secretAccessKey": FAKE_ID.encode()},
                ["look swapped", "'accessKeyId' holds a value shaped like a secret access key",
                 "put each value under the other key"]),
    "zero-width-space": (_good(accessKeyId=FAKE_ID[:8] + "\u200b" + FAKE_ID[8:]),
                         ["'accessKeyId' (access key ID) contains an invisible character",
                          "a zero-width space (U+200B) at character 9", "store it without that character"]),
    "no-break-space": (_good(secretAccessKey=FAKE_SECRET + "\u00a0"),
                       ["'secretAccessKey' (secret access key) has leading or trailing whitespace",
                        "ends with a no-break space (U+00A0); write", "write the value without it"]),
    "no-break-space-inside": (_good(secretAccessKey=FAKE_SECRET[:10] + "\u00a0" + FAKE_SECRET[10:]),
                              ["contains an invisible character", "a no-break space (U+00A0) at character 11"]),
    "byte-order-mark": (_good(accessKeyId="\ufeff" + FAKE_ID),
                        ["contains an invisible character", "a byte-order mark (U+FEFF) at the start"]),
    "non-ascii-letter": (_good(accessKeyId="AKIA\u0410" + FAKE_ID[5:]),
                         ["contains a non-ASCII character", "a non-ASCII letter", "at character 5",
                          "retype the value"]),
    "two-odd-characters": (_good(accessKeyId=FAKE_ID[:3] + "\u200b" + FAKE_ID[3:12] + "\u200d" + FAKE_ID[12:]),
                           ["at character 4 (and more such characters)"]),
    "trailing-newline": (_good(accessKeyId=FAKE_ID + "\n"),
                         ["has leading or trailing whitespace or a newline (hidden)",
                          "ends with a newline (\\n); write"]),
    "trailing-crlf": (_good(secretAccessKey=FAKE_SECRET + "\r\n"),
                      ["ends with a carriage return (\\r) and a newline (\\n); write"]),
    "trailing-tab": (_good(secretAccessKey=FAKE_SECRET + "\t"), ["ends with a tab (\\t); write"]),
    "leading-space": (_good(accessKeyId=" " + FAKE_ID), ["starts with a space; write"]),
    "only-whitespace": (_good(accessKeyId=" \n"), ["it is nothing but whitespace (a space and a newline (\\n))"]),
    "double-quotes": (_good(accessKeyId=f'"{FAKE_ID}"'),
                      ["'accessKeyId' (access key ID) is wrapped in double quotes (\"…\")",
                       "the quotes were stored as part of the value", "store the value without them"]),
    "single-quotes": (_good(secretAccessKey=f"'{FAKE_SECRET}'"),
                      ["'secretAccessKey' (secret access key) is wrapped in single quotes ('…')"]),
    "typographic-quotes": (_good(accessKeyId=f"\u201c{FAKE_ID}\u201d"), ["is wrapped in typographic double quotes"]),
    "one-quote": (_good(accessKeyId=f'{FAKE_ID}"'), ['ends with a quote ("): the quotes']),
    "environment-names": ({"AWS_ACCESS_KEY_ID": FAKE_ID.encode(), "AWS_SECRET_ACCESS_KEY": FAKE_SECRET.encode()},
                          ["no key 'accessKeyId'", "found 'AWS_ACCESS_KEY_ID', the AWS CLI's environment-variable "
                           "name: KKP's Secret spells it 'accessKeyId'",
                           "keys found: 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'",
                           "expected: 'accessKeyId' and 'secretAccessKey'", "Rename the keys, the values can stay"]),
    "credentials-file-names": ({"aws_access_key_id": FAKE_ID.encode(), "aws_secret_access_key": FAKE_SECRET.encode()},
                               ["found 'aws_access_key_id', the AWS CLI's credentials-file name",
                                "keys found: 'aws_access_key_id', 'aws_secret_access_key'"]),
    "snake-case-names": ({"access_key_id": FAKE_ID.encode(), "secret_access_key": FAKE_SECRET.encode()},
                         ["no key 'accessKeyId'", "found 'access_key_id': KKP's Secret spells it 'accessKeyId'"]),
    "one-environment-name": ({"accessKeyId": FAKE_ID.encode(), "AWS_SECRET_ACCESS_KEY": FAKE_SECRET.encode()},
                             ["no key 'secretAccessKey'", "found 'AWS_SECRET_ACCESS_KEY'",
                              "Rename the key, the value can stay"]),
    "unrelated-keys": ({"notes": b"x7Qp-v93Lz=k"}, ["no key 'accessKeyId'", "keys found: 1 other key (not named: a check's readers may not read the Secret)",
                                                   "Add the key 'accessKeyId'"]),
    "no-data": ({}, ["the Secret has no data at all", "KKP reads the access key ID from 'accessKeyId'",
                     "write both keys into it"]),
    "temporary-key": (_good(accessKeyId=FAKE_TEMP_ID),
                      ["holds a temporary access key ID (ASIA…)", "KKP stores no session token",
                       "create a long-term access key (AKIA…)"]),
    "key-id-twice": (_good(secretAccessKey=FAKE_ID), ["is not an AWS secret access key",
                                                      "shaped like an access key ID"]),
    "secret-twice": (_good(accessKeyId=FAKE_SECRET), ["is not an AWS access key ID",
                                                      "it is shaped like a secret access key"]),
    "key-id-short": (_good(accessKeyId=FAKE_ID[:-1]), ["is not an AWS access key ID", "it is not 20 characters long"]),
    "secret-odd-ascii": (_good(secretAccessKey=FAKE_SECRET[:20] + "!" + FAKE_SECRET[21:]),
                         ["is not an AWS secret access key", "other than A-Z, a-z, 0-9, / + = at character 21;"]),
}
EXISTING = {  # the cases of test_malformed_credentials_name_the_key_never_the_value, for the leak test
    "empty": {"accessKeyId": b"", "secretAccessKey": SECRET.encode()},
    "not-utf8": {"accessKeyId": b"\xff\xfe", "secretAccessKey": SECRET.encode()},
    "huge": {"accessKeyId": b"A" * (1 << 20), "secretAccessKey": SECRET.encode()},
    "lower-case": {"accessKeyId": b"akiaiosfodnn7example", "secretAccessKey": SECRET.encode()},
    "short-secret": {"accessKeyId": KEY_ID.encode(), "secretAccessKey": b"short"},
}


@pytest.mark.parametrize(("data", "fragments"), CAUSES.values(), ids=CAUSES.keys())
def test_each_malformed_credential_names_its_cause(data: dict[str, bytes], fragments: list[str]) -> None:
    problem = parse_credential(data)
    assert isinstance(problem, CredentialProblem)
    assert problem.reason == "MalformedCredential"
    for fragment in fragments:
        assert fragment in problem.message


def _windows(value: bytes) -> set[str]:
    text = value.decode("utf-8", "replace")
    return {text[i:i + 4] for i in range(len(text) - 3)} - PUBLIC


@pytest.mark.parametrize("data", [*(d for d, _ in CAUSES.values()), *EXISTING.values()],
                         ids=[*CAUSES.keys(), *EXISTING.keys()])
def test_no_message_holds_a_value_or_any_four_characters_of_one(data: dict[str, bytes]) -> None:
    problems = credential_problems(data)
    assert problems, "every case is malformed"
    for problem in problems:
        for value in data.values():
            if value.strip():
                assert value.decode("utf-8", "replace") not in problem.message
            leaked = {w for w in _windows(value) if w in problem.message}
            assert not leaked, f"{problem.message!r} shows part of a value"


@pytest.mark.parametrize("data", [*(d for d, _ in CAUSES.values()), *EXISTING.values()],
                         ids=[*CAUSES.keys(), *EXISTING.keys()])
def test_no_message_tells_a_values_length(data: dict[str, bytes]) -> None:
    """A check's readers need not be its Secret's readers: no length, nor a position counted to the value's end.
    (20 and 40, AWS's own key lengths, are in the messages that name the expected shape.)"""
    for problem in credential_problems(data):
        for value in data.values():
            for length in {len(value), len(value.decode("utf-8", "replace"))} - {20, 40}:
                assert not re.search(rf"(?<![\w+]){length}(?!\w)", problem.message), \
                    f"{problem.message!r} tells the length {length}"


def test_a_padded_value_reads_the_same_whatever_its_length() -> None:
    short = parse_credential(_good(accessKeyId=FAKE_ID + "\u200b"))
    long = parse_credential(_good(accessKeyId=FAKE_ID + "XYZ" + "\u200b"))
    assert isinstance(short, CredentialProblem) and isinstance(long, CredentialProblem)
    assert short.message == long.message


def test_other_keys_of_a_secret_are_counted_not_named() -> None:
    problem = parse_credential({"accessKeyId": FAKE_ID.encode(), "db-password": b"x", "AWS_SECRET_ACCESS_KEY": b"y"})
    assert isinstance(problem, CredentialProblem)
    assert "db-password" not in problem.message
    assert "keys found: 'AWS_SECRET_ACCESS_KEY', 'accessKeyId' and 1 other key (not named" in problem.message
    assert "found 'AWS_SECRET_ACCESS_KEY'" in problem.message, "a near miss is the hint: named"


def test_admission_warnings_use_the_same_words() -> None:
    swapped = {"accessKeyId": FAKE_SECRET.encode(), "secretAccessKey": FAKE_ID.encode()}
    assert secret_problems(swapped) == [p.message for p in credential_problems(swapped)]
    assert "look swapped" in secret_problems(swapped)[0]
    warned = preset_problems({"spec": {"aws": {"accessKeyID": FAKE_TEMP_ID, "secretAccessKey": FAKE_SECRET}}})
    assert warned and warned[0].startswith("spec.aws: key 'accessKeyID' (access key ID) holds a temporary")


def test_a_preset_is_named_as_such_and_both_problems_are_listed() -> None:
    problems = credential_problems({"assumeRoleARN": b"arn:aws:iam::123456789012:role/x"}, "accessKeyID",
                                   "secretAccessKey", where="Preset")
    assert [p.message.split(";")[0] for p in problems] == [
        "the Preset has no key 'accessKeyID' for the access key ID",
        "the Preset has no key 'secretAccessKey' for the secret access key"]
    assert "keys found: 'assumeRoleARN'; expected: 'accessKeyID' and 'secretAccessKey'" in problems[0].message


def test_a_custom_key_name_is_the_check_s_not_kkp_s() -> None:
    problem = parse_credential({"ID": FAKE_ID.encode(), "key": FAKE_SECRET.encode()}, "id", "key")
    assert isinstance(problem, CredentialProblem)
    assert "no key 'id' for the access key ID (found 'ID': the check reads 'id')" in problem.message


def test_a_long_term_key_pair_still_parses() -> None:
    cred = parse_credential(_good())
    assert isinstance(cred, Credential) and cred.masked_key_id == "AKIA************RTBZ"
