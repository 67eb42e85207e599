"""Edits of an IAM policy document (plain dicts, as `credcheck requirements show … --format policy` prints them),
shared by the unit tests (tests/unit) and the tests against the local AWS endpoint (tests/aws).

Importable as `policy_edits`: tests/conftest.py puts this folder on sys.path."""

from typing import Any


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    """An IAM policy document of these statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def without_pair(doc: dict[str, Any], action: str, resource: str) -> dict[str, Any]:
    """The policy less one (action, resource) pair: the rest of its statement stays, split where needed (the other
    actions on all its resources; the action itself on the other resources, as a statement whose Sid ends in `r`)."""
    statements = []
    for st in doc["Statement"]:
        actions, resources = as_list(st["Action"]), as_list(st["Resource"])
        if action not in actions or resource not in resources:
            statements.append(st)
            continue
        if len(actions) > 1:
            statements.append({**st, "Action": [a for a in actions if a != action]})
        if len(resources) > 1:
            statements.append({**st, "Sid": st["Sid"] + "r", "Action": action,
                               "Resource": [r for r in resources if r != resource]})
    return {**doc, "Statement": statements}
