"""sts:AssumeRole in moto, decided the way AWS decides it, without credcheck's evaluator.

AWS (IAM User Guide, "AWS JSON policy elements: Principal" and "Cross account resource access"): the role's trust
policy must allow the caller. A statement naming the caller itself (its user or role ARN) or `*` is enough within
the account; one naming the account (`arn:aws:iam::A:root` or `A`) delegates to the caller's identity policies,
which must then allow sts:AssumeRole on the role; across accounts both sides must allow. Service principals never
match a user or role; an explicit Deny wins. Conditions are decided by this test ground's own matcher
(`conditions.py`), identity policies by moto's policy engine — neither is code under test.

moto alone compares the caller's ARN with the trust principal literally, accepts a missing ExternalId, and lets
callers assume roles that don't exist.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from moto.core.exceptions import AccessDeniedError
from moto.iam.access_control import IAMPolicy, IAMRequestBase, PermissionResult
from moto.iam.models import IAMBackend, iam_backends
from moto.sts.responses import TokenResponse

from credcheck_testground.conditions import conditions_hold

_original_assume_role = TokenResponse.assume_role


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _document(raw: str) -> Any:
    return json.loads(unquote(raw) if raw.lstrip().startswith("%7B") else raw)


def caller_names(caller_arn: str) -> set[str]:
    """The ARNs a trust policy may name the caller by: its own, and for a role session the role's."""
    names = {caller_arn}
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        names.add(f"arn:{parts[1]}:iam::{parts[4]}:role/{parts[5].split('/')[1]}")
    return names


def _principal_match(principal: Any, caller_arn: str, account: str, partition: str) -> str | None:
    """"self" (named directly or `*`), "account" (the caller's account), or None."""
    if principal == "*":
        return "self"
    if not isinstance(principal, dict):
        return None
    for entry in (str(e) for e in _list(principal.get("AWS", []))):
        if entry == "*" or entry in caller_names(caller_arn):
            return "self"
        if entry in (account, f"arn:{partition}:iam::{account}:root"):
            return "account"
    return None  # Service, Federated and CanonicalUser principals never match an IAM user or role


def trust_decision(trust: Any, caller_arn: str, context: dict[str, list[str]]) -> str | None:
    """"deny", "self", "account" (delegates to identity policies) or None (the trust policy does not allow)."""
    parts = caller_arn.split(":", 5)
    partition, account = parts[1], parts[4]
    allowed: str | None = None
    for statement in _list(trust.get("Statement", [])):
        actions = [str(a).lower() for a in _list(statement.get("Action", []))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        how = _principal_match(statement.get("Principal"), caller_arn, account, partition)
        if how is None or not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return "deny"
        allowed = "self" if "self" in (allowed, how) else how
    return allowed


def managed_document(policy: Any) -> str:
    """A managed policy's default version (moto keeps every version)."""
    versions = list(policy.versions)
    return str(next((v.document for v in versions if v.is_default), versions[-1].document))


def identity_policies(backend: IAMBackend, caller_arn: str) -> list[str]:
    """The caller's identity policy documents, as moto stores them (user, its groups, or the session's role)."""
    name = caller_arn.split(":", 5)[5]
    documents: list[str] = []
    if name.startswith("user/"):
        user = backend.get_user(name.rsplit("/", 1)[-1])
        documents += list(user.policies.values())
        documents += [managed_document(mp) for mp in user.managed_policies.values()]
        for group in backend.get_groups_for_user(user.name):
            documents += list(group.policies.values())
            documents += [managed_document(mp) for mp in group.managed_policies.values()]
    elif name.startswith("assumed-role/"):
        role = backend.get_role(name.split("/")[1])
        documents += list(role.policies.values())
        documents += [managed_document(mp) for mp in role.managed_policies.values()]
    return documents


def identity_allows(documents: Iterable[str], role_arn: str) -> bool:
    results = [IAMPolicy(unquote(d) if d.lstrip().startswith("%7B") else d).is_action_permitted(
        "sts:AssumeRole", role_arn) for d in documents]
    return PermissionResult.DENIED not in results and PermissionResult.PERMITTED in results


def assume_role(self: TokenResponse) -> Any:
    role_arn = self._get_param("RoleArn")
    external_id = self._get_param("ExternalId")
    caller = str(self.backend.get_caller_identity(self.get_access_key(), self.region)[1])
    parts = str(role_arn).split(":", 5)
    if len(parts) != 6:
        raise AccessDeniedError(caller, "sts:AssumeRole")
    try:
        role = iam_backends[parts[4]][self.partition].get_role(parts[5].rsplit("/", 1)[-1])
    except Exception:  # moto's not-found errors differ by path: AWS says AccessDenied for any missing role
        raise AccessDeniedError(caller, "sts:AssumeRole") from None
    caller_account = caller.split(":")[4]
    context = {"aws:principalarn": [next(iter(sorted(caller_names(caller) - {caller})), caller)],
               "aws:principalaccount": [caller_account]}
    if external_id is not None:
        context["sts:externalid"] = [external_id]
    decision = trust_decision(_document(role.assume_role_policy_document), caller, context)
    root = caller.endswith(":root") or caller.endswith(":user/moto")  # the account itself may do anything

    def identity_ok() -> bool:
        return root or identity_allows(identity_policies(iam_backends[caller_account][self.partition], caller),
                                       role_arn)

    if not assume_allowed(decision, same_account=caller_account == parts[4], identity_ok=identity_ok):
        raise AccessDeniedError(caller, "sts:AssumeRole")
    return _original_assume_role(self)


def assume_allowed(decision: str | None, *, same_account: bool, identity_ok: Callable[[], bool]) -> bool:
    """Trust and identity together: an account principal, or any cross-account call, needs both sides."""
    if decision in (None, "deny"):
        return False
    if decision == "account" or not same_account:
        return identity_ok()
    return True


_original_check = IAMRequestBase.check_action_permitted


IAM_RESOURCES = {"RoleName": "role", "InstanceProfileName": "instance-profile", "UserName": "user"}


def check_action_permitted(self: IAMRequestBase, resource: str) -> None:
    """moto's own request authorization, with two corrections. sts:AssumeRole is left to assume_role above, which
    decides it as AWS does (moto's would demand an identity grant even where the trust names the caller, and match
    principals literally). IAM calls naming a role, instance profile or user are authorized on that resource's ARN,
    as AWS does, not on `*` (where a policy scoped to role/kubernetes-* would never match)."""
    action = getattr(self, "_action", "")
    if action == "sts:AssumeRole":
        return
    if action.startswith("iam:") and resource == "*":
        data: dict[str, Any] = getattr(self, "_data", {}) or {}
        for param, kind in IAM_RESOURCES.items():
            value = data.get(param)
            name = value[0] if isinstance(value, list) and value else value
            if name:
                resource = f"arn:aws:iam::{self.account_id}:{kind}/{name}"
                break
    _original_check(self, resource)


def install() -> None:
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
    IAMRequestBase.check_action_permitted = check_action_permitted  # type: ignore[method-assign]
