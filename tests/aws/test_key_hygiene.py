"""Key facts and excess access against the local AWS endpoint: moto answers iam:ListAccessKeys and
iam:GetAccessKeyLastUsed; where it cannot make a key old or used, the test ground records what the test sets (in
AWS's wire format, testground/credcheck_testground/accesskeys.py). Expected findings come from the dates the tests
set, never from the code under test."""

import json
import logging
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data

from credcheck.engine.aws.accesskeys import AccessKeyFacts
from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import Auditor, CheckOptions, Prepared, finish_check, prepare_check, run_check
from credcheck.engine.keyfacts import READ, UNKNOWN
from credcheck.engine.keys import OLD, OTHER_IN_USE, UNUSED, KeyPolicy, findings
from credcheck.engine.model import Credential, Status, Verdict
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.hygiene import with_hygiene
from credcheck.kube.status import build_status
from credcheck_testground.aws import ACCOUNT, Keys, LocalAWS

pytestmark = pytest.mark.aws
AWS = AWSClients(honour_configured_endpoints=True)
AUDITORS = AuditorCache()
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}
READ_KEYS = {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
             "Resource": f"arn:aws:iam::{ACCOUNT}:user/*"}  # the test ground's moto matches no policy variables
ABC = Target(cluster="abc", region="eu-central-1", kubernetes_version="1.34.2")
NOW = datetime.now(UTC)


