"""Does a role's trust policy let a principal assume it? (pure; AWS's rules for the Principal element)

An `AWS` principal naming the account (`arn:P:iam::A:root` or the bare `A`) delegates to the caller's identity
policies; naming the user or role itself admits it directly; `*` admits anyone; `Service` principals never
admit a user or role; a matching Deny wins. Conditions are not evaluated: a statement with conditions counts
as admitting (the simulation of the caller's own policy still decides the rest).
AWS: IAM User Guide, "AWS JSON policy elements: Principal" (account principals, IAM user and role principals).
"""

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote


def parse_document(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    text = str(raw)
    parsed = json.loads(unquote(text) if text.lstrip().startswith("%7B") else text)
    return parsed if isinstance(parsed, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names(principal: Any, arns: set[str], account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for entry in map(str, _list(principal.get("AWS", []))):
        if entry == "*" or entry in arns or entry in (account, f"arn:{_partition(arns)}:iam::{account}:root"):
            return True
    return False


def _partition(arns: set[str]) -> str:
    return next(iter(sorted(arns))).split(":")[1] if arns else "aws"


def trust_admits(document: Any, principal_arns: set[str], account: str) -> bool:
    """True when an Allow for sts:AssumeRole names the principal (any of its ARNs), its account, or `*`."""
    doc = parse_document(document)
    allowed = False
    for statement in _list(doc.get("Statement", [])):
        actions = [str(a).lower() for a in _list(statement.get("Action", []))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        if not _names(statement.get("Principal"), principal_arns, account):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def trust_statement(account: str, partition: str) -> dict[str, Any]:
    """What KKP (v2.30+) itself writes into the control-plane role's trust policy for the keys' account."""
    return {"Effect": "Allow", "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
            "Action": "sts:AssumeRole"}
