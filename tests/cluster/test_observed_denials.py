"""The operator with --observe-denials: what AWS refused a credential (CloudTrail, recorded on the test ground in
CloudTrail's wire format) appears in the check's status and in `credcheck explain`, and a refusal of an action the
simulation allowed raises the "simulation disagrees with AWS" finding."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import GOOD_POLICY, NS, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
LOOKUP = {"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}


def test_refused_calls_show_in_status_and_explain_with_the_disagreement(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path, unique: str) -> None:
    with running_operator(control_plane, local_aws, tmp_path, observe_denials="true") as op:
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], "")
        policy = {**GOOD_POLICY, "Statement": [*GOOD_POLICY["Statement"], LOOKUP]}  # type: ignore[list-item]
        keys = seed.user(policy)
        when = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        local_aws.record_events("eu-central-1", [{
            "eventTime": when, "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
            "awsRegion": "eu-central-1", "errorCode": "Client.UnauthorizedOperation",
            "userIdentity": {"type": "IAMUser", "accessKeyId": keys.access_key_id}}])
        name = f"credential-aws-refused{unique}"
        seed.kkp_secret(name, keys)
        found = wait_for(lambda: (seed.check(name) or {}).get("status", {}).get("observedDenials"),
                         "status.observedDenials", timeout=60)
        assert found["state"] == "Observed"
        assert found["denials"] == [{"action": "ec2:RunInstances", "count": 1, "lastSeen": when,
                                     "region": "eu-central-1", "errorCode": "Client.UnauthorizedOperation"}]
        status = seed.check(name)["status"]  # type: ignore[index]
        assert any(f.startswith("simulation disagrees with AWS: AWS refused ec2:RunInstances")
                   for f in status["findings"])
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["KUBECONFIG"] = str(control_plane.kubeconfig)
        shown = subprocess.run([sys.executable, "-m", "credcheck.cli.main", "explain", f"{NS}/{name}"], env=env,
                               capture_output=True, text=True, timeout=60, check=False)
        assert "AWS refused (CloudTrail, last 24 h" in shown.stdout, shown.stdout + shown.stderr
        assert "ec2:RunInstances, 1 time(s) in eu-central-1 (Client.UnauthorizedOperation" in shown.stdout
        assert keys.secret_access_key not in json.dumps(status) + shown.stdout
    local_aws.clear_events()
