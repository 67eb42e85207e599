"""The cheaper query-protocol steps (engine/aws/queryprotocol.py) give what botocore's own steps give: the oracle is
botocore's QueryParser, json_decode_policies and AWSRequestPreparer, run on the same answers and requests."""

import copy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.session
import pytest
from botocore.awsrequest import AWSRequest
from botocore.handlers import json_decode_policies
from botocore.parsers import QueryParser

from credcheck.engine.aws.queryprotocol import (
    PlannedParserFactory,
    PlannedQueryParser,
    decode_policies,
    encode_body_once,
    holds_policies,
)
from credcheck.engine.aws.session import AWSClients, RetryPolicy

DATA = Path(__file__).resolve().parents[3] / "data" / "aws"
SESSION = botocore.session.get_session()
NS = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'
TRUST = quote('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:'
              'user/kkp"},"Action":"sts:AssumeRole"}]}')
# shaped as the IAM API Reference's examples (GetRole, GetCallerIdentity, ListAccessKeys)
GET_ROLE = f"""<GetRoleResponse {NS}><GetRoleResult><Role>
  <Path>/kubernetes/</Path><Arn>arn:aws:iam::123456789012:role/kubernetes/kubernetes-abc</Arn>
  <RoleName>kubernetes-abc</RoleName><AssumeRolePolicyDocument>{TRUST}</AssumeRolePolicyDocument>
  <CreateDate>2025-04-01T10:00:00Z</CreateDate><RoleId>AROADBQP57FF2AEXAMPLE</RoleId>
  <MaxSessionDuration>3600</MaxSessionDuration>
  <RoleLastUsed><LastUsedDate>2026-11-30T09:08:07Z</LastUsedDate><Region>eu-central-1</Region></RoleLastUsed>
  <Tags><member><Key>kubernetes.io/cluster/abc</Key><Value>owned</Value></member>
        <member><Key>empty</Key><Value></Value></member></Tags>
</Role></GetRoleResult><ResponseMetadata><RequestId>df37e965-9967-11e1-a4c3-270EXAMPLE04</RequestId>
</ResponseMetadata></GetRoleResponse>""".encode()
CALLER = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>
  <Arn>arn:aws:iam::123456789012:user/kkp</Arn><UserId>AIDACKCEVSQ6C2EXAMPLE</UserId>
  <Account>123456789012</Account></GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"""
KEYS = f"""<ListAccessKeysResponse {NS}><ListAccessKeysResult><UserName>kkp</UserName><AccessKeyMetadata>
  <member><UserName>kkp</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status>
  <CreateDate>2024-01-02T03:04:05Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated>
</ListAccessKeysResult><ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId>
</ResponseMetadata></ListAccessKeysResponse>""".encode()

ANSWERS = [("iam", "SimulatePrincipalPolicy", (DATA / "simulate-page1.xml").read_bytes(), 200),
           ("iam", "SimulatePrincipalPolicy", (DATA / "simulate-page2.xml").read_bytes(), 200),
           ("iam", "GetRole", GET_ROLE, 200), ("sts", "GetCallerIdentity", CALLER, 200),
           ("iam", "ListAccessKeys", KEYS, 200),
           ("iam", "SimulatePrincipalPolicy", (DATA / "iam-AccessDenied.xml").read_bytes(), 403),
           ("iam", "SimulatePrincipalPolicy", (DATA / "iam-Throttling.xml").read_bytes(), 400),
           ("sts", "GetCallerIdentity", (DATA / "sts-InvalidClientTokenId.xml").read_bytes(), 403),
           ("sts", "GetCallerIdentity", (DATA / "sts-ExpiredToken.xml").read_bytes(), 400)]


def parsed(parser: QueryParser, service: str, operation: str, body: bytes, status: int) -> Any:
    shape = SESSION.get_service_model(service).operation_model(operation).output_shape
    return parser.parse({"body": body, "headers": {"x-amzn-requestid": "r"}, "status_code": status}, shape)


@pytest.mark.parametrize(("service", "operation", "body", "status"), ANSWERS)
def test_the_planned_parser_gives_botocores_parse_key_for_key(service: str, operation: str, body: bytes,
                                                             status: int) -> None:
    expected = parsed(QueryParser(), service, operation, body, status)
    planned = PlannedQueryParser()
    first, second = (parsed(planned, service, operation, body, status) for _ in range(2))
    assert first == expected
    assert second == expected, "the second answer: parsed by the plan"
    assert keys_in_order(second) == keys_in_order(expected), "the same keys in the same order"


def keys_in_order(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, keys_in_order(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [keys_in_order(v) for v in value]
    return value


def test_the_factory_gives_the_planned_parser_for_query_only() -> None:
    factory = PlannedParserFactory()
    assert type(factory.create_parser("query")) is PlannedQueryParser
    assert type(factory.create_parser("json")).__name__ == "JSONParser"


@pytest.mark.parametrize(("operation", "body"), [("GetRole", GET_ROLE),
                                                 ("SimulatePrincipalPolicy", (DATA / "simulate-page1.xml").read_bytes())])
def test_policy_documents_are_decoded_as_botocore_decodes_them(operation: str, body: bytes) -> None:
    model = SESSION.get_service_model("iam").operation_model(operation)
    answer = parsed(QueryParser(), "iam", operation, body, 200)
    theirs, ours = copy.deepcopy(answer), copy.deepcopy(answer)
    json_decode_policies(parsed=theirs, model=model)
    decode_policies(parsed=ours, model=model)
    assert ours == theirs
    if operation == "GetRole":
        assert ours["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"


def test_only_outputs_with_a_policy_document_are_walked() -> None:
    iam = SESSION.get_service_model("iam")
    assert holds_policies(iam.operation_model("GetRole").output_shape)
    assert holds_policies(iam.operation_model("GetAccountAuthorizationDetails").output_shape)
    assert not holds_policies(iam.operation_model("SimulatePrincipalPolicy").output_shape)
    assert not holds_policies(iam.operation_model("ListAccessKeys").output_shape)


def test_the_body_encoded_once_is_the_body_botocore_sends() -> None:
    body = {"Action": "SimulatePrincipalPolicy", "Version": "2010-05-08", "ActionNames.member.1": "ec2:RunInstances",
            "ContextEntries.member.1.ContextKeyValues.member.1": "eu-central-1 ü&=+/",
            "PolicySourceArn": "arn:aws:iam::123456789012:user/kkp"}
    url = "https://iam.amazonaws.com/"
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    theirs = AWSRequest(method="POST", url=url, data=dict(body), headers=dict(headers))
    ours = AWSRequest(method="POST", url=url, data=dict(body), headers=dict(headers))
    encode_body_once(request=ours)
    assert isinstance(ours.data, str)
    assert ours.body == theirs.body
    sent_theirs, sent_ours = theirs.prepare(), ours.prepare()
    assert (sent_ours.body, dict(sent_ours.headers)) == (sent_theirs.body, dict(sent_theirs.headers))


def test_the_process_clients_use_the_planned_steps() -> None:
    clients = AWSClients(honour_configured_endpoints=False)
    iam = clients.explicit_client("iam", "us-east-1", RetryPolicy())
    assert isinstance(iam._endpoint._response_parser_factory, PlannedParserFactory)
    handlers = list(iam.meta.events._emitter._handlers.prefix_search("after-call.iam.GetRole"))
    assert decode_policies in handlers and json_decode_policies not in handlers
    clients.simulations.shutdown()
