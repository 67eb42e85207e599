"""The bad-input corpus (tests/data/bad-input.yaml): each case gets its own precise reason, the operator never
crashes, and a healthy credential next to them all stays Ready."""

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from credcheck_testground import kkp

from .conftest import GOOD_POLICY, NS, Seed

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "bad-input.yaml")
                                             .read_text())
PAD_1MIB = "A" * ((1 << 20) - 256)  # a Secret's data may hold at most 1 MiB in all


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c["name"] for c in CASES}) == len(CASES)


def _secret_manifest(name: str, data: dict[str, str], key_id: str, secret: str) -> dict[str, Any]:
    encoded = {}
    for key, value in data.items():
        if value.startswith("b64:"):
            encoded[key] = value[4:]
            continue
        text = value.replace("KEY_ID", key_id).replace("SECRET", secret).replace("PAD_1MIB", PAD_1MIB)
        encoded[key] = base64.b64encode(text.encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "data": encoded}


@pytest.fixture(scope="module")
def corpus(seed: Seed) -> dict[str, Any]:
    """Creates every case at once (as a busy seed would see them) and a healthy credential among them."""
    run = uuid.uuid4().hex[:6]
    keys = seed.user(GOOD_POLICY)
    healthy = f"credential-aws-healthy-{run}"
    seed.kkp_secret(healthy, keys)
    objects: dict[str, Any] = {}
    for raw_case in CASES:
        case = dict(raw_case)
        secret_name = f"credential-aws-{case['name']}-{run}"
        check_name = secret_name
        if "secret" in case:
            manifest = _secret_manifest(secret_name, case["secret"], keys.access_key_id, keys.secret_access_key)
            made = seed.kubectl("create", "-f", "-", input_text=json.dumps(manifest), check=False)  # no last-applied copy
            assert made.returncode == 0, f"{case['name']}: {made.stderr[:500]}"
        if "configmap" in case:
            cm = f"profile-{case['name']}-{run}"
            seed.kubectl("create", "configmap", cm, "-n", NS, f"--from-literal=profile.yaml={case['configmap']}")
            seed.kkp_secret(f"holder-{case['name']}-{run}", keys)
            case = {**case, "check": {"source": {"secretRef": {"name": f"holder-{case['name']}-{run}"}},
                                      "requirements": {"profile": f"configmap:{cm}/profile.yaml"}}}
        if "cluster" in case:
            seed.kubectl("apply", "-f", "-", input_text=json.dumps(
                kkp.cluster(f"{case['name']}-{run}", secret_name, NS, **case["cluster"])))
        result = None
        if "check" in case:
            check_name = f"user-{case['name']}-{run}"
            spec = json.loads(json.dumps(case["check"]).replace("SECRET_NAME", secret_name))
            result = seed.kubectl("apply", "-f", "-", check=False, input_text=json.dumps({
                "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
                "metadata": {"name": check_name, "namespace": NS}, "spec": spec}))
        objects[case["name"]] = (check_name, result)
    return {"objects": objects, "healthy": healthy, "key_id": keys.access_key_id, "secret": keys.secret_access_key}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(seed: Seed, corpus: dict[str, Any], case: dict[str, Any]) -> None:
    name, applied = corpus["objects"][case["name"]]
    expect = case["expect"]
    if "apply_error" in expect:
        assert applied is not None and applied.returncode != 0
        assert expect["apply_error"] in applied.stderr
        return
    found = seed.wait_condition(name, (expect["status"], expect["reason"]), kind=expect["condition"], timeout=60)
    message = next(c["message"] for c in found["status"]["conditions"] if c["type"] == expect["condition"])
    assert expect["fragment"] in message
    assert corpus["secret"] not in message and corpus["key_id"] not in message


def test_the_healthy_credential_and_the_operator_survive(seed: Seed, corpus: dict[str, Any]) -> None:
    seed.wait_condition(corpus["healthy"], ("True", "AllRequiredAllowed"), timeout=60)
    log = seed.log.read_text()
    assert "Traceback" not in log, "no handler crashed"
