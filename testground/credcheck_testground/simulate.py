"""iam:SimulatePrincipalPolicy and iam:SimulateCustomPolicy for moto, decided by credcheck's evaluator.

moto stores users, groups, roles and their policies but cannot simulate; these handlers read what moto
stores and answer in AWS's response shape (moto serialises the result with botocore's IAM model).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from moto.core.exceptions import AccessDeniedError
from moto.core.responses import ActionResult
from moto.iam.exceptions import InvalidInput, NoSuchEntity
from moto.iam.models import IAMBackend, iam_backends
from moto.iam.responses import IamResponse
from moto.sts.models import sts_backends

from credcheck.engine.iam.arn import Arn, ArnError
from credcheck.engine.iam.evaluator import Evaluation, evaluate, make_request
from credcheck.engine.iam.policy import Policy, PolicyError, parse_policy

# Service control policies per account, by level of the organization (root, OUs, the account), set through the
# test ground's control API (moto has no SCP evaluation). AWS allows an action only when every level allows it.
SCPS: dict[str, list[list[Policy]]] = {}
# Actions whose simulation results are left out of the answer (fault injection: AWS naming an action differently).
DROPPED: set[str] = set()
# Decision tables: the exact answer per principal (PolicySourceArn), independent of any evaluator. A table maps
# action names (or "*") to an answer: {"decision": "allowed" | "implicitDeny" | "explicitDeny",
# "matched": ["PolicyId"], "organizations": bool, "boundary": bool, "missing": ["context:Key"]}.
DECISIONS: dict[str, dict[str, dict[str, Any]]] = {}


@dataclass(frozen=True)
class TableAnswer:
    """An Evaluation-shaped answer read from a decision table."""

    decision: str
    matched: tuple[str, ...] = ()
    allowed_by_organizations: bool | None = None
    allowed_by_boundary: bool | None = None
    missing_context_values: tuple[str, ...] = ()


def table_answer(table: dict[str, dict[str, Any]], action: str) -> TableAnswer:
    row = table.get(action, table.get("*"))
    if row is None:
        raise InvalidInput(f"the decision table has no answer for {action} and no '*' row")
    return TableAnswer(str(row.get("decision", "implicitDeny")), tuple(row.get("matched", ())),
                       row.get("organizations"), row.get("boundary"), tuple(row.get("missing", ())))


def evaluate_with_scps(request: Any, policies: list[Policy], boundary: Policy | None,
                       levels: list[list[Policy]] | None) -> Evaluation:
    """AWS Organizations: an SCP at every level, root to account, must allow (AWS Organizations User Guide,
    "SCP evaluation"); the first level that does not decides the answer."""
    if not levels:
        return evaluate(request, policies, boundary, None)
    results = [evaluate(request, policies, boundary, level) for level in levels]
    return next((r for r in results if r.allowed_by_organizations is False), results[0])


def _document(raw: str) -> str:
    return unquote(raw) if raw.lstrip().startswith("%7B") else raw


def _managed_document(policy: Any) -> str:
    for version in policy.versions:
        if version.is_default:
            return _document(version.document)
    return _document(policy.versions[-1].document)


def _parse(raw: str, policy_id: str, policy_type: str = "IAM Policy") -> Policy:
    try:
        return parse_policy(_document(raw), policy_id, policy_type)
    except PolicyError as err:
        raise InvalidInput(f"policy {policy_id} is malformed: {err}") from None


def _boundary(backend: IAMBackend, boundary_arn: str | None) -> Policy | None:
    if not boundary_arn:
        return None
    managed = backend.get_policy(boundary_arn)
    return _parse(_managed_document(managed), managed.name, "PermissionsBoundaryPolicy")


def principal_policies(backend: IAMBackend, source_arn: str) -> tuple[list[Policy], Policy | None, dict[str, str]]:
    """Identity policies, boundary and policy-variable context for a user or role ARN, as AWS gathers them."""
    try:
        arn = Arn.parse(source_arn)
    except ArnError:
        raise InvalidInput(f"Invalid ARN: {source_arn}") from None
    if arn.service == "sts":
        raise InvalidInput(
            "Invalid Entity Arn: assumed-role session ARNs are not supported; use the role's ARN")
    name = arn.resource.rsplit("/", 1)[-1]
    if arn.resource_type == "user":
        user = backend.get_user(name)
        policies = [_parse(doc, pname) for pname, doc in user.policies.items()]
        policies += [_parse(_managed_document(mp), mp.name) for mp in user.managed_policies.values()]
        for group in backend.get_groups_for_user(name):
            policies += [_parse(doc, pname) for pname, doc in group.policies.items()]
            policies += [_parse(_managed_document(mp), mp.name) for mp in group.managed_policies.values()]
        boundary = _boundary(backend, getattr(user, "permissions_boundary_arn", None))
        return policies, boundary, {"aws:username": user.name, "aws:userid": user.id}
    if arn.resource_type == "role":
        role = backend.get_role(name)
        policies = [_parse(doc, pname) for pname, doc in role.policies.items()]
        policies += [_parse(_managed_document(mp), mp.name) for mp in role.managed_policies.values()]
        return policies, _boundary(backend, role.permissions_boundary_arn), {"aws:userid": role.id}
    raise InvalidInput(f"Invalid Entity Arn: {source_arn} is neither a user nor a role")


def caller_arn(response: IamResponse) -> str:
    access_key = response.get_access_key()
    _, arn, _ = sts_backends[response.current_account][response.partition].get_caller_identity(
        access_key, response.region)
    return str(arn)


def _caller_policies(response: IamResponse, arn: str) -> tuple[list[Policy], Policy | None, dict[str, str]]:
    parsed = Arn.parse(arn)
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        role_name = parsed.resource.split("/")[1]
        arn = f"arn:{parsed.partition}:iam::{parsed.account}:role/{role_name}"
    backend = iam_backends[parsed.account][response.partition]
    try:
        return principal_policies(backend, arn)
    except (NoSuchEntity, InvalidInput):
        return [], None, {}


def _authorize(response: IamResponse, action: str, resource: str) -> None:
    """AccessDenied unless the caller's own policies allow the simulate call, as on AWS."""
    caller = caller_arn(response)
    if caller.endswith(":root") or caller.endswith(":user/moto"):
        return  # account root (moto's default identity) may do anything
    policies, boundary, variables = _caller_policies(response, caller)
    account = Arn.parse(caller).account
    result = evaluate_with_scps(make_request(action, resource, variables), policies, boundary, SCPS.get(account))
    if result.decision != "allowed":
        raise AccessDeniedError(caller, action)


