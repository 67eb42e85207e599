"""IAM condition operators, decided against a request context as AWS documents them.

A key missing from the context makes a condition false, except for negated operators (true), `...IfExists`
(true), `ForAllValues:` (true) and `Null` (which tests presence).
"""

import ipaddress
import operator as op
import re
from collections.abc import Callable
from datetime import UTC, datetime

from credcheck.engine.iam.arn import resource_matches
from credcheck.engine.iam.policy import Condition
from credcheck.engine.iam.variables import Context, has_variables, substitute
from credcheck.engine.iam.wildcard import glob_to_regex

# Negated operator -> the positive operator it negates.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}

_ORDER: dict[str, Callable[[float, float], bool]] = {
    "Equals": op.eq, "LessThan": op.lt, "LessThanEquals": op.le,
    "GreaterThan": op.gt, "GreaterThanEquals": op.ge,
}


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    """Seconds since the epoch from an ISO 8601 date/time or an epoch number."""
    number = _number(text)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _ordered(convert: Callable[[str], float | None], relation: str) -> Callable[[str, str], bool]:
    compare = _ORDER[relation]

    def decide(policy_value: str, request_value: str) -> bool:
        left, right = convert(request_value), convert(policy_value)
        return left is not None and right is not None and compare(left, right)

    return decide


def _ip(policy_value: str, request_value: str) -> bool:
    try:
        return ipaddress.ip_address(request_value) in ipaddress.ip_network(policy_value, strict=False)
    except ValueError:
        return False


def _like(policy_regex: str, request_value: str) -> bool:
    return re.fullmatch(policy_regex, request_value, re.DOTALL) is not None


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda p, r: p == r,
    "StringEqualsIgnoreCase": lambda p, r: p.casefold() == r.casefold(),
    "Bool": lambda p, r: p.lower() == r.lower(),
    "BinaryEquals": lambda p, r: p == r,
    "IpAddress": _ip,
    **{f"Numeric{rel}": _ordered(_number, rel) for rel in _ORDER},
    **{f"Date{rel}": _ordered(_date, rel) for rel in _ORDER},
}
_PATTERN_OPERATORS = {"StringLike", "ArnLike", "ArnEquals"}


def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """`ForAnyValue:StringLikeIfExists` -> ("ForAnyValue", "StringLike", True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return (qualifier or None), base.removesuffix("IfExists"), if_exists


def _policy_values(condition: Condition, context: Context, substitutes: bool, pattern: bool) -> list[str]:
    """The condition's values with variables filled in; a value whose variable has no value is dropped."""
    out: list[str] = []
    for value in condition.values:
        if substitutes and has_variables(value):
            resolved = substitute(value, context)
            if resolved is not None:
                out.append(resolved[1] if pattern else resolved[0])
        else:
            out.append(glob_to_regex(value) if pattern else value)
    return out


def _matches_one(base: str, policy_values: list[str], request_value: str, arn_values: bool) -> bool:
    if base in _PATTERN_OPERATORS:
        if arn_values:
            return any(resource_matches(p, request_value) for p in policy_values)
        return any(_like(p, request_value) for p in policy_values)
    decide = _POSITIVE[base]
    return any(decide(p, request_value) for p in policy_values)


def condition_holds(condition: Condition, context: Context, substitutes_variables: bool = True) -> bool:
    qualifier, base, if_exists = split_operator(condition.operator)
    request_values = context.get(condition.key.lower(), ())
    if base == "Null":
        return any((not request_values) == (v.lower() == "true") for v in condition.values)
    if not request_values:
        if if_exists or qualifier == "ForAllValues":
            return True
        if qualifier == "ForAnyValue":
            return False
        return base in _NEGATED
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    # ARN operators match segment by segment unless a policy variable forces a whole-string regex.
    arn_values = positive in ("ArnLike", "ArnEquals") and not (
        substitutes_variables and any(has_variables(v) for v in condition.values))
    values = (list(condition.values) if arn_values
              else _policy_values(condition, context, substitutes_variables, positive in _PATTERN_OPERATORS))

    def match(value: str) -> bool:
        return _matches_one(positive, values, value, arn_values) != negated

    if qualifier == "ForAnyValue":
        return any(match(v) for v in request_values)
    if qualifier == "ForAllValues":
        return all(match(v) for v in request_values)
    if negated:  # NOR over the policy's values, for every value the request carries
        return all(match(v) for v in request_values)
    return any(match(v) for v in request_values)