def _wire(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def printed_policy() -> dict[str, Any]:
    """What `credcheck requirements show kkp --format policy` prints (the command, run as a person would)."""
    out = subprocess.run([sys.executable, "-m", "credcheck.cli.main", "requirements", "show", "kkp", "--format",
                          "policy"], capture_output=True, text=True, check=True).stdout
    return json.loads(out.replace("YOUR_ACCOUNT_ID", ACCOUNT))


@pytest.fixture(autouse=True)
def _endpoint(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="module")
def kkp_policy() -> dict[str, Any]:
    doc = printed_policy()
    doc["Statement"] += [SIMULATE, READ_KEYS]
    return doc


def check(keys: Keys, reader: AccessKeyFacts | None = None, **kwargs: Any) -> Verdict:
    kwargs.setdefault("targets", (ABC,))
    kwargs.setdefault("auditor_cache", AUDITORS)
    kwargs.setdefault("aws", AWS)
    return run_check(Credential(keys.access_key_id, keys.secret_access_key),
                     CheckOptions(load_profile("kkp"), region="eu-central-1",
                                  key_facts=reader if reader is not None else AccessKeyFacts(ttl=0), **kwargs))


def kinds(verdict: Verdict, used_by_clusters: bool = True) -> list[str]:
    assert verdict.key_facts is not None
    return [f.kind for f in findings(verdict.key_facts, now=datetime.now(UTC), policy=KeyPolicy(),
                                     used_by_clusters=used_by_clusters)]


def test_key_facts_are_read_with_the_keys_masked_and_the_verdict_unchanged(local_aws: LocalAWS,
                                                                          kkp_policy: dict[str, Any]) -> None:
    arn, keys = local_aws.create_user(policies=[kkp_policy])
    user = arn.rsplit("/", 1)[-1]
    other = local_aws.client("iam").create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    local_aws.set_key_facts(keys.access_key_id, create_date=_wire(NOW - timedelta(days=10)),
                            last_used={"LastUsedDate": _wire(NOW - timedelta(hours=3)), "ServiceName": "ec2",
                                       "Region": "eu-central-1"})
    local_aws.set_key_facts(other, create_date=_wire(NOW - timedelta(days=300)), last_used={})
    verdict = check(keys)
    plain = run_check(Credential(keys.access_key_id, keys.secret_access_key),
                      CheckOptions(load_profile("kkp"), region="eu-central-1", aws=AWS, auditor_cache=AUDITORS,
                                   targets=(ABC,)))
    assert (verdict.status, verdict.reason) == (plain.status, plain.reason) == (Status.SUFFICIENT,
                                                                                "AllRequiredAllowed")
    facts = verdict.key_facts
    assert facts is not None and facts.state == READ and facts.user == user and facts.read_by == "self"
    current, others = facts.current, facts.others
    assert current is not None and current.key_id == keys.access_key_id[:4] + "*" * 12 + keys.access_key_id[-4:]
    assert current.created.date() == (NOW - timedelta(days=10)).date()
    assert current.last_use is not None and (current.last_use.service, current.last_use.region) == (
        "ec2", "eu-central-1")
    assert [(o.key_id[-4:], o.status, o.last_use.date if o.last_use else "unread") for o in others] == [
        (other[-4:], "Active", None)], "the other key: never used"
    assert keys.access_key_id not in repr(facts) and other not in repr(facts)


def test_old_key_appears_and_clears(local_aws: LocalAWS, kkp_policy: dict[str, Any]) -> None:
    _, keys = local_aws.create_user(policies=[kkp_policy])
    local_aws.set_key_facts(keys.access_key_id, create_date=_wire(NOW - timedelta(days=120)))
    assert kinds(check(keys)) == [OLD]
    local_aws.set_key_facts(keys.access_key_id, create_date=_wire(NOW - timedelta(days=20)))
    assert kinds(check(keys)) == []


def test_other_key_still_in_use_appears_and_clears_when_it_is_deactivated(local_aws: LocalAWS,
                                                                         kkp_policy: dict[str, Any]) -> None:
    arn, keys = local_aws.create_user(policies=[kkp_policy])
    other = local_aws.client("iam").create_access_key(UserName=arn.rsplit("/", 1)[-1])["AccessKey"]["AccessKeyId"]
    local_aws.set_key_facts(keys.access_key_id, create_date=_wire(NOW - timedelta(days=5)))
    local_aws.set_key_facts(other, create_date=_wire(NOW - timedelta(days=200)),
                            last_used={"LastUsedDate": _wire(NOW - timedelta(days=1)), "ServiceName": "ec2",
                                       "Region": "eu-west-1"})
    assert kinds(check(keys)) == [OTHER_IN_USE]
    local_aws.set_key_facts(other, status="Inactive")
    assert kinds(check(keys)) == []


def test_unused_key_appears_for_a_secret_no_cluster_uses_and_clears_when_used(local_aws: LocalAWS,
                                                                             kkp_policy: dict[str, Any]) -> None:
    _, keys = local_aws.create_user(policies=[kkp_policy])
    local_aws.set_key_facts(keys.access_key_id, create_date=_wire(NOW - timedelta(days=80)),
                            last_used={"LastUsedDate": _wire(NOW - timedelta(days=45)), "ServiceName": "ec2",
                                       "Region": "eu-central-1"})
    assert kinds(check(keys, targets=()), used_by_clusters=False) == [UNUSED]
    local_aws.set_key_facts(keys.access_key_id, last_used={"LastUsedDate": _wire(NOW - timedelta(days=1)),
                                                           "ServiceName": "ec2", "Region": "eu-central-1"})
    assert kinds(check(keys, targets=()), used_by_clusters=False) == []


def test_no_permission_gives_unknown_naming_it_and_the_verdict_stands(local_aws: LocalAWS) -> None:
    doc = printed_policy()
    doc["Statement"].append(SIMULATE)
    _, keys = local_aws.create_user(policies=[doc])
    verdict = check(keys)
    assert verdict.status is Status.SUFFICIENT, verdict.message
    facts = verdict.key_facts
    assert facts is not None and facts.state == UNKNOWN
    assert facts.missing_permissions == ("iam:ListAccessKeys",)
    assert "iam:ListAccessKeys" in facts.message and "no auditor is configured" in facts.message
    assert kinds(verdict) == []


def test_the_auditor_reads_what_the_keys_may_not(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = printed_policy()
    doc["Statement"].append(SIMULATE)
    _, keys = local_aws.create_user(policies=[doc])
    _, auditor = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        SIMULATE, {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
                   "Resource": "*"}]}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auditor.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auditor.secret_access_key)
    verdict = check(keys, auditor=Auditor(), auditor_cache=AuditorCache(),  # this auditor, not an earlier test's
                    aws=AWSClients(honour_configured_endpoints=True))
    facts = verdict.key_facts
    assert facts is not None and facts.state == READ, facts
    assert facts.read_by is not None and facts.read_by != "self"


