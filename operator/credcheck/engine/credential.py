"""Reading a credential from KKP's key names, strictly: problems are reported, never silently fixed.

Every message names the key at fault, the cause and what to do, and never the value nor any part of it: at most
a character's kind and where it is ("a zero-width space (U+200B) at character 9", "at the end"), or the public
AKIA/ASIA type of an access key ID. Never a value's length (not even through a position counted from its end): a
check's status is read by people who may not read its Secret. Of a Secret's other keys only those spelt like the
expected ones are named (that is the hint: "found 'AWS_ACCESS_KEY_ID'"); the rest are counted, not named. A
Preset's keys are the fields of KKP's schema and are named.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from credcheck.engine.model import Credential

ACCESS_KEY_ID_KEY = "accessKeyId"
SECRET_ACCESS_KEY_KEY = "secretAccessKey"
PRESET_ACCESS_KEY_ID_KEY = "accessKeyID"  # a Preset's spec.aws spells it so
ACCESS_KEY_ID = re.compile(r"(AKIA|ASIA)[A-Z0-9]{16}")
SECRET_ACCESS_KEY = re.compile(r"[A-Za-z0-9/+=]{40}")
TEMPORARY_PREFIX = "ASIA"  # STS session credentials: useless without the session token issued with them
MAX_VALUE_BYTES = 4096
MALFORMED = "MalformedCredential"
_KKP_NAMES = (ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY, PRESET_ACCESS_KEY_ID_KEY)
_MAX_LISTED_KEYS = 6
_MAX_KEY_NAME = 60
_REWRITE = "(e.g. `echo -n`, or kubectl create secret --from-literal)"
_COPY_AGAIN = "copy it again from the AWS console or the access key's CSV file"


@dataclass(frozen=True)
class CredentialProblem:
    reason: str  # always MalformedCredential from here; the condition's reason
    message: str  # names the key at fault and the cause, never the value nor any part of it


def _problem(message: str) -> CredentialProblem:
    return CredentialProblem(MALFORMED, message)


# --- key names (names are not secret: they may be shown) ---

def _normalised(name: str) -> str:
    """accessKeyId, AccessKeyID, access_key_id, AWS_ACCESS_KEY_ID, aws-access-key-id: all `accesskeyid`."""
    return re.sub(r"[^a-z0-9]", "", name.lower()).removeprefix("aws")


_ALIASES = {"accesskeyid": {"accesskeyid", "accesskey"}, "secretaccesskey": {"secretaccesskey", "secretkey"}}


def _near_miss(data: Mapping[str, bytes], key: str) -> str | None:
    """A key of `data` that is plainly meant to be `key` (other case, snake case, AWS CLI names); else None."""
    wanted = _ALIASES.get(_normalised(key), {_normalised(key)})
    return next((k for k in sorted(data) if k != key and _normalised(k) in wanted), None)


def _near_miss_kind(name: str) -> str:
    if re.fullmatch(r"AWS_[A-Z0-9_]+", name):
        return ", the AWS CLI's environment-variable name"
    if re.fullmatch(r"aws_[a-z0-9_]+", name):
        return ", the AWS CLI's credentials-file name"
    return ""


def _listed(names: list[str], hidden: int = 0) -> str:
    shown = [repr(n if len(n) <= _MAX_KEY_NAME else n[:_MAX_KEY_NAME] + "…") for n in names[:_MAX_LISTED_KEYS]]
    more = len(names) - len(shown)
    parts = [", ".join(shown)] if shown else []
    if more:
        parts.append(f"{more} more")
    if hidden:
        parts.append(f"{hidden} other key{'s' if hidden > 1 else ''} (not named: a check's readers may not read "
                     "the Secret)")
    return " and ".join(parts)


def _found(data: Mapping[str, bytes], keys: tuple[str, str], where: str) -> str:
    """The Secret's keys as a status may show them: those spelt like the expected ones; the others counted."""
    if where != "Secret":
        return _listed(sorted(data))
    wanted = {n for k in keys for n in _ALIASES.get(_normalised(k), {_normalised(k)})}
    named = sorted(k for k in data if k in keys or k in _KKP_NAMES or _normalised(k) in wanted)
    return _listed(named, hidden=len(data) - len(named))


def _recreate(keys: tuple[str, str]) -> str:
    return f"(e.g. kubectl create secret generic NAME --from-literal={keys[0]}=… --from-literal={keys[1]}=…)"


