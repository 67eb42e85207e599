"""What KKP's own objects decide, through the running operator: each Cluster's region (its Seed datacenter),
names, IAM switch and Kubernetes version; imported EKS clusters; readiness for the next KKP version; and the
CLI asking the same question from a Cluster manifest. The endpoint decides simulations with credcheck's own
evaluator (evaluator-backed): these tests prove what is asked and how the answers land in the status."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from policy_edits import doc

from credcheck_testground import kkp
from credcheck_testground.aws import ACCOUNT

from .conftest import GOOD_POLICY, NS, SIMULATE, Seed, wait_for

EVERYTHING = {"Effect": "Allow", "Action": "*", "Resource": "*"}
REGION_LOCK = {"Effect": "Deny", "Resource": "*", "NotAction": ["iam:*", "sts:*", "ec2:DescribeRegions"],
               "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-central-1"}}}


def apply(seed: Seed, manifest: dict[str, Any]) -> None:
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))


def settled(seed: Seed, name: str, expected: tuple[str, str], clusters: int = 1) -> dict[str, Any]:
    """The check once it was judged with its Clusters in spec (the Secret may be seen before the Cluster)."""
    def judged() -> dict[str, Any] | None:
        found = seed.check(name)
        if not found or len(found["spec"].get("clusters") or []) != clusters:
            return None
        status = found.get("status") or {}
        ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), {})
        fresh = status.get("observedGeneration") == found["metadata"]["generation"]
        return found if fresh and (ready.get("status"), ready.get("reason")) == expected else None
    return wait_for(judged, f"{name} Ready={expected} with {clusters} Cluster(s)")  # type: ignore[no-any-return]


def clusters_of(found: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in found["status"].get("clusters") or []}


def test_a_region_locked_credential_is_ready_only_for_its_seeds_eu_central_1_cluster(seed: Seed, unique: str) -> None:
    keys = seed.user(doc(SIMULATE, EVERYTHING, REGION_LOCK))
    for suffix, dc in (("fra", "aws-eu-central-1a"), ("iad", "aws-us-east-1a")):
        seed.kkp_secret(f"credential-aws-{suffix}{unique}", keys)
        apply(seed, kkp.cluster(f"{suffix}{unique}", f"credential-aws-{suffix}{unique}", NS, dc=dc))
    fra = settled(seed, f"credential-aws-fra{unique}", ("True", "AllRequiredAllowed"))
    assert fra["spec"]["clusters"][0]["region"] == "eu-central-1"
    iad = settled(seed, f"credential-aws-iad{unique}", ("False", "MissingPermissions"))
    assert iad["spec"]["clusters"][0]["region"] == "us-east-1"
    assert {m["reason"] for m in iad["status"]["missing"] if m["severity"] == "required"} == {"explicitDeny"}

    shared = f"credential-aws-both{unique}"  # one Secret, two Clusters in different regions
    seed.kkp_secret(shared, keys)
    apply(seed, kkp.cluster(f"a{unique}", shared, NS, dc="aws-eu-central-1a"))
    apply(seed, kkp.cluster(f"b{unique}", shared, NS, dc="aws-us-east-1a"))
    both = settled(seed, shared, ("False", "MissingPermissions"), clusters=2)
    per = clusters_of(both)
    assert (per[f"a{unique}"]["ready"], per[f"b{unique}"]["ready"]) == ("True", "False")
    assert f"Cluster(s) b{unique}" in next(c["message"] for c in both["status"]["conditions"] if c["type"] == "Ready")


def test_a_seed_datacenter_moving_region_re_asks(seed: Seed, unique: str) -> None:
    keys = seed.user(doc(SIMULATE, EVERYTHING, REGION_LOCK))
    secret = f"credential-aws-move{unique}"
    seed.kkp_secret(secret, keys)
    apply(seed, kkp.seed(f"s{unique}", NS, {f"dc-{unique}": "eu-central-1"}))
    apply(seed, kkp.cluster(f"move{unique}", secret, NS, dc=f"dc-{unique}"))
    settled(seed, secret, ("True", "AllRequiredAllowed"))
    apply(seed, kkp.seed(f"s{unique}", NS, {f"dc-{unique}": "ap-south-1"}))
    moved = settled(seed, secret, ("False", "MissingPermissions"))
    assert moved["spec"]["clusters"][0]["region"] == "ap-south-1"


def test_a_clusters_own_role_and_the_deletion_calls_are_asked_about(seed: Seed, unique: str) -> None:
    scoped = {"Effect": "Allow", "Action": "iam:*", "Resource": [f"arn:aws:iam::{ACCOUNT}:role/kubernetes-*",
                                                                 f"arn:aws:iam::{ACCOUNT}:instance-profile/kubernetes-*"]}
    keys = seed.user(doc(SIMULATE, {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, scoped))
    own = f"credential-aws-own{unique}"
    seed.kkp_secret(own, keys)
    apply(seed, kkp.cluster(f"own{unique}", own, NS, roleARN=f"team-{unique}-cp"))
    found = settled(seed, own, ("False", "MissingPermissions"))
    resources = {m["resource"] for m in found["status"]["missing"] if m["severity"] == "required"}
    assert resources == {f"arn:aws:iam::{ACCOUNT}:role/team-{unique}-cp"}
    assert found["status"]["remediationPolicy"] and f"role/team-{unique}-cp" in found["status"]["remediationPolicy"]

    deletion = ["iam:GetRole", "iam:DeleteRolePolicy", "iam:GetInstanceProfile"]
    no_delete = seed.user(doc(SIMULATE, {"Effect": "Allow", "NotAction": deletion, "Resource": "*"}))
    off = f"credential-aws-off{unique}"
    seed.kkp_secret(off, no_delete)
    apply(seed, kkp.cluster(f"off{unique}", off, NS, disableIAMReconciling=True))
    found = settled(seed, off, ("False", "MissingPermissions"))
    # the worker role of the profile KKP owns is cleaned up whatever the flag (ownership decides, issue 31)
    assert found["status"]["brokenFeatures"] == [{"feature": "cluster-deletion", "missing": sorted(deletion)},
                                                 {"feature": "cluster-deletion-owned",
                                                  "missing": ["iam:DeleteRolePolicy", "iam:GetRole"]}]


def test_an_imported_eks_clusters_credential_is_checked_against_the_eks_profile(seed: Seed, unique: str) -> None:
    eks_only = doc(SIMULATE, {"Effect": "Allow", "Resource": "*", "Action": [
        "eks:*", "iam:ListRoles", "iam:ListAttachedRolePolicies", "iam:PassRole", "ec2:DescribeRegions"]})
    secret = f"credential-aws-eks{unique}"
    seed.kkp_secret(secret, seed.user(eks_only))
    apply(seed, kkp.eks_cluster(f"eks{unique}", secret, NS))
    found = seed.wait_condition(secret, ("True", "AllRequiredAllowed"))
    assert found["spec"]["requirements"]["profile"] == "eks"
    # the EKS cluster KKP manages (cloudSpec.eks.name, region) is what the EKS ARNs are asked on (issue 31)
    assert found["spec"]["clusters"] == [{"name": f"eks{unique}", "region": "eu-central-1"}]
    assert found["status"]["summary"]["checked"] < 30  # the eks profile, not the ~60 of kkp
    seed.kubectl("delete", "externalcluster", f"eks{unique}")
    wait_for(lambda: seed.check(secret) is None or seed.check(secret)["spec"]["requirements"]["profile"] != "eks",  # type: ignore[index]
             "the check to follow the ExternalCluster's deletion")


def test_a_cluster_reporting_a_kkp_version_no_profile_covers_is_a_finding(seed: Seed, unique: str) -> None:
    """A Cluster's conditions report KKP's version (kubermaticVersion; kubermatic/kubermatic@v2.31.0:sdk/apis/
    kubermatic/v1/cluster.go:646-647): one no profile covers is a finding in the check's status (issue 31)."""
    secret = f"credential-aws-ver{unique}"
    seed.kkp_secret(secret, seed.user(GOOD_POLICY))
    apply(seed, kkp.cluster(f"ver{unique}", secret, NS))
    status = {"status": {"conditions": {"SeedResourcesUpToDate": {"status": "True", "kubermaticVersion": "v2.32.0",
                                                                  "lastHeartbeatTime": "2026-12-06T06:00:00Z"}}}}
    patched = seed.kubectl("patch", "cluster", f"ver{unique}", "--subresource=status", "--type=merge", "-p",
                           json.dumps(status), check=False)
    assert patched.returncode == 0, patched.stderr

    def warned() -> dict[str, Any] | None:
        found = seed.check(secret)
        findings = ((found or {}).get("status") or {}).get("findings") or []
        return found if any(f"Cluster ver{unique} reports KKP v2.32.0, which no profile covers" in f
                            for f in findings) else None
    found = wait_for(warned, "the check to warn about KKP v2.32.0")
    assert found["metadata"]["annotations"]["credcheck.io/kkp-versions"] == f"ver{unique}=v2.32.0"


