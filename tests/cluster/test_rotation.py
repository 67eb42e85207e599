"""The keys KKP's components really run on (issue 34), on the real control plane and the local AWS endpoint.

The test ground plays KKP's part: it writes each Cluster's `cluster-<id>/cloud-credentials` copy and the Deployments
that read it as KKP v2.31.0 makes them (credcheck_testground.kkp: names, labels, env, each with its source), and
acts as the Deployment controller (this control plane runs none) by writing each Deployment's rollout status. The
expected states come from what the test ground made (which keys it copied, which revision it labelled), never from
credcheck's code. The grace is shortened to 20 s and the re-look while Rotating to 2 s.
"""

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credcheck_testground import kkp
from credcheck_testground.aws import Keys, LocalAWS
from credcheck_testground.controlplane import WEBHOOK_CLIENT_NAME, ControlPlane
from credcheck_testground.processes import free_port
from credcheck_testground.webhook import local_configuration, serving_certs

from .conftest import GOOD_POLICY, LEAKS, NS, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
GRACE = "20s"
NO_DELETE = {"Effect": "Deny", "Action": ["ec2:DeleteSecurityGroup"], "Resource": "*"}


@pytest.fixture(scope="module")
def seed(control_plane: ControlPlane, local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seed]:
    """An operator following rotations quickly, serving the chart's webhook configuration (the DELETE hook too)."""
    cert_dir = tmp_path_factory.mktemp("rotation-webhook-certs")
    ca = serving_certs(cert_dir)
    port = free_port()
    control_plane.run_kubectl("create", "namespace", NS, check=False)
    control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(local_configuration(port, ca)))
    try:
        with running_operator(control_plane, local_aws, tmp_path_factory.mktemp("rotation-operator"),
                              rotation_grace=GRACE, rotation_recheck="2s", webhook_cert_dir=str(cert_dir),
                              # the checks earlier modules left in the shared control plane are due at its start
                              # and share one test account: at the default 5 calls/s their re-checks hold a changed
                              # Secret's check past the 20 s grace (Stale, never Rotating); this module tests the
                              # rotation's states, not the call budget
                              aws_calls_per_second="50",
                              webhook_port=str(port), webhook_address="127.0.0.1",
                              webhook_client_ca=str(control_plane.webhook_client_ca),
                              webhook_client_names=WEBHOOK_CLIENT_NAME) as op:
            yield Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
    finally:
        control_plane.run_kubectl("delete", "validatingwebhookconfiguration", "credcheck", check=False)


def apply(seed: Seed, manifest: dict[str, Any]) -> None:
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(manifest))


class KKP:
    """What KKP's seed-controller-manager does for one Cluster's credential, done by hand."""

    def __init__(self, seed: Seed, cluster: str) -> None:
        self.seed, self.cluster, self.namespace = seed, cluster, kkp.cluster_namespace(cluster)

    def copies(self, keys: Keys) -> str:
        """Writes the copy; its resourceVersion (what KKP puts on the pod templates)."""
        self.seed.kubectl("create", "namespace", self.namespace, check=False)
        LEAKS.add(keys.access_key_id, keys.secret_access_key)
        apply(self.seed, kkp.credential_copy(self.cluster, keys.access_key_id, keys.secret_access_key))
        return self.seed.kubectl("get", "secret", kkp.COPY_SECRET, "-n", self.namespace, "-o",
                                 "jsonpath={.metadata.resourceVersion}").stdout.strip()

    def rolls_out(self, revision: str, *, replicas: int = 1, updated: int | None = None,
                  only: tuple[str, ...] = kkp.CREDENTIAL_DEPLOYMENTS) -> None:
        """The Deployments at `revision`, and their rollout status as the Deployment controller writes it
        (`updated` of `replicas` pods on the new template)."""
        for name in only:
            apply(self.seed, kkp.credential_deployment(self.cluster, name, revision, replicas))
            generation = int(self.seed.kubectl("get", "deployment", name, "-n", self.namespace, "-o",
                                               "jsonpath={.metadata.generation}").stdout)
            done = replicas if updated is None else updated
            status = {"status": {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": done,
                                 "readyReplicas": done, "availableReplicas": done}}
            self.seed.kubectl("patch", "deployment", name, "-n", self.namespace, "--subresource=status",
                              "--type=merge", "-p", json.dumps(status))


