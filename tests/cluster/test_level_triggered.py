"""Discovery and checks converge whatever fails in between: faults injected into the real control plane.

The AWS endpoint decides simulations with credcheck's own evaluator (evaluator-backed); these tests are about
convergence, not about allow/deny."""

import json
from pathlib import Path
from typing import Any

from credcheck.kube.contract import parse_timestamp
from credcheck_testground import kkp
from credcheck_testground.apifaults import refusing_writes

from .conftest import GOOD_POLICY, LEAST_POLICY, NS, Seed, wait_for


def test_api_errors_during_discovery_converge(seed: Seed, unique: str, tmp_path: Path) -> None:
    """The apiserver refuses the first 6 writes (500, then 429): the kube client's retries, then the discovery
    queue's backoff, still create the check; before, one refused write lost it until the Secret changed."""
    keys = seed.user(GOOD_POLICY)
    for code, name in ((500, f"credential-aws-fault{unique}a"), (429, f"credential-aws-fault{unique}b")):
        with refusing_writes(seed.cp, tmp_path / str(code), prefix=name, failures=6, code=code) as faults:
            seed.kkp_secret(name, keys)
            found = seed.wait_condition(name, ("True", "AllRequiredAllowed"), timeout=60)
            assert faults.refused[name] == 6, "the faults were really met"
        assert found["metadata"]["labels"]["credcheck.io/discovered"] == "true"
    log = seed.log.read_text()
    assert "discovery of SecretKey" in log and "Traceback" in log, "the failure was logged with its traceback"


def test_concurrent_cluster_and_secret_events_leave_the_right_spec(seed: Seed, unique: str) -> None:
    secret = f"credential-aws-busy{unique}"
    objects: list[dict[str, Any]] = [kkp.cluster(f"busy{unique}-{i}", secret, NS) for i in range(6)]
    objects.insert(3, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret, "namespace": NS},
                       "stringData": {"accessKeyId": (k := seed.user(GOOD_POLICY)).access_key_id,
                                      "secretAccessKey": k.secret_access_key}})
    seed.written += [k.secret_access_key]
    seed.kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    wanted = {f"busy{unique}-{i}" for i in range(6)}
    found = wait_for(lambda: (c := seed.check(secret)) and {x["name"] for x in c["spec"].get("clusters") or []}
                     == wanted and c, "all six Clusters in the check's spec", timeout=30)
    assert found["metadata"]["annotations"]["credcheck.io/clusters"] == ",".join(sorted(wanted))


def test_a_re_pointed_cluster_leaves_its_old_secrets_check(seed: Seed, unique: str) -> None:
    a, b = f"credential-aws-from{unique}", f"credential-aws-to{unique}"
    keys = seed.user(GOOD_POLICY)
    seed.kkp_secret(a, keys)
    seed.kkp_secret(b, keys)
    cluster = kkp.cluster(f"mover{unique}", a, NS)
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    wait_for(lambda: [c["name"] for c in (seed.check(a) or {}).get("spec", {}).get("clusters") or []]
             == [f"mover{unique}"], "the Cluster on A's check")
    cluster["spec"]["cloud"]["aws"]["credentialsReference"]["name"] = b
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(cluster))
    wait_for(lambda: [c["name"] for c in (seed.check(b) or {}).get("spec", {}).get("clusters") or []]
             == [f"mover{unique}"], "the Cluster on B's check")
    wait_for(lambda: not (seed.check(a) or {}).get("spec", {}).get("clusters"), "A's check without the Cluster")


def test_a_user_check_re_checks_when_its_secret_rotates(seed: Seed, unique: str) -> None:
    holder = f"holder-{unique}"  # not credential-aws-*: no discovered check, only the user's own
    seed.kkp_secret(holder, seed.user(LEAST_POLICY))
    seed.kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
        "metadata": {"name": f"mine-{unique}", "namespace": NS}, "spec": {"source": {"secretRef": {"name": holder}}}}))
    seed.wait_condition(f"mine-{unique}", ("False", "MissingPermissions"))
    seed.kkp_secret(holder, seed.user(GOOD_POLICY))  # rotated to a key with everything KKP needs
    seed.wait_condition(f"mine-{unique}", ("True", "AllRequiredAllowed"))


def test_an_engine_exception_is_check_failed_with_a_logged_traceback(seed: Seed, unique: str) -> None:
    """AWS leaving an action out of its answer (as if it spelled it differently) is an engine error: Unknown,
    reason CheckFailed, retried; the log has the traceback."""
    name = f"credential-aws-drop{unique}"
    seed.aws.drop_results(["ec2:DescribeVpcAttribute"])
    try:
        seed.kkp_secret(name, seed.user(GOOD_POLICY))
        found = seed.wait_condition(name, ("Unknown", "CheckFailed"))
    finally:
        seed.aws.drop_results([])
    message = next(c["message"] for c in found["status"]["conditions"] if c["type"] == "Ready")
    assert message.startswith("MissingSimulationResult: AWS returned no simulation result for ec2:DescribeVpcAttribute")
    entries = [json.loads(line) for line in seed.log.read_text().splitlines() if line.startswith("{")]
    failed = [e for e in entries if e["message"].startswith(f"check {NS}/{name} failed")]
    assert failed and "Traceback" in failed[0]["exception"], "the JSON log line carries the traceback"
    status = found["status"]
    retry_in = (parse_timestamp(status["nextCheckTime"]) - parse_timestamp(status["lastCheckTime"])).total_seconds()
    assert status["consecutiveFailures"] == 1 and retry_in <= 66, "retried after the backoff's first step (1m)"
