"""A small IAM condition matcher for the test ground's trust policies, written apart from credcheck's evaluator.

The test ground must not decide with the code under test. This matcher covers what trust policies use: the
String*, Arn*, Bool and Null operators, `...IfExists`, and the ForAnyValue/ForAllValues set qualifiers, as
the IAM User Guide's "IAM JSON policy elements: Condition operators" describes them. Keys are case-insensitive;
string values are case-sensitive except StringEqualsIgnoreCase. Values in a condition are ORed; keys ANDed.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any


class UnsupportedOperator(ValueError):
    """An operator this matcher does not know: the test ground refuses rather than guesses."""


def _like(pattern: str, value: str) -> bool:
    # IAM's `*` and `?` match any characters, `/` and `:` included; nothing else is special
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-separated parts matched on its own."""
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(_like(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _compare(operator: str, expected: str, actual: str) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return expected == actual
    if operator == "StringEqualsIgnoreCase":
        return expected.lower() == actual.lower()
    if operator == "StringLike":
        return _like(expected, actual)
    if operator == "ArnLike":
        return _arn_like(expected, actual)
    if operator == "Bool":
        return expected.lower() == actual.lower()
    raise UnsupportedOperator(operator)


NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals",
           "ArnNotLike": "ArnLike", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase"}


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in items]


def operator_holds(operator: str, key: str, expected: Sequence[str], context: Mapping[str, Sequence[str]]) -> bool:
    """One operator on one key: True when the condition is met for this request context."""
    qualifier = ""
    if operator.startswith(("ForAnyValue:", "ForAllValues:")):
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    actual = context.get(key.lower())
    if base == "Null":
        absent = actual is None or len(actual) == 0
        return any((e.lower() == "true") == absent for e in expected)
    negated = base in NEGATED
    if actual is None:
        # AWS: an absent key does not match, so the condition is false — except for the negated operators
        # ("the key is not matched" holds), ...IfExists, and ForAllValues (vacuously true)
        return negated or if_exists or qualifier == "ForAllValues"
    compare = NEGATED.get(base, base)

    def matches(value: str) -> bool:
        found = any(_compare(compare, e, value) for e in expected)
        return not found if negated else found

    if qualifier == "ForAllValues":
        return all(matches(v) for v in actual)
    return any(matches(v) for v in actual)


def conditions_hold(condition: Mapping[str, Mapping[str, Any]] | None, context: Mapping[str, Sequence[str]]) -> bool:
    """A statement's Condition block: every operator and key must hold (keys of `context` in lower case)."""
    for operator, keys in (condition or {}).items():
        for key, raw in keys.items():
            if not operator_holds(operator, key, _values(raw), context):
                return False
    return True
