"""Policy variables (`${aws:username}`, `${aws:PrincipalTag/team}`, `${*}`, defaults) substituted from a request."""

import re
from collections.abc import Mapping

from credcheck.engine.iam.wildcard import glob_to_regex

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIALS = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")

Context = Mapping[str, tuple[str, ...]]


def substitute(text: str, context: Context) -> tuple[str, str] | None:
    """(plain text, regex source) with every variable filled in; None when a variable has no value.

    In the regex, wildcards written in the policy stay wildcards while substituted values and the
    `${*}`/`${?}`/`${$}` escapes match only themselves.
    """
    plain: list[str] = []
    regex: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        literal = text[position:found.start()]
        plain.append(literal)
        regex.append(glob_to_regex(literal))
        value = _resolve(found.group(1), context)
        if value is None:
            return None
        plain.append(value)
        regex.append(re.escape(value))
        position = found.end()
    tail = text[position:]
    plain.append(tail)
    regex.append(glob_to_regex(tail))
    return "".join(plain), "".join(regex)


def _resolve(body: str, context: Context) -> str | None:
    if body in _SPECIALS:
        return _SPECIALS[body]
    default: str | None = None
    key = body.strip()
    with_default = _DEFAULT.match(body)
    if with_default:
        key, default = with_default.group(1), with_default.group(2)
    values = context.get(key.lower())
    if values:
        return values[0]
    return default


def has_variables(text: str) -> bool:
    return "${" in text
