"""The status the operator writes survives the apiserver's pruning: the CRD declares it field by field (no
x-kubernetes-preserve-unknown-fields on status), so what is not declared would be dropped silently on write. Read
back with kubectl from the real apiserver, and `kubectl explain` knows the fields."""

import json
from typing import Any

import pytest

from credcheck_testground import kkp

from .conftest import GOOD_POLICY, NS, Seed, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]


def test_a_status_the_operator_wrote_keeps_every_field_it_wrote_through_the_apiservers_pruning(
        seed: Seed, unique: str) -> None:
    secret, cluster = f"credential-aws-schema{unique}", f"schema{unique}"
    seed.kkp_secret(secret, seed.user(GOOD_POLICY))
    # a bare role name: the verdict misses the role's actions, and the Cluster's entry gets a configFinding
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(kkp.cluster(cluster, secret, NS, dc="aws-us-east-1a",
                                                                       roleARN=f"own-{unique}")))

    def written() -> dict[str, Any] | None:
        status = (seed.check(secret) or {}).get("status") or {}
        entries = [c for c in status.get("clusters") or [] if c.get("name") == cluster]
        done = entries and "deletionReady" in entries[0] and "credentialInUse" in entries[0]
        return status if done and status.get("lastCheckTime") else None

    status = wait_for(written, f"{secret}'s status with its Cluster's entry", timeout=90)
    # fields the CRD did not declare before the status had a type: each was written, each is still there
    assert status["verdict"] in ("Sufficient", "Insufficient", "Unknown")
    assert status["principal"]["policySource"].startswith("arn:aws:iam::")
    assert status["principal"]["partition"] == "aws"
    assert isinstance(status["summary"]["undecided"], int)
    entry = next(c for c in status["clusters"] if c["name"] == cluster)
    assert entry["ready"] in ("True", "False", "Unknown") and entry["region"] == "us-east-1"
    assert entry["credentialInUse"] and entry["credentialInUseSince"] and entry["credentialInUseReason"]
    assert entry["deletionReady"] in ("True", "False", "Unknown") and entry["deletionMessage"]
    assert any("not an ARN" in f for f in entry["configFindings"])
    assert status["keys"]["state"] and status["keys"]["readBy"] if status["keys"]["state"] == "Read" else \
        status["keys"]["message"], "the key facts, or why they could not be read"
    assert all("action" in m and "features" in m for m in status.get("missing") or [])
    assert status["consecutiveFailures"] == 0


def test_kubectl_explain_knows_the_status_fields(seed: Seed) -> None:
    clusters = seed.kubectl("explain", "awscredentialchecks.status.clusters").stdout
    for field in ("credentialInUse", "deletionReady", "configFindings", "cloudController"):
        assert field in clusters, clusters
    keys = seed.kubectl("explain", "awscredentialchecks.status.keys.current").stdout
    assert "inSecretSince" in keys and "lastUsedService" in keys
    top = seed.kubectl("explain", "awscredentialchecks.status").stdout
    for field in ("verdict", "observedDenials", "roleRemediation", "excessPermissions", "leastPrivilegePolicy"):
        assert field in top, top
