"""Key hygiene and excess access through the operator: the findings appear (and clear) in the check's status,
`credcheck explain` and /metrics, Ready never changes, and no key id appears unmasked in what the operator writes
(status, Events and its log are scanned for every key id by running_operator's teardown; /metrics here)."""

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data

from credcheck.kube.contract import ANNOTATION_RECHECK
from credcheck_testground.aws import ACCOUNT, LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import GOOD_POLICY, LEAKS, NS, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
READ_KEYS = {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
             "Resource": f"arn:aws:iam::{ACCOUNT}:user/*"}
POLICY: dict[str, Any] = {**GOOD_POLICY, "Statement": [*GOOD_POLICY["Statement"], READ_KEYS]}  # type: ignore[list-item]


def _wire(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(seed: Seed, name: str) -> dict[str, Any]:
    return dict((seed.check(name) or {}).get("status") or {})


def _kinds(status: dict[str, Any]) -> list[str]:
    return [f["type"] for f in (status.get("keys") or {}).get("findings") or []]


def _wait_keys(seed: Seed, name: str, wanted: Callable[[list[str]], bool], what: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def found() -> dict[str, Any] | None:
        status = _status(seed, name)
        seen[:] = [status.get("keys") or {}]
        return status if status.get("keys") and wanted(_kinds(status)) else None

    try:
        return dict(wait_for(found, what, timeout=60))
    except AssertionError as err:
        raise AssertionError(f"{err}; status.keys: {json.dumps(seen)}") from None


def _touch(seed: Seed, name: str, value: str) -> None:
    """Ask for a re-check as an admin does (the re-check annotation), once the verdict cache
    (cache_ttl=1s) and the key facts (key_facts_ttl=1s) of the last check have expired."""
    time.sleep(1.5)
    seed.kubectl("annotate", "awscc", name, "-n", NS, f"{ANNOTATION_RECHECK}=test-{value}", "--overwrite")


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as resp:
        return str(resp.read().decode())


def _explain(cp: ControlPlane, name: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["KUBECONFIG"] = str(cp.kubeconfig)
    shown = subprocess.run([sys.executable, "-m", "credcheck.cli.main", "explain", f"{NS}/{name}"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
    return shown.stdout + shown.stderr


def test_old_key_other_key_in_use_and_excess_appear_clear_and_never_change_ready(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path, unique: str) -> None:
    now = datetime.now(UTC)
    with running_operator(control_plane, local_aws, tmp_path, cache_ttl="1s", key_facts_ttl="1s") as op:
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        arn, keys = local_aws.create_user(policies=[POLICY])
        LEAKS.add(keys.access_key_id, keys.secret_access_key)
        user = arn.rsplit("/", 1)[-1]
        iam = local_aws.client("iam")
        full = json.loads(aws_managed_policies_data)["IAMFullAccess"]
        policy_arn = iam.create_policy(PolicyName=f"IAMFullAccess-{user}",
                                       PolicyDocument=json.dumps(full.get("Document", full)))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
        other = iam.create_access_key(UserName=user)["AccessKey"]
        LEAKS.add(other["AccessKeyId"], other["SecretAccessKey"])
        local_aws.set_key_facts(keys.access_key_id, create_date=_wire(now - timedelta(days=200)),
                                last_used={"LastUsedDate": _wire(now - timedelta(hours=1)), "ServiceName": "ec2",
                                           "Region": "eu-central-1"})
        local_aws.set_key_facts(other["AccessKeyId"], create_date=_wire(now - timedelta(days=400)),
                                last_used={"LastUsedDate": _wire(now - timedelta(days=30)), "ServiceName": "ec2",
                                           "Region": "eu-west-1"})
        name = f"credential-aws-hygiene{unique}"
        seed.kkp_secret(name, keys)

        status = wait_for(lambda: (s := _status(seed, name)).get("keys") and s, "status.keys", timeout=60)
        assert next(c for c in status["conditions"] if c["type"] == "Ready")["status"] == "True"
        assert _kinds(status) == ["OldKey"], "the other key's use predates the switch: not flagged"
        current = status["keys"]["current"]
        assert current["accessKeyId"] == keys.access_key_id[:4] + "*" * 12 + keys.access_key_id[-4:]
        assert current["ageDays"] >= 199 and current["lastUsedService"] == "ec2"
        assert [o["accessKeyId"][-4:] for o in status["keys"]["others"]] == [other["AccessKeyId"][-4:]]
        assert {e["action"] for e in status["excessPermissions"]} >= {"iam:CreateUser", "iam:CreateAccessKey"}
        assert any(f.startswith("this credential can do more than KKP needs") for f in status["findings"])
        assert "ec2:RunInstances" in status["leastPrivilegePolicy"]

        text = _metrics(op.metrics_url)
        labels = f'check_namespace="{NS}",name="{name}"'
        assert f'credcheck_access_key_finding{{check_namespace="{NS}",finding="OldKey",name="{name}"}} 1.0' in text
        assert f"credcheck_access_key_age_seconds{{{labels}}}" in text
        assert f"credcheck_excess_permissions{{{labels}}}" in text
        for key_id in (keys.access_key_id, other["AccessKeyId"]):
            assert key_id not in text and key_id[-4:] not in text, "no key id in a metric"

        shown = _explain(control_plane, name)
        assert f"Access keys of user {user}: Read" in shown and "OldKey: access key" in shown, shown
        assert "- iam:CreateUser on" in shown and "IAMFullAccess" in shown, shown

        # the other key is used after the Secret switched to this one: someone still runs on it
        time.sleep(1.5)  # AWS's dates have seconds: a use after the switch, not in its second
        local_aws.set_key_facts(other["AccessKeyId"], last_used={"LastUsedDate": _wire(datetime.now(UTC)),
                                                                 "ServiceName": "s3", "Region": "us-east-1"})
        _touch(seed, name, "1")
        status = _wait_keys(seed, name, lambda kinds: "OtherKeyInUse" in kinds, "the OtherKeyInUse finding")
        assert next(c for c in status["conditions"] if c["type"] == "Ready")["status"] == "True"

        # deactivated and the key rotated in IAM's facts: both findings clear
        local_aws.set_key_facts(other["AccessKeyId"], status="Inactive")
        local_aws.set_key_facts(keys.access_key_id, create_date=_wire(datetime.now(UTC) - timedelta(days=3)))
        _touch(seed, name, "2")
        status = _wait_keys(seed, name, lambda kinds: kinds == [], "the key findings to clear")
        assert next(c for c in status["conditions"] if c["type"] == "Ready")["status"] == "True"
        wait_for(lambda: f'credcheck_access_key_finding{{check_namespace="{NS}",finding="OldKey",name="{name}"}} 0.0'
                 in _metrics(op.metrics_url),
                 "the OldKey metric to clear")