def _missing(data: Mapping[str, bytes], key: str, what: str, keys: tuple[str, str], where: str) -> CredentialProblem:
    near = _near_miss(data, key)
    found = f"keys found: {_found(data, keys, where)}; expected: {keys[0]!r} and {keys[1]!r}"
    if near is None:
        return _problem(f"the {where} has no key {key!r} for the {what}; {found}. Add the key {key!r} with the "
                        f"{what} {_recreate(keys)}")
    spelt = f"KKP's {where} spells it" if key in _KKP_NAMES else "the check reads"
    misnamed = sum(1 for k in keys if k not in data and _near_miss(data, k))
    rename = "Rename the keys, the values can stay" if misnamed > 1 else "Rename the key, the value can stay"
    return _problem(f"the {where} has no key {key!r} for the {what} (found {near!r}{_near_miss_kind(near)}: "
                    f"{spelt} {key!r}); {found}. {rename}")


# --- characters (their kind and position only) ---

_CHARACTER_NAMES = {" ": "a space", "\t": "a tab (\\t)", "\n": "a newline (\\n)", "\r": "a carriage return (\\r)",
                    "\u00a0": "a no-break space (U+00A0)", "\u200b": "a zero-width space (U+200B)",
                    "\ufeff": "a byte-order mark (U+FEFF)"}
_VISIBLE_KINDS = {"L": "a non-ASCII letter", "N": "a non-ASCII digit", "P": "a non-ASCII punctuation mark",
                  "S": "a non-ASCII symbol", "M": "a combining mark"}
_QUOTES = {'"': "double quotes", "'": "single quotes", "`": "backticks", "\u201c": "typographic double quotes",
           "\u201d": "typographic double quotes", "\u2018": "typographic single quotes",
           "\u2019": "typographic single quotes"}


