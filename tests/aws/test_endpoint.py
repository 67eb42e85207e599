"""The AWS endpoint is real HTTP with real authentication, and simulates IAM as AWS does."""

from concurrent.futures import ThreadPoolExecutor

import botocore.session
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.parsers import QueryParser
from moto.core.serialize import QuerySerializer
from moto.core.utils import get_service_model

from credcheck.engine.aws.principal import resolve
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.model import Credential
from credcheck_testground.aws import Keys, LocalAWS
from credcheck_testground.simulate import render_query_response

pytestmark = pytest.mark.aws

POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Describe", "Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"},
    {"Sid": "NoVpcs", "Effect": "Deny", "Action": "ec2:DescribeVpcs", "Resource": "*"},
    {"Sid": "Simulate", "Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"},
]}


def test_user_authenticates_and_wrong_secret_is_rejected(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(policies=[POLICY])
    assert local_aws.client("sts", keys).get_caller_identity()["Arn"] == arn
    wrong = Keys(keys.access_key_id, "A" * 40)
    with pytest.raises(ClientError) as err:
        local_aws.client("sts", wrong).get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    unknown = Keys("AKIAZZZZZZZZZZZZZZZZ", "A" * 40)
    with pytest.raises(ClientError) as err:
        local_aws.client("sts", unknown).get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_simulate_principal_policy_decisions(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(policies=[POLICY])
    result = local_aws.client("iam", keys).simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["ec2:DescribeSubnets", "ec2:RunInstances", "ec2:DescribeVpcs"])
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in result["EvaluationResults"]}
    assert decisions == {"ec2:DescribeSubnets": "allowed", "ec2:RunInstances": "implicitDeny",
                         "ec2:DescribeVpcs": "explicitDeny"}
    assert not result["IsTruncated"]


def test_simulate_pages_with_max_items(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(policies=[POLICY])
    iam = local_aws.client("iam", keys)
    actions = ["ec2:DescribeSubnets", "ec2:RunInstances", "ec2:DescribeVpcs"]
    seen, marker, pages = [], None, 0
    while True:
        kwargs = {"Marker": marker} if marker else {}
        page = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, MaxItems=1, **kwargs)
        pages += 1
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert pages == 3
    assert seen == actions


def test_simulate_needs_permission(local_aws: LocalAWS) -> None:
    arn, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}])
    with pytest.raises(ClientError) as err:
        local_aws.client("iam", keys).simulate_principal_policy(PolicySourceArn=arn, ActionNames=["ec2:RunInstances"])
    assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_simulate_rejects_session_arn(local_aws: LocalAWS) -> None:
    with pytest.raises(ClientError) as err:
        local_aws.client("iam").simulate_principal_policy(
            PolicySourceArn="arn:aws:sts::123456789012:assumed-role/r/s", ActionNames=["ec2:RunInstances"])
    assert err.value.response["Error"]["Code"] == "InvalidInput"


def test_boundary_and_scp_details(local_aws: LocalAWS) -> None:
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "iam:*"], "Resource": "*"}]}
    arn, _ = local_aws.create_user(policies=[allow_all], boundary=boundary)
    result = local_aws.client("iam").simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["elasticloadbalancing:CreateLoadBalancer", "ec2:RunInstances"])
    by_action = {r["EvalActionName"]: r for r in result["EvaluationResults"]}
    elb = by_action["elasticloadbalancing:CreateLoadBalancer"]
    assert elb["EvalDecision"] == "implicitDeny"
    assert elb["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] is False
    assert by_action["ec2:RunInstances"]["EvalDecision"] == "allowed"


def test_scp_denial(local_aws: LocalAWS) -> None:
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn, _ = local_aws.create_user(policies=[allow_all])
    local_aws.set_scps([{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]}])
    try:
        result = local_aws.client("iam").simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:PassRole"])
    finally:
        local_aws.set_scps([])
    (only,) = result["EvaluationResults"]
    assert only["EvalDecision"] == "explicitDeny"
    assert only["OrganizationsDecisionDetail"]["AllowedByOrganizations"] is False


def test_scps_by_level_allow_only_what_every_level_allows(local_aws: LocalAWS) -> None:
    """An account under a root SCP (ec2 and iam) and an OU SCP (iam only): ec2 is denied by the OU's level.
    (Evaluator-backed: the endpoint decides each level with credcheck's evaluator; the levels are its own.)"""
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    arn, _ = local_aws.create_user(policies=[allow_all])
    root = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "iam:*"], "Resource": "*"}]}
    ou = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    local_aws.set_scps([], levels=[[root], [ou]])
    try:
        result = local_aws.client("iam").simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["ec2:RunInstances", "iam:PassRole"])
    finally:
        local_aws.set_scps([])
    by_action = {r["EvalActionName"]: r for r in result["EvaluationResults"]}
    assert by_action["iam:PassRole"]["EvalDecision"] == "allowed"
    assert by_action["ec2:RunInstances"]["EvalDecision"] == "implicitDeny"
    assert by_action["ec2:RunInstances"]["OrganizationsDecisionDetail"]["AllowedByOrganizations"] is False


