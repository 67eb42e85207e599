"""Reading a credential from KKP's key names, strictly: problems are reported, never silently fixed."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from credcheck.model import Credential

ACCESS_KEY_ID_KEY = "accessKeyId"
SECRET_ACCESS_KEY_KEY = "secretAccessKey"
ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
SECRET_ACCESS_KEY = re.compile(r"^[A-Za-z0-9/+=]{40}$")
MAX_VALUE_BYTES = 4096


@dataclass(frozen=True)
class CredentialProblem:
    reason: str  # always MalformedCredential for now; kept for the condition
    message: str  # names the key at fault, never its value


def _problem(message: str) -> CredentialProblem:
    return CredentialProblem("MalformedCredential", message)


def _value(data: Mapping[str, bytes], key: str, what: str) -> str | CredentialProblem:
    if key not in data:
        near = [k for k in data if k.lower() == key.lower()]
        hint = f" (found {near[0]!r}: KKP's Secret spells it {key!r})" if near else ""
        return _problem(f"the Secret has no key {key!r} for the {what}{hint}")
    raw = data[key]
    if not raw:
        return _problem(f"key {key!r} ({what}) is empty")
    if len(raw) > MAX_VALUE_BYTES:
        return _problem(f"key {key!r} ({what}) is {len(raw)} bytes, far longer than any AWS key")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _problem(f"key {key!r} ({what}) is not UTF-8 text")
    if text != text.strip():
        return _problem(f"key {key!r} ({what}) has leading or trailing whitespace or a newline (hidden); "
                        "write the value without it (e.g. `echo -n`, or kubectl create secret --from-literal)")
    return text


def credential_problems(data: Mapping[str, bytes], id_key: str = ACCESS_KEY_ID_KEY,
                        secret_key: str = SECRET_ACCESS_KEY_KEY) -> list[CredentialProblem]:
    """Every problem with a credential's data, in key order (values shown as (hidden))."""
    fields = ((id_key, "access key ID", ACCESS_KEY_ID,
               "20 upper-case letters and digits starting with AKIA or ASIA"),
              (secret_key, "secret access key", SECRET_ACCESS_KEY, "40 characters of A-Z, a-z, 0-9, / + ="))
    problems: list[CredentialProblem] = []
    for key, what, shape, described in fields:
        value = _value(data, key, what)
        if isinstance(value, CredentialProblem):
            problems.append(value)
        elif not shape.match(value):
            problems.append(_problem(f"key {key!r}: (hidden) is not an AWS {what} ({described})"))
    return problems


def parse_credential(data: Mapping[str, bytes], id_key: str = ACCESS_KEY_ID_KEY,
                     secret_key: str = SECRET_ACCESS_KEY_KEY) -> Credential | CredentialProblem:
    """A Credential from decoded Secret data, or the first problem found (values shown as (hidden))."""
    problems = credential_problems(data, id_key, secret_key)
    if problems:
        return problems[0]
    return Credential(data[id_key].decode(), data[secret_key].decode())
