"""IAM policy documents parsed into frozen statements, with errors that name the problem."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONDITION_OPERATOR_FAMILIES = (
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
)


class PolicyError(ValueError):
    """A policy document that IAM would not accept, or that credcheck cannot read."""


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    policy_id: str
    index: int
    sid: str | None
    effect: str  # "Allow" | "Deny"
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...]
    substitutes_variables: bool = True  # policy variables are only substituted in Version 2012-10-17
    policy_type: str = "IAM Policy"  # the SourcePolicyType AWS reports for the statement's policy

    @property
    def label(self) -> str:
        """How admins find the statement: `policy-name#Sid`, or `policy-name#statement-N` without a Sid."""
        return f"{self.policy_id}#{self.sid or f'statement-{self.index + 1}'}"


@dataclass(frozen=True)
class Policy:
    policy_id: str
    statements: tuple[Statement, ...]
    policy_type: str = "IAM Policy"  # the SourcePolicyType AWS reports


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(f"{where} must be a string or a non-empty list of strings")


def _condition_values(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise PolicyError(f"{where} values must be strings, numbers or booleans")
    return tuple(out)


def _base_operator(operator: str) -> str:
    base = operator.split(":", 1)[1] if ":" in operator else operator
    return base.removesuffix("IfExists")


def _parse_conditions(block: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(block, Mapping):
        raise PolicyError(f"{where}.Condition must be an object")
    out: list[Condition] = []
    for operator, keys in block.items():
        qualifier = operator.split(":", 1)[0] if ":" in operator else None
        if qualifier not in (None, "ForAnyValue", "ForAllValues"):
            raise PolicyError(f"{where}.Condition: unknown set operator {qualifier!r} in {operator!r}")
        if _base_operator(operator) not in CONDITION_OPERATOR_FAMILIES:
            raise PolicyError(f"{where}.Condition: unknown condition operator {operator!r}")
        if not isinstance(keys, Mapping) or not keys:
            raise PolicyError(f"{where}.Condition.{operator} must be an object of key: value(s)")
        for key, values in keys.items():
            out.append(Condition(operator, str(key), _condition_values(values, f"{where}.Condition.{operator}")))
    return tuple(out)


def _parse_statement(
    raw: Any, policy_id: str, index: int, substitutes_variables: bool, policy_type: str
) -> Statement:
    where = f"Statement[{index}]"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"{where}.Effect must be \"Allow\" or \"Deny\", not {effect!r}")
    if ("Action" in raw) == ("NotAction" in raw):
        raise PolicyError(f"{where} needs exactly one of Action and NotAction")
    if ("Resource" in raw) == ("NotResource" in raw):
        raise PolicyError(f"{where} needs exactly one of Resource and NotResource")
    if "Principal" in raw or "NotPrincipal" in raw:
        raise PolicyError(f"{where} has a Principal: identity policies, boundaries and SCPs have none")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{where}.Sid must be a string")

    def opt(name: str) -> tuple[str, ...] | None:
        return _strings(raw[name], f"{where}.{name}") if name in raw else None

    actions, not_actions = opt("Action"), opt("NotAction")
    for action in (actions or ()) + (not_actions or ()):
        if action != "*" and ":" not in action:
            raise PolicyError(f"{where}: action {action!r} lacks its service prefix (service:Action)")
    return Statement(
        policy_id=policy_id, index=index, sid=sid, effect=effect,
        actions=actions, not_actions=not_actions,
        resources=opt("Resource"), not_resources=opt("NotResource"),
        conditions=_parse_conditions(raw["Condition"], where) if "Condition" in raw else (),
        substitutes_variables=substitutes_variables,
        policy_type=policy_type,
    )


def parse_policy(document: str | Mapping[str, Any], policy_id: str, policy_type: str = "IAM Policy") -> Policy:
    """Parse a policy document (JSON text or an already-decoded mapping)."""
    if isinstance(document, str):
        try:
            decoded = json.loads(document)
        except json.JSONDecodeError as err:
            raise PolicyError(f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    else:
        decoded = document
    if not isinstance(decoded, Mapping):
        raise PolicyError("a policy document must be a JSON object")
    version = decoded.get("Version", "2008-10-17")
    if version not in ("2012-10-17", "2008-10-17"):
        raise PolicyError(f"unknown policy Version {version!r} (use \"2012-10-17\")")
    raw_statements = decoded.get("Statement")
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise PolicyError("the policy has no Statement")
    statements = tuple(
        _parse_statement(s, policy_id, i, version == "2012-10-17", policy_type) for i, s in enumerate(raw_statements)
    )
    return Policy(policy_id=policy_id, statements=statements, policy_type=policy_type)

