"""A local IAM policy evaluator that decides as AWS documents it.

An explicit Deny in any policy wins. Otherwise a request is allowed only when an identity policy allows it,
the permissions boundary (if one is set) allows it, and the SCPs (if given) allow it. An Allow whose
condition fails does not apply: the result is an implicit deny, never an explicit one.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from credcheck.engine.iam.arn import resource_matches
from credcheck.engine.iam.conditions import condition_holds, split_operator
from credcheck.engine.iam.policy import Policy, Statement
from credcheck.engine.iam.variables import Context, has_variables, substitute
from credcheck.engine.iam.wildcard import glob_match

ALLOWED = "allowed"
IMPLICIT_DENY = "implicitDeny"
EXPLICIT_DENY = "explicitDeny"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: Context = field(default_factory=dict)


def make_request(action: str, resource: str, context: Mapping[str, str | Sequence[str]] | None = None) -> Request:
    """A request whose context keys are case-insensitive (as IAM's are) and whose values are tuples."""
    normalised: dict[str, tuple[str, ...]] = {}
    for key, value in (context or {}).items():
        values = (value,) if isinstance(value, str) else tuple(value)
        normalised[key.lower()] = normalised.get(key.lower(), ()) + values
    return Request(action=action, resource=resource, context=normalised)


@dataclass(frozen=True)
class Evaluation:
    decision: str
    matched_statements: tuple[Statement, ...]
    missing_context_values: tuple[str, ...]
    allowed_by_boundary: bool | None  # None: no boundary was set
    allowed_by_organizations: bool | None  # None: no SCPs were given


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(p == "*" or glob_match(p, action, case_sensitive=False) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str, context: Context, substitutes: bool) -> bool:
    for pattern in patterns:
        if substitutes and has_variables(pattern):
            resolved = substitute(pattern, context)
            if resolved is not None and re.fullmatch(resolved[1], resource, re.DOTALL):
                return True
        elif resource_matches(pattern, resource):
            return True
    return False


def _targets(statement: Statement, request: Request) -> bool:
    """Does the statement's Action/NotAction and Resource/NotResource cover the request?"""
    if statement.actions is not None:
        if not _action_matches(statement.actions, request.action):
            return False
    elif _action_matches(statement.not_actions or (), request.action):
        return False
    subst = statement.substitutes_variables
    if statement.resources is not None:
        return _resource_matches(statement.resources, request.resource, request.context, subst)
    return not _resource_matches(statement.not_resources or (), request.resource, request.context, subst)


@dataclass
class _Matches:
    allows: list[Statement] = field(default_factory=list)
    denies: list[Statement] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)


def _match(policies: Sequence[Policy], request: Request) -> _Matches:
    found = _Matches()
    for policy in policies:
        for statement in policy.statements:
            if not _targets(statement, request):
                continue
            for condition in statement.conditions:
                _, base, _ = split_operator(condition.operator)
                if base != "Null" and condition.key.lower() not in request.context:
                    found.missing.add(condition.key)
            if all(condition_holds(c, request.context, statement.substitutes_variables)
                   for c in statement.conditions):
                (found.allows if statement.effect == "Allow" else found.denies).append(statement)
    return found


def evaluate(
    request: Request,
    identity_policies: Sequence[Policy],
    boundary: Policy | None = None,
    scps: Sequence[Policy] | None = None,
) -> Evaluation:
    identity = _match(identity_policies, request)
    bound = _match([boundary], request) if boundary is not None else None
    orgs = _match(scps, request) if scps is not None else None
    missing = tuple(sorted(identity.missing | (bound.missing if bound else set())
                           | (orgs.missing if orgs else set())))
    allowed_by_boundary = None if bound is None else (bool(bound.allows) and not bound.denies)
    allowed_by_orgs = None if orgs is None else (bool(orgs.allows) and not orgs.denies)

    denies = identity.denies + (bound.denies if bound else []) + (orgs.denies if orgs else [])
    if denies:
        return Evaluation(EXPLICIT_DENY, tuple(denies), missing, allowed_by_boundary, allowed_by_orgs)
    if identity.allows and allowed_by_boundary is not False and allowed_by_orgs is not False:
        return Evaluation(ALLOWED, tuple(identity.allows), missing, allowed_by_boundary, allowed_by_orgs)
    return Evaluation(IMPLICIT_DENY, (), missing, allowed_by_boundary, allowed_by_orgs)