def entry(seed: Seed, check: str, cluster: str) -> dict[str, Any]:
    found = seed.check(check) or {}
    return next((c for c in (found.get("status") or {}).get("clusters") or [] if c.get("name") == cluster), {})


def wait_in_use(seed: Seed, check: str, cluster: str, state: str, timeout: float = 60) -> dict[str, Any]:
    return wait_for(lambda: (e := entry(seed, check, cluster)).get("credentialInUse") == state and e,  # type: ignore[no-any-return]
                    f"Cluster {cluster} credentialInUse={state}", timeout)


def cluster_events(seed: Seed, cluster: str) -> list[dict[str, Any]]:
    listed = json.loads(seed.kubectl("get", "events", "-n", "default", "-o", "json").stdout)["items"]
    return [e for e in listed if e["involvedObject"].get("kind") == "Cluster"
            and e["involvedObject"].get("name") == cluster]


def metric(seed: Seed, cluster: str) -> float | None:
    with urllib.request.urlopen(f"{seed.metrics_url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    for line in text.splitlines():
        if line.startswith("credcheck_rotation_stuck{") and f'cluster="{cluster}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


def user(seed: Seed, *extra: dict[str, Any]) -> tuple[str, Keys]:
    policy = {"Version": "2012-10-17", "Statement": [*GOOD_POLICY["Statement"], *extra]}  # type: ignore[misc]
    arn, keys = seed.aws.create_user(policies=[policy])
    LEAKS.add(keys.access_key_id, keys.secret_access_key)
    return arn.rsplit("/", 1)[1], keys


def test_a_rotation_goes_rotating_then_stale_then_invalid_when_the_old_key_is_deleted_then_current(
        seed: Seed, unique: str) -> None:
    name, old = user(seed)
    secret, cluster = f"credential-aws-rot{unique}", f"rot{unique}"
    seed.kkp_secret(secret, old)
    apply(seed, kkp.cluster(cluster, secret, NS))
    ground = KKP(seed, cluster)
    ground.rolls_out(ground.copies(old))
    wait_in_use(seed, secret, cluster, "Current")
    assert seed.condition(secret, "RotationComplete") == ("True", "AllClustersCurrent")

    new = seed.aws.rotate_key(name)  # the admin rotates: a second key, put into the Secret; KKP does not copy it
    LEAKS.add(new.access_key_id, new.secret_access_key)
    seed.kkp_secret(secret, new)
    rotating = wait_in_use(seed, secret, cluster, "Rotating")
    assert "do not deactivate the old key yet" in rotating["credentialInUseMessage"]
    assert seed.condition(secret, "RotationComplete") == ("False", "RotationInProgress")

    stale = wait_in_use(seed, secret, cluster, "Stale")  # past the 20 s grace
    assert stale["credentialInUseReason"] == "RotationStuck"
    assert "do not deactivate the old key yet" in stale["credentialInUseMessage"]
    assert seed.condition(secret, "RotationComplete") == ("False", "RotationStuck")
    wait_for(lambda: any(e["reason"] == "ClusterRotationStuck" for e in cluster_events(seed, cluster)),
             "a Warning Event on the KKP Cluster")
    (event,) = [e for e in cluster_events(seed, cluster) if e["reason"] == "ClusterRotationStuck"]
    uid = json.loads(seed.kubectl("get", "clusters.kubermatic.k8c.io", cluster, "-o", "json").stdout)["metadata"]["uid"]
    assert (event["type"], event["involvedObject"]["apiVersion"], event["involvedObject"]["uid"]) == \
        ("Warning", "kubermatic.k8c.io/v1", uid)
    assert event["metadata"]["name"] == f"{cluster}.credcheck.clusterrotationstuck", \
        "the one writer of Events on Clusters: one per Cluster and reason, updated in place"
    assert secret not in event["message"] and NS not in event["message"], "project members read it: no Secret named"
    assert "ask your platform admin" in event["message"]
    assert wait_for(lambda: metric(seed, cluster) == 1.0, "credcheck_rotation_stuck == 1")

    # the admin deletes the old key although the Cluster still runs on it
    seed.aws.client("iam").delete_access_key(UserName=name, AccessKeyId=old.access_key_id)
    invalid = wait_in_use(seed, secret, cluster, "Invalid")
    assert invalid["credentialInUseReason"] == "KeysRefused"
    assert seed.condition(secret, "RotationComplete") == ("False", "ClusterKeysRefused")
    wait_for(lambda: any(e["reason"] == "ClusterKeysRefused" for e in cluster_events(seed, cluster)),
             "a Warning Event on the KKP Cluster for the refused keys")
    assert seed.condition(secret, "CredentialsValid") == ("True", "Valid"), "Ready describes the Secret's own keys"
    assert (seed.condition(secret) or ("",))[0] == "True"

    ground.rolls_out(ground.copies(new))  # KKP catches up: copy and pods on the new key
    wait_in_use(seed, secret, cluster, "Current")
    assert seed.condition(secret, "RotationComplete") == ("True", "AllClustersCurrent")
    assert wait_for(lambda: metric(seed, cluster) == 0.0, "credcheck_rotation_stuck back to 0")


def test_a_deployment_mid_rollout_is_named_until_it_finishes(seed: Seed, unique: str) -> None:
    name, old = user(seed)
    secret, cluster = f"credential-aws-mid{unique}", f"mid{unique}"
    seed.kkp_secret(secret, old)
    apply(seed, kkp.cluster(cluster, secret, NS))
    ground = KKP(seed, cluster)
    ground.rolls_out(ground.copies(old))
    wait_in_use(seed, secret, cluster, "Current")
    new = seed.aws.rotate_key(name)
    LEAKS.add(new.access_key_id, new.secret_access_key)
    revision = ground.copies(new)  # KKP copied at once; the cloud-controller-manager's rollout is half done
    ground.rolls_out(revision, only=kkp.CREDENTIAL_DEPLOYMENTS[:-1])
    ground.rolls_out(revision, replicas=2, updated=1, only=("aws-cloud-controller-manager",))
    seed.kkp_secret(secret, new)  # the admin's write: the check looks
    mid = wait_for(lambda: "aws-cloud-controller-manager (rollout 1/2 updated)" in
                   (e := entry(seed, secret, cluster)).get("credentialInUseMessage", "") and e, "1 of 2 pods updated")
    assert mid["credentialInUse"] == "Rotating"
    assert "machine-controller" not in mid["credentialInUseMessage"]
    ground.rolls_out(revision, replicas=2, only=("aws-cloud-controller-manager",))
    wait_in_use(seed, secret, cluster, "Current")


def test_a_paused_cluster_on_old_keys_is_stale_at_once_and_says_it_is_paused(seed: Seed, unique: str) -> None:
    name, old = user(seed)
    secret, cluster = f"credential-aws-pause{unique}", f"pause{unique}"
    new = seed.aws.rotate_key(name)
    LEAKS.add(new.access_key_id, new.secret_access_key)
    seed.kkp_secret(secret, new)
    paused = kkp.cluster(cluster, secret, NS)
    paused["spec"]["pause"] = True  # sdk/apis/kubermatic/v1/cluster.go:263; not reconciled (pkg/controller/util/cluster.go:52)
    apply(seed, paused)
    ground = KKP(seed, cluster)
    ground.rolls_out(ground.copies(old))
    stale = wait_in_use(seed, secret, cluster, "Stale", timeout=15)  # well within the 20 s grace: at once
    assert stale["credentialInUseReason"] == "ClusterPaused"
    assert "paused" in stale["credentialInUseMessage"]
    assert "do not deactivate the old key yet" in stale["credentialInUseMessage"]


def test_a_cluster_made_from_a_preset_whose_keys_changed_is_stale(seed: Seed, unique: str) -> None:
    name, first = user(seed)
    preset, secret, cluster = f"p{unique}", f"credential-aws-pre{unique}", f"pre{unique}"
    apply(seed, kkp.preset(preset, {"accessKeyID": first.access_key_id, "secretAccessKey": first.secret_access_key}))
    seed.kkp_secret(secret, first)  # KKP made the Cluster's Secret from the Preset's keys at creation
    made = kkp.cluster(cluster, secret, NS)
    made["metadata"]["annotations"] = {"presetName": preset}  # sdk/apis/kubermatic/v1/cluster.go:50
    made["metadata"]["labels"] = {"is-credential-preset": "true"}  # cluster.go:66
    apply(seed, made)
    ground = KKP(seed, cluster)
    ground.rolls_out(ground.copies(first))
    wait_in_use(seed, secret, cluster, "Current")
    second = seed.aws.rotate_key(name)
    LEAKS.add(second.access_key_id, second.secret_access_key)
    apply(seed, kkp.preset(preset, {"accessKeyID": second.access_key_id,
                                    "secretAccessKey": second.secret_access_key}))
    # a Preset's change does not touch the Cluster's Secret: its check looks again when the scheduler asks
    seed.kubectl("annotate", "awscc", secret, "-n", NS, f"credcheck.io/recheck=preset-{unique}", "--overwrite")
    stale = wait_in_use(seed, secret, cluster, "Stale")
    assert stale["credentialInUseReason"] == "PresetKeysNotCopied"
    assert preset in stale["credentialInUseMessage"] and "#11860" in stale["credentialInUseMessage"]


def test_a_cluster_without_a_copy_yet_is_unknown_with_why(seed: Seed, unique: str) -> None:
    _, keys = user(seed)
    secret, cluster = f"credential-aws-nocopy{unique}", f"nocopy{unique}"
    seed.kkp_secret(secret, keys)
    apply(seed, kkp.cluster(cluster, secret, NS))
    unknown = wait_in_use(seed, secret, cluster, "Unknown")
    assert unknown["credentialInUseReason"] == "NoCopyYet"
    assert f"cluster-{cluster}/cloud-credentials does not exist yet" in unknown["credentialInUseMessage"]
    assert seed.condition(secret, "RotationComplete") == ("Unknown", "NotVerified")


def test_a_bare_role_name_as_roleARN_is_named_with_the_component_that_fails(seed: Seed, unique: str) -> None:
    _, keys = user(seed)
    secret, cluster = f"credential-aws-bare{unique}", f"bare{unique}"
    seed.kkp_secret(secret, keys)
    apply(seed, kkp.cluster(cluster, secret, NS, roleARN="kkp-control-plane", instanceProfileName="kkp-workers",
                            disableIAMReconciling=True))
    found = wait_for(lambda: entry(seed, secret, cluster).get("configFindings"), "a configFinding for roleARN")
    assert "roleARN 'kkp-control-plane' is not an ARN" in found[0]
    assert "cloud-controller-manager" in found[0] and "#13144" in found[0]


def test_kubectl_delete_of_a_cluster_whose_credential_cannot_delete_warns_and_deletes(seed: Seed, unique: str) -> None:
    _, keys = user(seed, NO_DELETE)
    secret, cluster = f"credential-aws-del{unique}", f"del{unique}"
    seed.kkp_secret(secret, keys)
    apply(seed, kkp.cluster(cluster, secret, NS))
    wait_for(lambda: entry(seed, secret, cluster).get("deletionReady") == "False", "deletionReady=False")
    deleted = seed.kubectl("delete", "clusters.kubermatic.k8c.io", cluster, "--wait=false")
    assert f"Warning: credcheck: Cluster {cluster}: deleting this Cluster will hang" in deleted.stderr
    assert "ec2:DeleteSecurityGroup" in deleted.stderr
    assert seed.kubectl("get", "clusters.kubermatic.k8c.io", cluster, check=False).returncode != 0, "allowed"

    _, fine = user(seed)
    secret, cluster = f"credential-aws-delok{unique}", f"delok{unique}"
    seed.kkp_secret(secret, fine)
    apply(seed, kkp.cluster(cluster, secret, NS))
    wait_for(lambda: entry(seed, secret, cluster).get("deletionReady") == "True", "deletionReady=True")
    quiet = seed.kubectl("delete", "clusters.kubermatic.k8c.io", cluster, "--wait=false")
    assert "credcheck" not in quiet.stderr


def test_the_rotation_reads_are_by_name_and_need_no_secret_list(seed: Seed, tmp_path: Path) -> None:
    """The chart's RBAC, as installed for this operator: its ServiceAccount may get cloud-credentials anywhere, may
    not get any other Secret outside the watched namespace, and may list no Secrets outside it."""
    sa = "system:serviceaccount:kubermatic:credcheck"
    def can(*args: str) -> bool:
        return seed.kubectl("auth", "can-i", *args, "--as", sa, check=False).stdout.strip() == "yes"
    assert can("get", "secret/cloud-credentials", "-n", "cluster-any")
    assert not can("get", "secret/other", "-n", "cluster-any")
    assert not can("list", "secrets", "-n", "cluster-any")
    assert not can("watch", "secrets", "--all-namespaces")
    assert can("list", "deployments.apps", "-n", "cluster-any")
    assert not can("get", "deployments.apps/x", "-n", "cluster-any")


def test_a_missing_or_foreign_security_group_and_a_missing_instance_profile_are_named(seed: Seed, unique: str) -> None:
    """The groups and VPCs are made in the local AWS account; the Clusters name them as an admin would."""
    ec2 = seed.aws.client("ec2", region="eu-central-1")
    mine = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    good = ec2.create_security_group(GroupName=f"good{unique}", Description="x", VpcId=mine)["GroupId"]
    foreign = ec2.create_security_group(GroupName=f"foreign{unique}", Description="x", VpcId=other)["GroupId"]
    # the kkp profile's grant names KKP's own instance profiles; this Cluster names the admin's (any name)
    _, keys = user(seed, {"Effect": "Allow", "Action": "iam:GetInstanceProfile", "Resource": "*"})
    secret = f"credential-aws-res{unique}"
    seed.kkp_secret(secret, keys)
    cases = {f"sgok{unique}": {"securityGroupID": good, "vpcID": mine},
             f"sggone{unique}": {"securityGroupID": "sg-0123456789abcdef0", "vpcID": mine},
             f"sgvpc{unique}": {"securityGroupID": foreign, "vpcID": mine},
             f"ipgone{unique}": {"instanceProfileName": f"nope{unique}", "roleARN": "arn:aws:iam::123456789012:role/x",
                                 "disableIAMReconciling": True}}
    for cluster, fields in cases.items():
        apply(seed, kkp.cluster(cluster, secret, NS, **fields))

    def all_judged() -> dict[str, list[str]] | None:
        entries = {c: entry(seed, secret, c) for c in cases}
        return ({c: e.get("configFindings") or [] for c, e in entries.items()}
                if all("ready" in e for e in entries.values()) else None)
    got = wait_for(all_judged, "every Cluster judged", timeout=60)
    assert got[f"sgok{unique}"] == []
    assert any("sg-0123456789abcdef0 does not exist" in f for f in got[f"sggone{unique}"])
    assert any(f"is in {other}, the Cluster's vpcID is {mine}" in f for f in got[f"sgvpc{unique}"])
    assert any(f"instanceProfileName nope{unique} does not exist" in f for f in got[f"ipgone{unique}"]), got
