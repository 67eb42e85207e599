"""One way to wake a check (issue 32), against a real apiserver and the test ground's AWS endpoint:

- a due re-check is run by the scheduler with no write besides the status: the check's generation, labels and
  annotations (kopf's diff-base too) stay as they were, lastCheckTime advances, and kopf's update handler is not
  woken by the status write (the operator's log has the scheduler's result line and no handler's);
- an admin who has just fixed a policy asks for a re-check now (`credcheck recheck`, also `kubectl credcheck
  recheck`): only who may patch the check may (RBAC, as the apiserver decides: 403 said with what to grant); the
  answer comes within seconds, past the verdict cache (the operator's cache TTL is 5 minutes here), after a new
  simulation at the AWS endpoint, with the recovery Event on the check."""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credcheck.kube.contract import timestamp
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import GOOD_POLICY, NS, SIMULATE, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
ONLY_SIMULATE = {"Version": "2012-10-17", "Statement": [SIMULATE]}


def results(log: Path, name: str) -> list[str]:
    """The operator's check-result lines for this check, each with how it was woken (trigger=…)."""
    found = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("object") == f"{NS}/{name}" and str(entry.get("message", "")).startswith("check result:"):
            found.append(str(entry["message"]).split("trigger=", 1)[-1])
    return found


def metadata(check: dict[str, Any]) -> tuple[Any, ...]:
    meta = check["metadata"]
    return meta.get("generation"), meta.get("labels"), meta.get("annotations")


def test_a_due_re_check_writes_only_the_status_and_wakes_no_handler(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path) -> None:
    with running_operator(control_plane, local_aws, tmp_path, cache_ttl="0s") as op:
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        name = f"credential-aws-due{uuid.uuid4().hex[:6]}"
        seed.kkp_secret(name, seed.user(GOOD_POLICY))
        first = seed.wait_condition(name, ("True", "AllRequiredAllowed"))
        wait_for(lambda: results(op.log, name) == ["create"], "the create handler's one result", timeout=30)
        time.sleep(1.1)  # lastCheckTime has seconds: the re-check's must differ
        due = timestamp(datetime.now(UTC))
        seed.kubectl("patch", "awscc", name, "-n", NS, "--subresource=status", "--type=merge",
                     "-p", json.dumps({"status": {"nextCheckTime": due}}))  # due now, as if its interval had passed
        after = wait_for(lambda: (c := seed.check(name)) and c["status"]["lastCheckTime"] > first["status"][
            "lastCheckTime"] and c, "the scheduler's re-check", timeout=60)
        time.sleep(3)  # a handler woken by the status write would have run by now
        assert results(op.log, name) == ["create", "schedule"], "the scheduler's run, and no handler after it"
        final = seed.check(name)
        assert final is not None
        assert metadata(final) == metadata(first), "generation, labels and annotations untouched"
        shown = json.loads(seed.kubectl("get", "awscc", name, "-n", NS, "-o", "json", "--show-managed-fields").stdout)
        since = [(f.get("manager"), f.get("subresource", "")) for f in shown["metadata"].get("managedFields") or []
                 if f.get("time", "") >= due]
        assert since and all(sub == "status" for _, sub in since), f"only status writes since it was due: {since}"
        assert final["status"]["lastCheckTime"] == after["status"]["lastCheckTime"], "one re-check, not two"
        assert final["status"]["nextCheckTime"] > due, "and the next one is due an interval later"


def _user_may(cp: ControlPlane, account: str, verbs: list[str]) -> Path:
    """A ServiceAccount with `verbs` on AWSCredentialChecks in NS, and a kubeconfig that logs in as it."""
    role = f"awscc-{account}"
    cp.run_kubectl("delete", "role", role, "-n", NS, "--ignore-not-found")
    cp.run_kubectl("create", "role", role, "-n", NS, f"--verb={','.join(verbs)}",
                   "--resource=awscredentialchecks.credcheck.io")
    cp.run_kubectl("create", "rolebinding", role, "-n", NS, f"--role={role}",
                   f"--serviceaccount={NS}:{account}", check=False)
    return cp.service_account_kubeconfig(NS, account)


def _recheck(cp: ControlPlane, kubeconfig: Path, name: str, *, plugin: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KUBERNETES_"))}
    env["KUBECONFIG"] = str(kubeconfig)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{Path(cp.kubectl).parent}{os.pathsep}{env.get('PATH', '')}"
    argv = (["kubectl", "credcheck"] if plugin else [sys.executable, "-m", "credcheck.cli.main"])
    return subprocess.run([*argv, "recheck", f"{NS}/{name}", "--wait", "30"], env=env, capture_output=True,
                          text=True, check=False, timeout=90)


def _simulations(aws: LocalAWS, key_id: str) -> int:
    return int((aws.calls_by_key().get(key_id) or {}).get("SimulatePrincipalPolicy", 0))


def _events(seed: Seed, name: str) -> list[tuple[str, str]]:
    items = json.loads(seed.kubectl("get", "events", "-n", NS, "--field-selector", f"involvedObject.name={name}",
                                    "-o", "json").stdout)["items"]
    return [(e["type"], e["reason"]) for e in items]


def test_an_admin_who_fixed_the_policy_rechecks_now_past_the_cache_and_only_with_patch_on_the_check(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path) -> None:
    with running_operator(control_plane, local_aws, tmp_path) as op:  # the verdict cache keeps verdicts 5 minutes
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        unique = uuid.uuid4().hex[:6]
        name, user = f"credential-aws-fix{unique}", f"fix-{unique}"
        _, keys = local_aws.create_user(name=user, policies=[ONLY_SIMULATE])
        seed.written += [keys.access_key_id, keys.secret_access_key]
        seed.kkp_secret(name, keys)
        before = seed.wait_condition(name, ("False", "MissingPermissions"))
        local_aws.client("iam").put_user_policy(UserName=user, PolicyName=f"{user}-policy-0",
                                                PolicyDocument=json.dumps(GOOD_POLICY))  # the admin's fix
        viewer = _user_may(control_plane, f"viewer-{unique}", ["get", "list", "watch"])
        admin = _user_may(control_plane, f"rechecker-{unique}", ["get", "patch"])

        simulated = _simulations(local_aws, keys.access_key_id)
        refused = _recheck(control_plane, viewer, name)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"you may not patch AWSCredentialCheck {NS}/{name}" in refused.stderr
        assert f"RBAC: patch on awscredentialchecks.credcheck.io in {NS}" in refused.stderr
        time.sleep(2)
        assert seed.check(name) == seed.check(name) and metadata(seed.check(name) or {}) == metadata(before), \
            "the refused request changed nothing"
        assert seed.condition(name) == ("False", "MissingPermissions")
        assert _simulations(local_aws, keys.access_key_id) == simulated, "and asked AWS nothing"

        started = time.monotonic()
        done = _recheck(control_plane, admin, name, plugin=True)  # kubectl credcheck recheck
        took = time.monotonic() - started
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{NS}/{name} re-checked at" in done.stdout and "Ready=True (AllRequiredAllowed)" in done.stdout
        assert took < 20, f"answered within seconds, not at the next interval or cache expiry ({took:.1f} s)"
        assert _simulations(local_aws, keys.access_key_id) > simulated, "a new simulation: past the verdict cache"
        now = seed.check(name)
        assert now is not None and now["status"]["lastCheckTime"] > before["status"]["lastCheckTime"]
        assert ("Normal", "PermissionsSufficient") in _events(seed, name), "the recovery Event on the check"
        assert results(op.log, name)[-1] == "recheck fresh"
