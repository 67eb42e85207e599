"""The auditor acts only on credcheck's own behalf (issue 33): it simulates a control-plane role only for a check
whose Clusters KKP runs (the operator passes audit_roles for discovered checks), never for a role a check's maker
typed; keys that may not simulate the role themselves then leave its questions undecided, and the verdict says so."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.cloudtrail import DenialReader
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import Auditor, CheckOptions, run_check
from credcheck.engine.model import Credential, Outcome, role_of
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck.engine.verdict import grant_policy
from credcheck_testground.aws import ACCOUNT, LocalAWS

pytestmark = pytest.mark.aws
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}


def verdict(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, audit_roles: bool) -> tuple[Any, str, int]:
    """Keys with everything KKP needs but iam:SimulatePrincipalPolicy, a Cluster whose CCM assumes a victim role
    (Kubernetes 1.34: assume-role mode), an auditor that may simulate anything."""
    granted = grant_policy(load_profile("kkp").requirements(ACCOUNT, region="*"))
    _, keys = local_aws.create_user(policies=[granted])
    role = local_aws.create_role(f"victim-{audit_roles}", f"arn:aws:iam::{ACCOUNT}:root",
                                 policies=[{"Version": "2012-10-17", "Statement": [
                                     {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}])
    _, auditor = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [SIMULATE]}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auditor.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auditor.secret_access_key)
    local_aws.reset_calls()
    target = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.34.2", control_plane_role=role)
    found = run_check(Credential(keys.access_key_id, keys.secret_access_key), CheckOptions(
        load_profile("kkp"), region="eu-central-1", aws=AWSClients(honour_configured_endpoints=True),
        auditor_cache=AuditorCache(), auditor=Auditor(), targets=(target,), audit_roles=audit_roles))
    return found, role, local_aws.calls_by_key().get(auditor.access_key_id, {}).get("SimulatePrincipalPolicy", 0)


@pytest.fixture(autouse=True)
def _endpoint(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def test_a_typed_role_is_never_simulated_by_the_auditor_and_its_questions_stay_undecided(
        local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    typed, role, typed_calls = verdict(local_aws, monkeypatch, audit_roles=False)
    role_results = [r for r in typed.results if role_of(r.requirement.principal) == role]
    assert role_results and all(r.outcome is not Outcome.ALLOWED and not r.matched_statements
                                for r in role_results), "nothing of the victim role's policy is shown"
    assert all(r.outcome is Outcome.MISSING_CONTEXT for r in role_results), "undecided, not denied"
    assert any(role in f and "could not be simulated" in f for f in typed.findings), typed.findings

    vouched, role2, vouched_calls = verdict(local_aws, monkeypatch, audit_roles=True)
    assert any(role_of(r.requirement.principal) == role2 and r.outcome is Outcome.ALLOWED for r in vouched.results)
    assert vouched_calls > typed_calls, "for a Cluster KKP runs the auditor simulates the role"


def _role_denial(role: str) -> dict[str, Any]:
    return {"eventVersion": "1.09", "eventTime": (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "elasticloadbalancing.amazonaws.com", "eventName": "CreateLoadBalancer",
            "awsRegion": "eu-central-1", "errorCode": "AccessDenied",
            "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIA" + uuid.uuid4().hex[:16].upper(),
                             "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role}}}}


@pytest.mark.parametrize("audit_roles", [False, True], ids=["typed-role", "discovered"])
def test_a_roles_cloudtrail_denials_are_read_only_for_a_discovered_checks_clusters(
        local_aws: LocalAWS, audit_roles: bool) -> None:
    user_arn, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}]}])
    role = local_aws.create_role(f"victim-cp-{uuid.uuid4().hex[:8]}", user_arn, policies=[{
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}])
    local_aws.clear_events()
    local_aws.record_events("eu-central-1", [_role_denial(role)])
    try:
        target = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1", control_plane_role=role)
        verdict = run_check(Credential(keys.access_key_id, keys.secret_access_key), CheckOptions(
            load_profile("kkp"), region="eu-central-1", aws=AWSClients(honour_configured_endpoints=True),
            auditor_cache=AuditorCache(), targets=(target,), denial_reader=DenialReader(), audit_roles=audit_roles))
    finally:
        local_aws.clear_events()
    found = [d.action for d in verdict.observed_denials.denials]  # type: ignore[union-attr]
    assert found == (["elasticloadbalancing:CreateLoadBalancer"] if audit_roles else []), found