def test_upgrade_readiness_is_a_condition_and_a_wide_column(seed: Seed, unique: str) -> None:
    documented = json.loads((Path(__file__).resolve().parents[1] / "data" / "kkp-documented-policy-2.22.json")
                            .read_text().replace("YOUR_ACCOUNT_ID", ACCOUNT))
    documented["Statement"] += [SIMULATE, {"Effect": "Allow", "Resource": "*", "Action": [
        "elasticloadbalancing:*", "iam:TagInstanceProfile", "iam:DetachRolePolicy"]}]
    secret = f"holder-{unique}"
    seed.kkp_secret(secret, seed.user(documented))
    apply(seed, {"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
                 "metadata": {"name": f"upgrade-{unique}", "namespace": NS},
                 "spec": {"source": {"secretRef": {"name": secret}},
                          "requirements": {"profile": "kkp-2.30", "upgradeProfile": "kkp-2.31"},
                          "clusters": [{"name": f"old{unique}", "kubernetesVersion": "1.32.9",
                                        "region": "eu-central-1"}]}})
    found = seed.wait_condition(f"upgrade-{unique}", ("False", "MissingForTargetVersion"), kind="UpgradeReady")
    assert seed.condition(f"upgrade-{unique}") == ("True", "AllRequiredAllowed")
    assert found["status"]["kkpVersion"] == "2.30" and found["status"]["upgrade"]["kkpVersion"] == "2.31"
    assert "sts:AssumeRole" in {m["action"] for m in found["status"]["upgrade"]["missing"]}
    wide = seed.kubectl("get", "awscc", f"upgrade-{unique}", "-n", NS, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-4:] == ["KKP", "UPGRADE", "CLUSTERS", "AGE"]
    assert wide[1].split()[-4:-1] == ["2.30", "False", f"old{unique}"]