def _context(response: IamResponse) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    for entry in response._get_param("ContextEntries", []):
        context.setdefault(entry["ContextKeyName"], []).extend(entry.get("ContextKeyValues", []))
    return context


def _result(action: str, resource: str, evaluation: Evaluation | TableAnswer,
            resource_specific: bool) -> dict[str, Any]:
    if isinstance(evaluation, TableAnswer):
        matched = [{"SourcePolicyId": policy_id, "SourcePolicyType": "IAM Policy",
                    "StartPosition": {"Line": 1, "Column": 1}, "EndPosition": {"Line": 1, "Column": 2}}
                   for policy_id in evaluation.matched]
    else:
        matched = [{"SourcePolicyId": s.policy_id, "SourcePolicyType": s.policy_type,
                    "StartPosition": {"Line": 1, "Column": s.index + 1},
                    "EndPosition": {"Line": 1, "Column": s.index + 2}}
                   for s in evaluation.matched_statements]
    out: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": evaluation.decision,
        "MatchedStatements": matched,
        "MissingContextValues": list(evaluation.missing_context_values),
        "EvalDecisionDetails": {},
    }
    if evaluation.allowed_by_organizations is not None:
        out["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": evaluation.allowed_by_organizations}
    if evaluation.allowed_by_boundary is not None:
        out["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": evaluation.allowed_by_boundary}
    if resource_specific:
        out["ResourceSpecificResults"] = [{
            "EvalResourceName": resource,
            "EvalResourceDecision": evaluation.decision,
            "MatchedStatements": matched,
            "MissingContextValues": list(evaluation.missing_context_values),
        }]
    return out