def test_key_facts_cost_three_calls_then_none_while_cached(local_aws: LocalAWS, kkp_policy: dict[str, Any]) -> None:
    _, keys = local_aws.create_user(policies=[kkp_policy])
    reader = AccessKeyFacts(ttl=3600)
    first = check(keys, reader)
    second = check(keys, reader)
    assert first.aws_calls.get("iam:ListAccessKeys") == 1 and first.aws_calls.get("iam:GetAccessKeyLastUsed") == 1
    assert "iam:ListAccessKeys" not in second.aws_calls and "iam:GetAccessKeyLastUsed" not in second.aws_calls
    assert second.key_facts == first.key_facts


def attached_user(iam: Any, keys: Keys) -> str:
    """The user a key belongs to, as IAM says (GetAccessKeyLastUsed's UserName)."""
    return str(iam.get_access_key_last_used(AccessKeyId=keys.access_key_id)["UserName"])


def _attached(local_aws: LocalAWS, managed: str, kkp_policy: dict[str, Any]) -> Keys:
    """A user with KKP's policy and a copy of the AWS managed policy `managed` (its document as AWS publishes it,
    from moto's copy of AWS's managed policies), attached as a managed policy of the account."""
    entry = json.loads(aws_managed_policies_data)[managed]
    document = entry.get("Document", entry)
    arn, keys = local_aws.create_user(policies=[kkp_policy])
    iam = local_aws.client("iam")
    name = arn.rsplit("/", 1)[-1]
    policy_arn = iam.create_policy(PolicyName=f"{managed}-{name}", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=policy_arn)
    return keys


def test_administrator_access_gives_the_excess_finding_with_star(local_aws: LocalAWS,
                                                                 kkp_policy: dict[str, Any]) -> None:
    keys = _attached(local_aws, "AdministratorAccess", kkp_policy)
    verdict = check(keys, excess_permissions=True)
    assert verdict.status is Status.SUFFICIENT, "informational: never changes the verdict"
    assert verdict.excess is not None
    actions = [e.action for e in verdict.excess.found]
    assert "iam:CreateUser" in actions and "organizations:LeaveOrganization" in actions and actions[-1] == "*"
    assert any(f.startswith("this credential can do more than KKP needs: iam:CreateUser") for f in verdict.findings)
    assert verdict.excess.replacement is not None


def test_iam_full_access_gives_the_excess_finding_for_iam_only(local_aws: LocalAWS,
                                                               kkp_policy: dict[str, Any]) -> None:
    keys = _attached(local_aws, "IAMFullAccess", kkp_policy)
    verdict = check(keys, excess_permissions=True)
    assert verdict.excess is not None
    found = {e.action for e in verdict.excess.found}
    assert {"iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreatePolicyVersion",
            "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AttachRolePolicy", "iam:PutRolePolicy"} == found
    assert all("IAMFullAccess" in " ".join(e.allowed_by) for e in verdict.excess.found)
    iam = local_aws.client("iam")
    user = attached_user(iam, keys)
    for attached in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=user, PolicyArn=attached["PolicyArn"])
    cleared = check(keys, excess_permissions=True)
    assert cleared.excess is not None and cleared.excess.found == (), "the finding clears with the policy"
    assert not any("more than KKP needs" in f for f in cleared.findings)


def test_kkps_printed_policy_has_no_excess_and_costs_at_most_one_more_call(local_aws: LocalAWS,
                                                                           kkp_policy: dict[str, Any]) -> None:
    _, keys = local_aws.create_user(policies=[kkp_policy])
    asked = check(keys, excess_permissions=True)
    plain = check(keys, excess_permissions=False)
    assert asked.excess is not None and asked.excess.found == () and asked.excess.asked > 10
    assert not any("more than KKP needs" in f for f in asked.findings)
    extra = asked.aws_calls["iam:SimulatePrincipalPolicy"] - plain.aws_calls["iam:SimulatePrincipalPolicy"]
    assert 0 <= extra <= 1, (asked.aws_calls, plain.aws_calls)


