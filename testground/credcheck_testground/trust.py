"""sts:AssumeRole in moto, made to honour the role's trust policy the way AWS does for credcheck's cases.

moto accepts AssumeRole for roles that don't exist and for a missing ExternalId; AWS denies both.
"""

import json
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import AccessDeniedError
from moto.iam.exceptions import NoSuchEntity
from moto.iam.models import iam_backends
from moto.sts.responses import TokenResponse

from credcheck.iam.arn import Arn, ArnError
from credcheck.iam.conditions import condition_holds
from credcheck.iam.policy import Condition
from credcheck.iam.wildcard import glob_match

_original_assume_role = TokenResponse.assume_role


def _conditions(raw: Any) -> list[Condition]:
    out: list[Condition] = []
    for operator, keys in (raw or {}).items():
        for key, values in keys.items():
            out.append(Condition(operator, key, tuple(values if isinstance(values, list) else [values])))
    return out


def trust_allows(trust_policy: dict[str, Any], external_id: str | None) -> bool:
    statements = trust_policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    context = {"sts:externalid": (external_id,)} if external_id is not None else {}
    allowed = False
    for statement in statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if not any(glob_match(a, "sts:AssumeRole", case_sensitive=False) for a in actions):
            continue
        if all(condition_holds(c, context) for c in _conditions(statement.get("Condition"))):
            if statement.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def assume_role(self: TokenResponse) -> Any:
    role_arn = self._get_param("RoleArn")
    external_id = self._get_param("ExternalId")
    caller = self.backend.get_caller_identity(self.get_access_key(), self.region)[1]
    try:
        arn = Arn.parse(role_arn)
        role = iam_backends[arn.account][self.partition].get_role(arn.resource.rsplit("/", 1)[-1])
    except (ArnError, NoSuchEntity):
        raise AccessDeniedError(caller, "sts:AssumeRole") from None
    document = role.assume_role_policy_document
    trust = json.loads(unquote(document) if document.lstrip().startswith("%7B") else document)
    if not trust_allows(trust, external_id):
        raise AccessDeniedError(caller, "sts:AssumeRole")
    return _original_assume_role(self)


def install() -> None:
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
