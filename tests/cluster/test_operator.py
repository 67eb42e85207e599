"""The operator on the real control plane, as its ServiceAccount with the chart's RBAC, read through kubectl."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from credcheck_testground import kkp
from credcheck_testground.aws import ACCOUNT

from .conftest import GOOD_POLICY, LEAST_POLICY, NS, SIMULATE, Seed, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]


def test_discovered_checks_show_their_verdicts(seed: Seed, unique: str) -> None:
    good, least = f"credential-aws-good{unique}", f"credential-aws-least{unique}"
    seed.kkp_secret(good, seed.user(GOOD_POLICY))
    least_keys = seed.user(LEAST_POLICY)
    seed.kkp_secret(least, least_keys)

    seed.wait_condition(good, ("True", "AllRequiredAllowed"))
    status = seed.wait_condition(least, ("False", "MissingPermissions"))["status"]

    rows = {line.split()[0]: line.split() for line in seed.kubectl("get", "awscredentialchecks", "-n", NS).stdout.splitlines()}
    assert rows[good][1:3] == ["True", "AllRequiredAllowed"] and rows[good][4] == "0"
    assert rows[least][1:3] == ["False", "MissingPermissions"] and int(rows[least][4]) > 0
    assert rows[least][3].startswith(f"arn:aws:iam::{ACCOUNT}:user/")

    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["CredentialsValid"]["status"] == "True"
    assert conditions["PermissionsSufficient"]["reason"] == "MissingPermissions"
    assert all(c["lastTransitionTime"] for c in conditions.values())
    assert status["accessKeyId"] == least_keys.access_key_id[:4] + "*" * 12 + least_keys.access_key_id[-4:]
    features = {f["feature"]: f["missing"] for f in status["brokenFeatures"]}
    assert "iam:PassRole" in features["machines"]
    assert "iam:PassRole" in status["remediationPolicy"]
    assert status["observedGeneration"] == 1
    assert status["nextCheckTime"] > status["lastCheckTime"]
    missing = {m["action"]: m for m in status["missing"]}
    assert missing["iam:PassRole"]["reason"] == "implicitDeny" and missing["iam:PassRole"]["severity"] == "required"

    events = seed.kubectl("get", "events", "-n", NS, "--field-selector", f"involvedObject.name={least}",
                          "-o", "json").stdout
    warnings = [e for e in json.loads(events)["items"] if e["type"] == "Warning"]
    assert [e["reason"] for e in warnings] == ["MissingPermissions"]


def test_rotation_triggers_a_recheck_and_a_recovery_event(seed: Seed, unique: str) -> None:
    name = f"credential-aws-rotate{unique}"
    seed.kkp_secret(name, seed.user(LEAST_POLICY))
    seed.wait_condition(name, ("False", "MissingPermissions"))
    seed.kkp_secret(name, seed.user(GOOD_POLICY))
    seed.wait_condition(name, ("True", "AllRequiredAllowed"))
    events = json.loads(seed.kubectl("get", "events", "-n", NS, "--field-selector",
                                     f"involvedObject.name={name}", "-o", "json").stdout)["items"]
    assert {(e["type"], e["reason"]) for e in events} >= {("Warning", "MissingPermissions"),
                                                          ("Normal", "PermissionsSufficient")}


def test_deleting_the_secret_deletes_its_check(seed: Seed, unique: str) -> None:
    name = f"credential-aws-gone{unique}"
    seed.kkp_secret(name, seed.user(GOOD_POLICY))
    seed.wait_condition(name, ("True", "AllRequiredAllowed"))
    seed.kubectl("delete", "secret", name, "-n", NS)
    wait_for(lambda: seed.check(name) is None, "the discovered check to be deleted")


def test_identical_credentials_are_checked_once(seed: Seed, unique: str) -> None:
    keys = seed.user(GOOD_POLICY)
    seed.aws.reset_calls()
    names = [f"credential-aws-dup{unique}-{i}" for i in range(8)]
    for name in names:
        seed.kkp_secret(name, keys)
    for name in names:
        seed.wait_condition(name, ("True", "AllRequiredAllowed"))
    calls = seed.aws.calls_by_key().get(keys.access_key_id, {})  # this credential's: another test's re-check may run
    assert calls.get("GetCallerIdentity") == 1
    # one check: the fewest calls the kkp profile allows (issue 31: each tag set KKP's requests carry is its own)
    assert calls.get("SimulatePrincipalPolicy") == 8


def test_user_created_check_for_any_secret(seed: Seed, unique: str) -> None:
    secret = f"team-aws-{unique}"
    seed.secret(secret, {"key": (k := seed.user(LEAST_POLICY)).access_key_id, "secret": k.secret_access_key})
    seed.kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
        "metadata": {"name": f"mine-{unique}", "namespace": NS},
        "spec": {"source": {"secretRef": {"name": secret, "accessKeyIdKey": "key", "secretAccessKeyKey": "secret"}},
                 "requirements": {"profile": "kkp-docs"}}}))
    found = seed.wait_condition(f"mine-{unique}", ("False", "MissingPermissions"))
    assert found["status"]["profile"] == "kkp-docs"
    assert seed.check(secret) is None, "a Secret without the KKP prefix and no Cluster is not discovered"


def test_malformed_secrets_get_their_own_reasons_and_others_are_unaffected(seed: Seed, unique: str) -> None:
    keys = seed.user(GOOD_POLICY)
    cases = {
        f"credential-aws-nokey{unique}": ({"secretAccessKey": keys.secret_access_key}, "MalformedCredential",
                                          "no key 'accessKeyId'"),
        f"credential-aws-case{unique}": ({"accessKeyID": keys.access_key_id, "secretAccessKey": keys.secret_access_key},
                                         "MalformedCredential", "found 'accessKeyID'"),
        f"credential-aws-newline{unique}": ({"accessKeyId": keys.access_key_id + "\n",
                                             "secretAccessKey": keys.secret_access_key}, "MalformedCredential",
                                            "trailing whitespace"),
        f"credential-aws-wrong{unique}": ({"accessKeyId": keys.access_key_id, "secretAccessKey": "C" * 40},
                                          "InvalidCredentials", "AWS rejected the access key"),
    }
    for name, (data, _, _) in cases.items():
        seed.secret(name, data)
    healthy = f"credential-aws-healthy{unique}"
    seed.kkp_secret(healthy, keys)
    for name, (_, reason, fragment) in cases.items():
        found = seed.wait_condition(name, ("False", reason), kind="CredentialsValid")
        ready = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")
        assert (ready["status"], ready["reason"]) == ("False", reason)
        assert fragment in ready["message"]
    seed.wait_condition(healthy, ("True", "AllRequiredAllowed"))


def test_cluster_assume_role_and_iam_switch(seed: Seed, unique: str) -> None:
    user_arn, keys = seed.aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}, SIMULATE]}])
    role_policy = json.loads(json.dumps(LEAST_POLICY))
    role_policy["Statement"].append({"Effect": "Allow", "Action": ["iam:PassRole", "iam:GetRole"], "Resource": "*"})
    role_arn = seed.aws.create_role(f"kkp-{unique}", user_arn, [role_policy], external_id=f"ext-{unique}")
    secret = f"credential-aws-c{unique}"
    seed.kkp_secret(secret, keys)
    cluster = kkp.cluster(f"c{unique}", secret, NS, assumeRoleARN=role_arn, assumeRoleExternalID=f"ext-{unique}",
                          disableIAMReconciling=True)
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))

    wait_for(lambda: ((seed.check(secret) or {}).get("spec") or {}).get("assumeRole", {}).get("roleARN") == role_arn,
             "the check to take the Cluster's assume-role settings")
    found = wait_for(lambda: (c := seed.check(secret)) and (c.get("status") or {}).get("principal", {}).get("type")
                     == "assumed-role" and c, "a verdict for the assumed role")
    assert found["spec"]["clusters"][0]["disableIAMReconciling"] is True
    assert found["status"]["principal"]["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/kkp-{unique}/")
    features = {f["feature"] for f in found["status"]["brokenFeatures"]}
    # the flag skips creating; deleting what KKP owns is gated on its ownership tags, not the flag (issue 31)
    assert "iam-reconciling" not in features
    assert "validation" in features, "KKP's dashboard validates the static keys themselves (ec2:DescribeRegions)"
    assert "cloud-controller" not in features, "the keys may assume the control-plane role"

    cluster["spec"]["cloud"]["aws"]["assumeRoleExternalID"] = "not-the-right-one"
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    found = seed.wait_condition(secret, ("False", "AssumeRoleFailed"), kind="CredentialsValid")
    assert "external ID" in found["status"]["conditions"][0]["message"]


def test_unrelated_and_copied_secrets_are_not_checked(seed: Seed, unique: str) -> None:
    seed.secret(f"registry-{unique}", {"token": "not-an-aws-credential"})
    seed.kubectl("create", "namespace", f"cluster-{unique}", check=False)
    seed.secret("cloud-credentials", {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x" * 40},
                namespace=f"cluster-{unique}")
    canary = f"credential-aws-canary{unique}"
    seed.kkp_secret(canary, seed.user(GOOD_POLICY))
    seed.wait_condition(canary, ("True", "AllRequiredAllowed"))  # the operator has seen everything before it
    assert seed.check(f"registry-{unique}") is None
    listed = seed.kubectl("get", "awscc", "-A", "-o", "name").stdout
    assert "cloud-credentials" not in listed


def test_presets_are_discovered(seed: Seed, unique: str) -> None:
    keys = seed.user(LEAST_POLICY)
    seed.written += [keys.access_key_id, keys.secret_access_key]
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(kkp.preset(f"team{unique}", {
        "accessKeyID": keys.access_key_id, "secretAccessKey": keys.secret_access_key})))
    found = seed.wait_condition(f"preset-team{unique}", ("False", "MissingPermissions"))
    assert found["spec"]["source"] == {"presetRef": {"name": f"team{unique}"}}
    seed.kubectl("delete", "preset", f"team{unique}")
    wait_for(lambda: seed.check(f"preset-team{unique}") is None, "the preset's check to be deleted")


def test_metrics_agree_with_the_checks_conditions(seed: Seed, unique: str) -> None:
    seed.kkp_secret(f"credential-aws-metrics{unique}", seed.user(LEAST_POLICY))
    seed.wait_condition(f"credential-aws-metrics{unique}", ("False", "MissingPermissions"))
    with urllib.request.urlopen(f"{seed.metrics_url}/readyz", timeout=5) as resp:
        assert resp.status == 200

    def scrape() -> dict[tuple[str, str, str, str], float]:
        with urllib.request.urlopen(f"{seed.metrics_url}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        out = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "credcheck_check_condition":
                    labels = sample.labels
                    out[(labels["check_namespace"], labels["name"], labels["condition"], labels["status"])] = sample.value
        return out

    def agree() -> list[tuple[str, str, str, str]]:
        """The conditions the gauges disagree with (checks may still be changing: read both afresh)."""
        checks = json.loads(seed.kubectl("get", "awscc", "-n", NS, "-o", "json").stdout)["items"]
        gauges = scrape()
        return [(NS, item["metadata"]["name"], cond["type"], cond["status"])
                for item in checks for cond in (item.get("status") or {}).get("conditions", [])
                if gauges.get((NS, item["metadata"]["name"], cond["type"], cond["status"])) != 1.0]

    disagree: list[tuple[str, str, str, str]] = []

    def settled() -> bool:
        disagree[:] = agree()
        return not disagree

    try:
        wait_for(settled, "metrics to match every check's conditions", timeout=15)
    except AssertionError:
        raise AssertionError(f"the gauges disagree with these conditions: {disagree[:5]}") from None
    gauges = scrape()
    assert gauges[(NS, f"credential-aws-metrics{unique}", "PermissionsSufficient", "False")] == 1.0
    assert gauges[(NS, f"credential-aws-metrics{unique}", "PermissionsSufficient", "True")] == 0.0


def test_json_log_has_one_line_per_check_result(seed: Seed) -> None:
    lines = [json.loads(line) for line in seed.log.read_text().splitlines() if line.startswith("{")]
    results = [entry for entry in lines if entry["message"].startswith("check result:")]
    assert results, "JSON log lines with check results"
    first = results[0]
    assert first["object"].startswith(f"{NS}/")
    assert "key=AKIA****" in first["message"] and "duration=" in first["message"]


def test_cli_checks_a_secret_through_the_kubeconfig(seed: Seed, unique: str) -> None:
    name = f"credential-aws-cli{unique}"
    seed.kkp_secret(name, seed.user(LEAST_POLICY))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(KUBECONFIG=str(seed.cp.kubeconfig), AWS_ENDPOINT_URL=seed.aws.url)
    result = subprocess.run([sys.executable, "-m", "credcheck.cli.main", "check", "--secret", f"{NS}/{name}",
                             "--region", "eu-central-1", "--output", "json"], env=env, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 1, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["verdict"] == "Insufficient"
    assert "iam:PassRole" in {f["feature"]: f["missing"] for f in verdict["brokenFeatures"]}["machines"]
    # one call per request context: each tag set KKP's CreateTags/DeleteTags requests carry is its own (issue 31)
    assert verdict["awsCalls"] == {"sts:GetCallerIdentity": 1, "iam:SimulatePrincipalPolicy": 8}