def test_check_with_a_cluster_manifest_agrees_with_the_operator(seed: Seed, unique: str, tmp_path: Path) -> None:
    keys = seed.user(GOOD_POLICY)
    secret = f"credential-aws-cli{unique}"
    seed.kkp_secret(secret, keys)
    cluster = kkp.cluster(f"cli{unique}", secret, NS, dc="aws-us-east-1a", roleARN=f"own-{unique}")
    apply(seed, cluster)
    found = settled(seed, secret, ("False", "MissingPermissions"))
    (tmp_path / "cluster.yaml").write_text(json.dumps(cluster))
    (tmp_path / "seed.yaml").write_text(json.dumps(kkp.seed(namespace=NS)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CREDCHECK_"))}
    env.update(KUBECONFIG=str(seed.cp.kubeconfig), AWS_ENDPOINT_URL=seed.aws.url)
    result = subprocess.run([sys.executable, "-m", "credcheck.cli.main", "check", "--secret", f"{NS}/{secret}",
                             "--cluster", str(tmp_path / "cluster.yaml"), "--seed", str(tmp_path / "seed.yaml"),
                             "--output", "json"], env=env, capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 1, result.stderr
    cli = json.loads(result.stdout)
    ready = next(c for c in found["status"]["conditions"] if c["type"] == "Ready")  # not the last: RotationComplete
    cli_ready = next(c for c in cli["conditions"] if c["type"] == "Ready")
    assert cli["verdict"] == found["status"]["verdict"] == "Insufficient" and cli_ready["reason"] == ready["reason"]
    # one shape: the CLI's JSON and the stored status name the same missing actions with the same keys
    required = {(m["action"], m["resource"], m["reason"]) for m in found["status"]["missing"]
                if m["severity"] == "required"}
    assert {(m["action"], m["resource"], m["reason"]) for m in cli["missing"] if m["severity"] == "required"} == required
    assert cli["clusters"][0]["region"] == "us-east-1" == clusters_of(found)[f"cli{unique}"]["region"]