def test_no_key_id_appears_unmasked_in_status_or_logs(local_aws: LocalAWS, kkp_policy: dict[str, Any],
                                                      caplog: pytest.LogCaptureFixture) -> None:
    arn, keys = local_aws.create_user(policies=[kkp_policy])
    other = local_aws.client("iam").create_access_key(UserName=arn.rsplit("/", 1)[-1])["AccessKey"]["AccessKeyId"]
    local_aws.set_key_facts(keys.access_key_id, create_date=_wire(NOW - timedelta(days=200)))
    local_aws.set_key_facts(other, last_used={"LastUsedDate": _wire(NOW), "ServiceName": "s3", "Region": "us-east-1"})
    with caplog.at_level(logging.DEBUG, logger="credcheck"):  # credcheck's own logs (botocore's are kept at WARNING)
        verdict = check(keys, excess_permissions=True)
    now = datetime.now(UTC)
    built = build_status(verdict, CheckStatus(), now=now, next_check=now, generation=1, masked_key_id="x",
                         clusters=["abc"], profile="kkp", failures=0)
    status = with_hygiene(built, verdict, CheckStatus(), now=now, policy=KeyPolicy(), used_by_clusters=True).to_dict()
    text = json.dumps(status) + caplog.text + repr(verdict)
    assert status["keys"]["state"] == READ and {f["type"] for f in status["keys"]["findings"]} >= {OLD}
    for key_id in (keys.access_key_id, other):
        assert key_id not in text and key_id[4:-4] not in text
        assert key_id[-4:] in json.dumps(status["keys"]), "masked to the last four"


def test_the_key_reads_are_reserved_in_the_account_budget_unless_cached(local_aws: LocalAWS,
                                                                       kkp_policy: dict[str, Any]) -> None:
    _, keys = local_aws.create_user(policies=[kkp_policy])
    reader = AccessKeyFacts(ttl=3600)
    options = CheckOptions(load_profile("kkp"), region="eu-central-1", aws=AWS, auditor_cache=AUDITORS,
                           targets=(ABC,), key_facts=reader)
    credential = Credential(keys.access_key_id, keys.secret_access_key)
    without = prepare_check(credential, replace(options, key_facts=None))
    first = prepare_check(credential, options)
    assert isinstance(without, Prepared) and isinstance(first, Prepared)
    assert first.planned_calls()[ACCOUNT] == without.planned_calls()[ACCOUNT] + 3, "ListAccessKeys + 2 last uses"
    finish_check(first)
    again = prepare_check(credential, options)
    assert isinstance(again, Prepared) and again.planned_calls() == without.planned_calls(), "cached: nothing more"


def test_a_denial_is_remembered_five_minutes_not_an_hour(local_aws: LocalAWS) -> None:
    doc = printed_policy()
    doc["Statement"].append(SIMULATE)
    _, keys = local_aws.create_user(policies=[doc])
    clock = [1000.0]
    reader = AccessKeyFacts(ttl=3600, clock=lambda: clock[0])
    first = check(keys, reader)
    assert first.key_facts is not None and first.key_facts.state == UNKNOWN
    assert first.aws_calls.get("iam:ListAccessKeys") == 1
    clock[0] += 299
    assert "iam:ListAccessKeys" not in check(keys, reader).aws_calls, "remembered for 5 minutes"
    clock[0] += 2
    assert check(keys, reader).aws_calls.get("iam:ListAccessKeys") == 1, "asked again after 5 minutes"


def test_an_auditor_that_may_not_read_either_leaves_the_facts_unknown_naming_both(
        local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = printed_policy()
    doc["Statement"].append(SIMULATE)
    _, keys = local_aws.create_user(policies=[doc])
    _, auditor = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [SIMULATE]}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", auditor.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", auditor.secret_access_key)
    verdict = check(keys, auditor=Auditor(), auditor_cache=AuditorCache(),  # this auditor, not an earlier test's
                    aws=AWSClients(honour_configured_endpoints=True))
    facts = verdict.key_facts
    assert verdict.status is Status.SUFFICIENT, verdict.message
    assert facts is not None and facts.state == UNKNOWN and facts.missing_permissions == ("iam:ListAccessKeys",)
    assert "the keys may not call iam:ListAccessKeys" in facts.message
    assert "the auditor may not call iam:ListAccessKeys" in facts.message
