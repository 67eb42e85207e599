"""What AWS refused, from CloudTrail's LookupEvents (the test ground answers in CloudTrail's wire format from events
each test records, parsed by botocore), held against the simulation.

The recorded events are what the test says AWS logged; the expected findings follow from them and from the user's
policy, never from credcheck's evaluator.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from policy_edits import doc

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.cloudtrail import DenialReader
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import CheckOptions, run_check
from credcheck.engine.model import Credential, Status, Verdict
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck_testground.aws import Keys, LocalAWS

pytestmark = pytest.mark.aws

SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}
EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
ABC = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1")
# as the operator's runtime does: one set of clients (honouring the test ground's AWS_ENDPOINT_URL, as --dev-endpoints
# does) and one auditor memory for every check of this module
AWS = AWSClients(honour_configured_endpoints=True)
AUDITORS = AuditorCache()


def event(keys: Keys | None, source: str, name: str, code: str | None, *, region: str = "eu-central-1",
          hours_ago: float = 1, issuer: str | None = None) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": "IAMUser", "accessKeyId": keys.access_key_id if keys else "AKIAOTHER00000000000"}
    if issuer:
        identity = {"type": "AssumedRole", "accessKeyId": "ASIA" + uuid.uuid4().hex[:16].upper(),
                    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": issuer}}}
    rec = {"eventVersion": "1.09", "eventTime": (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"), "eventSource": source, "eventName": name, "awsRegion": region,
        "userIdentity": identity, "requestParameters": {"secret": "never copied"}}
    if code:
        rec["errorCode"] = code
    return rec


@pytest.fixture
def trail(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> LocalAWS:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    local_aws.clear_events()
    yield local_aws  # type: ignore[misc]
    local_aws.clear_events()


def observe(keys: Keys, *targets: Target, reader: DenialReader | None = None) -> Verdict:
    options = CheckOptions(load_profile("kkp"), region="eu-central-1", targets=targets or (ABC,),
                           denial_reader=reader or DenialReader(), aws=AWS, auditor_cache=AUDITORS)
    return run_check(Credential(keys.access_key_id, keys.secret_access_key), options)


def test_a_denial_the_simulation_agrees_with_is_shown_without_a_disagreement(trail: LocalAWS) -> None:
    _, keys = trail.create_user(policies=[doc(SIMULATE, {"Effect": "Allow", "NotAction": "ec2:RunInstances",
                                                         "Resource": "*"})])
    trail.record_events("eu-central-1", [event(keys, "ec2.amazonaws.com", "RunInstances",
                                               "Client.UnauthorizedOperation", hours_ago=h) for h in (1, 2, 30)]
                        + [event(keys, "ec2.amazonaws.com", "DescribeVpcs", None)])
    verdict = observe(keys)
    observed = verdict.observed_denials
    assert observed is not None and observed.state == "Observed"
    assert [(d.action, d.count, d.error_code, d.region) for d in observed.denials] == [
        ("ec2:RunInstances", 2, "Client.UnauthorizedOperation", "eu-central-1")], "30 h ago is outside the window"
    assert verdict.status is Status.INSUFFICIENT
    assert not [f for f in verdict.findings if "simulation disagrees" in f]


def test_a_denial_the_simulation_allowed_raises_a_disagreement(trail: LocalAWS) -> None:
    _, keys = trail.create_user(policies=[doc(EVERYTHING)])
    trail.record_events("eu-central-1", [event(keys, "ec2.amazonaws.com", "TerminateInstances",
                                               "Client.UnauthorizedOperation")])
    trail.record_events("us-east-1", [event(keys, "iam.amazonaws.com", "GetRole", "AccessDenied")])
    verdict = observe(keys)
    assert verdict.status is Status.SUFFICIENT
    actions = {d.action: d for d in verdict.observed_denials.denials}  # type: ignore[union-attr]
    assert set(actions) == {"ec2:TerminateInstances", "iam:GetRole"}, "IAM's events are in the home region"
    disagree = [f for f in verdict.findings if f.startswith("simulation disagrees with AWS")]
    assert len(disagree) == 2 and any("ec2:TerminateInstances" in f for f in disagree)
    assert "never copied" not in json.dumps([verdict.findings, str(verdict.observed_denials)])


def test_an_assumed_control_plane_roles_denials_are_found_by_their_session_issuer(trail: LocalAWS) -> None:
    user_arn, keys = trail.create_user(policies=[doc(EVERYTHING)])
    role = trail.create_role(f"team-cp-{uuid.uuid4().hex[:8]}", user_arn, [doc(EVERYTHING)])
    target = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.35.1", control_plane_role=role)
    trail.record_events("eu-central-1", [
        event(None, "elasticloadbalancing.amazonaws.com", "CreateLoadBalancer", "AccessDenied", issuer=role),
        event(None, "elasticloadbalancing.amazonaws.com", "CreateLoadBalancer", "AccessDenied",
              issuer="arn:aws:iam::123456789012:role/someone-else")])
    verdict = observe(keys, target)
    found = [(d.action, d.count) for d in verdict.observed_denials.denials]  # type: ignore[union-attr]
    assert found == [("elasticloadbalancing:CreateLoadBalancer", 1)]
    assert any("elasticloadbalancing:CreateLoadBalancer" in f and "simulation disagrees" in f for f in verdict.findings)


def test_every_page_is_read_and_a_reader_over_cloudtrails_rate_says_the_count_is_partial(trail: LocalAWS) -> None:
    _, keys = trail.create_user(policies=[doc(EVERYTHING)])
    trail.record_events("eu-central-1", [event(keys, "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation",
                                               hours_ago=0.01 * i) for i in range(1, 121)])
    full = observe(keys).observed_denials
    assert full is not None and [d.count for d in full.denials] == [120], "three pages of 50"
    slow = DenialReader(limiter=RateLimiter(rate=0.001, burst=2.0))
    partial = observe(keys, reader=slow).observed_denials
    assert partial is not None and [d.count for d in partial.denials] == [100]
    assert "the count is partial" in partial.message


def test_throttled_lookups_are_retried(trail: LocalAWS) -> None:
    _, keys = trail.create_user(policies=[doc(EVERYTHING)])
    trail.record_events("eu-central-1", [event(keys, "ec2.amazonaws.com", "RunInstances", "Client.UnauthorizedOperation")])
    trail.set_faults(throttle=2, throttle_actions=("LookupEvents",))
    try:
        observed = observe(keys).observed_denials
    finally:
        trail.clear_faults()
    assert observed is not None and observed.state == "Observed" and observed.denials[0].count == 1


def test_without_cloudtrail_permission_it_is_not_permitted_and_the_verdict_stands(trail: LocalAWS) -> None:
    _, keys = trail.create_user(policies=[doc({"Effect": "Allow", "NotAction": "cloudtrail:LookupEvents",
                                               "Resource": "*"})])
    verdict = observe(keys)
    assert verdict.status is Status.SUFFICIENT
    observed = verdict.observed_denials
    assert observed is not None and observed.state == "NotPermitted"
    assert "cloudtrail:LookupEvents" in observed.message