def _invisible(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def _kind(char: str) -> str:
    """What a character is, without showing it unless it is invisible (then its code point is its kind)."""
    if char in _CHARACTER_NAMES:
        return _CHARACTER_NAMES[char]
    if _invisible(char):
        name = unicodedata.name(char, "")
        return f"a {name.lower()} (U+{ord(char):04X})" if name else f"a control character (U+{ord(char):04X})"
    return _VISIBLE_KINDS.get(unicodedata.category(char)[0], "a non-ASCII character")


def _run(chars: str) -> str:
    """The kinds of up to three characters (a longer run says "and more": its length is the value's business)."""
    kinds = [_kind(c) for c in chars[:3]]
    listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    return listed + (" and more" if len(chars) > 3 else "")


def _edges(text: str) -> str | None:
    """Whitespace before or after the value, by kind (positions from the end would tell the value's length)."""
    lead, trail = len(text) - len(text.lstrip()), len(text) - len(text.rstrip())
    if lead == len(text):
        return f"it is nothing but whitespace ({_run(text)})"
    parts = []
    if lead:
        parts.append(f"it starts with {_run(text[:lead])}")
    if trail:
        parts.append(f"it ends with {_run(text[-trail:])}")
    return " and ".join(parts) or None


def _quoted(text: str) -> str | None:
    first, last = text[0] in _QUOTES, len(text) > 1 and text[-1] in _QUOTES
    if first and last:
        return f"is wrapped in {_QUOTES[text[0]]} ({text[0]}…{text[-1]})"
    if first:
        return f"starts with a quote ({text[0]})"
    if last:
        return f"ends with a quote ({text[-1]})"
    return None


def _odd_characters(text: str) -> str | None:
    """The first character that is not printable ASCII (AWS keys never hold one), by kind and position."""
    odd = [i for i, c in enumerate(text) if not "!" <= c <= "~"]
    if not odd:
        return None
    first = text[odd[0]]
    what = "an invisible character" if _invisible(first) else "a non-ASCII character"
    lookalike = "" if _invisible(first) else ", often a look-alike pasted from a document or a chat,"
    more = " (and more such characters)" if len(odd) > 1 else ""
    at = ("the end" if odd[0] == len(text) - 1 and len(text) > 1 else "the start" if odd[0] == 0
          else f"character {odd[0] + 1}")
    return f"contains {what}: {_kind(first)}{lookalike} at {at}{more}"


def _value(data: Mapping[str, bytes], key: str, what: str, keys: tuple[str, str],
           where: str) -> str | CredentialProblem:
    if key not in data:
        return _missing(data, key, what, keys, where)
    raw = data[key]
    if not raw:
        return _problem(f"key {key!r} ({what}) is empty; write the {what} into it")
    if len(raw) > MAX_VALUE_BYTES:
        return _problem(f"key {key!r} ({what}) is far longer than any AWS key; write just the {what} into it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _problem(f"key {key!r} ({what}) is not UTF-8 text; write the {what} as plain text {_REWRITE}")
    edges = _edges(text)
    if edges:
        return _problem(f"key {key!r} ({what}) has leading or trailing whitespace or a newline (hidden): {edges}; "
                        f"write the value without it {_REWRITE}")
    quoted = _quoted(text)
    if quoted:
        return _problem(f"key {key!r} ({what}) {quoted}: the quotes were stored as part of the value; "
                        "store the value without them (in YAML stringData quote it once; in data, base64-encode "
                        "the bare value)")
    odd = _odd_characters(text)
    if odd:
        return _problem(f"key {key!r} ({what}) {odd}; AWS keys are plain ASCII letters, digits and / + =, so "
                        f"retype the value or {_COPY_AGAIN}, and store it without that character")
    return text


# --- shapes ---

def _not_a_key_id(key: str, value: str) -> CredentialProblem:
    if SECRET_ACCESS_KEY.fullmatch(value):
        why = "it is shaped like a secret access key"
    elif len(value) != 20:
        why = "it is not 20 characters long"
    elif ACCESS_KEY_ID.fullmatch(value.upper()):
        why = "it has lower-case letters"
    elif not value.startswith(("AKIA", "ASIA")):
        why = "it does not start with AKIA (a long-term key) or ASIA"
    else:
        why = "it holds characters other than upper-case letters and digits"
    return _problem(f"key {key!r}: (hidden) is not an AWS access key ID (20 upper-case letters and digits starting "
                    f"with AKIA or ASIA): {why}; put the access key ID there ({_COPY_AGAIN})")


def _not_a_secret(key: str, value: str) -> CredentialProblem:
    if ACCESS_KEY_ID.fullmatch(value):
        why = "it is shaped like an access key ID, not a secret access key"
    elif len(value) != 40:
        why = "it is not 40 characters long"
    else:
        at = next(i for i, c in enumerate(value) if not re.fullmatch(r"[A-Za-z0-9/+=]", c))
        why = f"it holds a character other than A-Z, a-z, 0-9, / + = at character {at + 1}"
    return _problem(f"key {key!r}: (hidden) is not an AWS secret access key (40 characters of A-Z, a-z, 0-9, "
                    f"/ + =): {why}; put the secret access key there ({_COPY_AGAIN})")


def credential_problems(data: Mapping[str, bytes], id_key: str = ACCESS_KEY_ID_KEY,
                        secret_key: str = SECRET_ACCESS_KEY_KEY, *, where: str = "Secret") -> list[CredentialProblem]:
    """Every problem with a credential's data, in key order (values shown as (hidden)).

    `where` names the object in messages: "Secret", or "Preset" for a Preset's spec.aws.
    """
    keys = (id_key, secret_key)
    if not data:
        return [_problem(f"the {where} has no data at all: KKP reads the access key ID from {id_key!r} and the "
                         f"secret access key from {secret_key!r}; write both keys into it {_recreate(keys)}")]
    key_id = _value(data, id_key, "access key ID", keys, where)
    secret = _value(data, secret_key, "secret access key", keys, where)
    if (isinstance(key_id, str) and isinstance(secret, str) and SECRET_ACCESS_KEY.fullmatch(key_id)
            and ACCESS_KEY_ID.fullmatch(secret)):
        return [_problem(f"the values of {id_key!r} and {secret_key!r} look swapped: {id_key!r} holds a "
                         f"value shaped like a secret access key and {secret_key!r} a value shaped like an access "
                         "key ID (hidden); put each value under the other key")]
    problems: list[CredentialProblem] = []
    if isinstance(key_id, CredentialProblem):
        problems.append(key_id)
    elif not ACCESS_KEY_ID.fullmatch(key_id):
        problems.append(_not_a_key_id(id_key, key_id))
    elif key_id.startswith(TEMPORARY_PREFIX):
        problems.append(_problem(
            f"key {id_key!r} (access key ID) holds a temporary access key ID (ASIA…): it works only with "
            "the session token issued with it, and KKP stores no session token, so AWS refuses it (and it would "
            "expire within hours anyway); create a long-term access key (AKIA…) for an IAM user and store that "
            "key pair instead"))
    if isinstance(secret, CredentialProblem):
        problems.append(secret)
    elif not SECRET_ACCESS_KEY.fullmatch(secret):
        problems.append(_not_a_secret(secret_key, secret))
    return problems


def parse_credential(data: Mapping[str, bytes], id_key: str = ACCESS_KEY_ID_KEY,
                     secret_key: str = SECRET_ACCESS_KEY_KEY, *,
                     where: str = "Secret") -> Credential | CredentialProblem:
    """A Credential from decoded Secret data, or the first problem found (values shown as (hidden))."""
    problems = credential_problems(data, id_key, secret_key, where=where)
    if problems:
        return problems[0]
    return Credential(data[id_key].decode(), data[secret_key].decode())
