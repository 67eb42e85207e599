"""A per-check cap on SimulatePrincipalPolicy calls (issue 33): a check that would make more than MAX_SIMULATIONS
(1,000; a legal spec of 100 Clusters with two profiles plans 838) is Unknown with TooManySimulations and sends none."""

from typing import Any

import pytest

from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import CheckOptions, run_check
from credcheck.engine.model import Credential, Status
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck_testground.aws import ACCOUNT, LocalAWS

pytestmark = pytest.mark.aws
SIMULATE = {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"}


@pytest.fixture(autouse=True)
def _endpoint(local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.url)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)


def targets(count: int) -> tuple[Target, ...]:
    return tuple(Target(cluster=f"c{i}", region=("eu-central-1", "us-east-1", "eu-west-1")[i % 3],
                        kubernetes_version=("1.30.1", "1.33.2")[i % 2],
                        control_plane_role=f"arn:aws:iam::{ACCOUNT}:role/cp{i}") for i in range(count))


def check(local_aws: LocalAWS, count: int) -> tuple[Any, dict[str, int]]:
    _, keys = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [SIMULATE]}])
    local_aws.reset_calls()
    verdict = run_check(Credential(keys.access_key_id, keys.secret_access_key), CheckOptions(
        load_profile("kkp"), region="eu-central-1", aws=AWSClients(honour_configured_endpoints=True),
        auditor_cache=AuditorCache(), targets=targets(count), target_profile=load_profile("kkp-2.29"),
        include_recommended=True))
    return verdict, local_aws.calls_by_key().get(keys.access_key_id, {})


def test_a_check_past_the_cap_on_simulate_calls_is_unknown_and_sends_none(local_aws: LocalAWS) -> None:
    verdict, calls = check(local_aws, 130)
    assert verdict.status is Status.UNKNOWN and verdict.reason == "TooManySimulations", verdict
    assert calls.get("SimulatePrincipalPolicy", 0) == 0, calls