def test_throttling_fault(clean_faults: LocalAWS) -> None:
    clean_faults.set_faults(throttle=1, throttle_actions=("GetCallerIdentity",))
    sts = clean_faults.client("sts")
    with pytest.raises(ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "Throttling"
    assert sts.get_caller_identity()["Account"] == "123456789012", "only one request was to be throttled"


def test_outage_refuses_connections_and_keeps_state(clean_faults: LocalAWS) -> None:
    arn, keys = clean_faults.create_user()
    clean_faults.outage(down=True)
    with pytest.raises(EndpointConnectionError):
        clean_faults.client("sts", keys).get_caller_identity()
    clean_faults.outage(down=False)
    assert clean_faults.client("sts", keys).get_caller_identity()["Arn"] == arn


def test_assume_role_honours_external_id(local_aws: LocalAWS) -> None:
    user_arn, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}])
    role_arn = local_aws.create_role("ext-id-role", user_arn, policies=[], external_id="kkp-123")
    sts = local_aws.client("sts", keys)
    assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName="credcheck-test", ExternalId="kkp-123")
    assert assumed["AssumedRoleUser"]["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/ext-id-role/")
    for kwargs in ({"ExternalId": "wrong"}, {}):
        with pytest.raises(ClientError) as err:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="credcheck-test", **kwargs)
        assert err.value.response["Error"]["Code"] == "AccessDenied"


def test_fast_simulate_xml_parses_as_motos_serializer_output() -> None:
    """The emulator renders Simulate* responses itself (for speed); botocore must read them exactly as it reads
    moto's generic serializer output, including escaping, booleans, nested lists and an absent marker."""
    statement = {"SourcePolicyId": "a&b <policy>", "SourcePolicyType": "IAM Policy",
                 "StartPosition": {"Line": 1, "Column": 2}, "EndPosition": {"Line": 1, "Column": 3}}
    body = {"EvaluationResults": [
        {"EvalActionName": "iam:PassRole", "EvalResourceName": "arn:aws:iam::1:role/kubernetes-*",
         "EvalDecision": "allowed", "MatchedStatements": [statement], "MissingContextValues": ["aws:SourceIp"],
         "EvalDecisionDetails": {}, "OrganizationsDecisionDetail": {"AllowedByOrganizations": False},
         "PermissionsBoundaryDecisionDetail": {"AllowedByPermissionsBoundary": True},
         "ResourceSpecificResults": [{"EvalResourceName": "arn:aws:iam::1:role/kubernetes-*",
                                      "EvalResourceDecision": "allowed", "MatchedStatements": [statement],
                                      "MissingContextValues": []}]},
        {"EvalActionName": "ec2:RunInstances", "EvalResourceName": "*", "EvalDecision": "implicitDeny",
         "MatchedStatements": [], "MissingContextValues": [], "EvalDecisionDetails": {}}],
        "IsTruncated": True, "Marker": "2"}
    model = botocore.session.get_session().get_service_model("iam").operation_model("SimulatePrincipalPolicy")
    motos = get_service_model("iam").operation_model("SimulatePrincipalPolicy")
    theirs = QuerySerializer(operation_model=motos).serialize(body)["body"]
    ours = render_query_response("SimulatePrincipalPolicy", body)

    def parsed(xml: str | bytes) -> dict:  # type: ignore[type-arg]
        raw = xml.encode() if isinstance(xml, str) else xml
        out = QueryParser().parse({"body": raw, "headers": {}, "status_code": 200}, model.output_shape)
        out.pop("ResponseMetadata", None)
        return out

    assert parsed(ours) == parsed(theirs)
    assert parsed(ours)["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"] == "a&b <policy>"
    assert parsed(ours)["EvaluationResults"][0]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}


def test_shared_clients_sign_each_call_as_its_own_sessions_credential(local_aws: LocalAWS,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks share one botocore client per service: 8 threads, 8 identities, 10 rounds, no call signed wrongly."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    users = [local_aws.create_user(policies=[]) for _ in range(8)]

    aws = AWSClients(honour_configured_endpoints=True)  # one for all threads, as every check shares the runtime's

    def who(index: int) -> list[str]:
        arn, keys = users[index]
        seen = []
        for _ in range(10):
            session = aws.static_session(Credential(keys.access_key_id, keys.secret_access_key), "eu-central-1")
            seen.append(resolve(session).caller_arn)
            assert session.calls == {"sts:GetCallerIdentity": 1}, "each session counts its own calls only"
        return [s for s in seen if s != arn]

    with ThreadPoolExecutor(8) as pool:
        wrong = [w for result in pool.map(who, range(8)) for w in result]
    assert wrong == []


def test_assuming_a_role_that_does_not_exist_is_access_denied(local_aws: LocalAWS) -> None:
    """AWS answers AccessDenied (not NoSuchEntity) for sts:AssumeRole on a role that does not exist."""
    _, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}])
    with pytest.raises(ClientError) as err:
        local_aws.client("sts", keys).assume_role(RoleArn="arn:aws:iam::123456789012:role/kkp-no-such-role",
                                                  RoleSessionName="credcheck", ExternalId="  spaces and ümlauts  ")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