def _page(response: IamResponse, results: list[dict[str, Any]]) -> str:
    max_items = int(response._get_param("MaxItems", 100))
    if not 1 <= max_items <= 1000:
        raise InvalidInput("MaxItems must be between 1 and 1000")
    marker = response._get_param("Marker")
    start = int(marker) if marker and str(marker).isdigit() else 0
    page = results[start:start + max_items]
    body: dict[str, Any] = {"EvaluationResults": page, "IsTruncated": start + max_items < len(results)}
    if body["IsTruncated"]:
        body["Marker"] = str(start + max_items)
    return render_query_response(response._get_action(), body)


def _xml(value: Any) -> str:
    """A value in the query protocol's XML: structures as elements, lists as <member>s, booleans lower-case."""
    if isinstance(value, dict):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items())
    if isinstance(value, list):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def render_query_response(action: str, result: dict[str, Any]) -> str:
    """The XML AWS sends for `action` (IAM's query protocol). moto's generic serializer takes ~0.1 s for a page
    of 1,000 results, which made the emulator, not credcheck, the bottleneck of every load benchmark."""
    return (f'<{action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
            f"<{action}Result>{_xml(result)}</{action}Result>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>")


def _simulate(response: IamResponse,
              decide: Callable[[str, str, dict[str, list[str]]], Evaluation | TableAnswer]) -> str:
    actions: list[str] = response._get_param("ActionNames", [])
    if not actions:
        raise InvalidInput("ActionNames must not be empty")
    for action in actions:
        if "*" in action or "?" in action or ":" not in action:
            raise InvalidInput(f"Actions must be concrete service:Action names, not {action!r}")
    resources: list[str] = response._get_param("ResourceArns", []) or ["*"]
    context = _context(response)
    results = [_result(action, resource, decide(action, resource, context), resource != "*")
               for action in actions for resource in resources if action not in DROPPED]
    return _page(response, results)


def simulate_principal_policy(self: IamResponse) -> str:
    source_arn: str = self._get_param("PolicySourceArn")
    _authorize(self, "iam:SimulatePrincipalPolicy", source_arn)
    try:
        account = Arn.parse(source_arn).account
    except ArnError:
        raise InvalidInput(f"Invalid ARN: {source_arn}") from None
    table = DECISIONS.get(source_arn)
    if table is not None:  # the test said what AWS answers: no evaluator involved
        return _simulate(self, lambda action, resource, context: table_answer(table, action))
    policies, boundary, variables = principal_policies(iam_backends[account][self.partition], source_arn)
    scps = SCPS.get(account)

    def decide(action: str, resource: str, context: dict[str, list[str]]) -> Evaluation:
        return evaluate_with_scps(make_request(action, resource, {**variables, **context}), policies, boundary, scps)

    return _simulate(self, decide)


def simulate_custom_policy(self: IamResponse) -> str:
    _authorize(self, "iam:SimulateCustomPolicy", "*")
    policies = [_parse(doc, f"PolicyInputList.{i + 1}")
                for i, doc in enumerate(self._get_param("PolicyInputList", []))]
    boundaries = [_parse(doc, f"PermissionsBoundaryPolicyInputList.{i + 1}", "PermissionsBoundaryPolicy")
                  for i, doc in enumerate(self._get_param("PermissionsBoundaryPolicyInputList", []))]
    boundary = boundaries[0] if boundaries else None

    def decide(action: str, resource: str, context: dict[str, list[str]]) -> Evaluation:
        return evaluate(make_request(action, resource, context), policies, boundary)

    return _simulate(self, decide)


def put_user_permissions_boundary(self: IamResponse) -> ActionResult:
    """moto lacks user permissions boundaries; keep the ARN on the user so simulation honours it."""
    user = self.backend.get_user(self._get_param("UserName"))
    boundary_arn = self._get_param("PermissionsBoundary")
    self.backend.get_policy(boundary_arn)
    user.permissions_boundary_arn = boundary_arn  # type: ignore[attr-defined]
    return ActionResult({})


def install() -> None:
    IamResponse.simulate_principal_policy = simulate_principal_policy  # type: ignore[attr-defined]
    IamResponse.simulate_custom_policy = simulate_custom_policy  # type: ignore[attr-defined]
    IamResponse.put_user_permissions_boundary = put_user_permissions_boundary  # type: ignore[attr-defined]
