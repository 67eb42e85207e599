"""The admission webhook, called by the real kube-apiserver over TLS, as kubectl users meet it."""

import base64
import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from credcheck_testground import kkp
from credcheck_testground.aws import ACCOUNT, LocalAWS
from credcheck_testground.controlplane import WEBHOOK_CLIENT_NAME, ControlPlane
from credcheck_testground.processes import free_port
from credcheck_testground.webhook import client_certificate, local_configuration, serving_certs

from .conftest import GOOD_POLICY, LEAKS, LEAST_POLICY, NS, REPO, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="module")
def webhook(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    cert_dir = tmp_path_factory.mktemp("webhook-certs")
    ca = serving_certs(cert_dir)
    port = free_port()
    control_plane.run_kubectl("create", "namespace", NS, check=False)
    control_plane.run_kubectl("label", "namespace", NS, f"kubernetes.io/metadata.name={NS}", "--overwrite")
    control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(local_configuration(port, ca)))
    yield cert_dir, port
    control_plane.run_kubectl("delete", "validatingwebhookconfiguration", "credcheck", check=False)


def apply_secret(cp: ControlPlane, name: str, data: dict[str, str]) -> tuple[int, str, float]:
    LEAKS.add(*data.values())
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
                "stringData": data}
    started = time.monotonic()
    result = cp.run_kubectl("apply", "-f", "-", input_text=json.dumps(manifest), check=False)
    return result.returncode, result.stderr, time.monotonic() - started


def operator(cp: ControlPlane, aws: LocalAWS, tmp: Path, webhook: tuple[Path, int], **extra: str):  # type: ignore[no-untyped-def]
    """The operator serving the webhook to the local apiserver, which it knows by its client certificate."""
    cert_dir, port = webhook
    settings = {"webhook_cert_dir": str(cert_dir), "webhook_port": str(port), "webhook_address": "127.0.0.1",
                "webhook_client_ca": str(cp.webhook_client_ca), "webhook_client_names": WEBHOOK_CLIENT_NAME, **extra}
    return running_operator(cp, aws, tmp, **settings)


def test_warn_mode(control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn"):
        code, stderr, _ = apply_secret(control_plane, "credential-aws-padded", {
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE\n", "secretAccessKey": SECRET_KEY})
        assert code == 0, stderr
        assert "Warning: credcheck: Secret kubermatic/credential-aws-padded" in stderr
        assert "trailing whitespace or a newline (hidden)" in stderr
        assert "AKIAIOSFODNN7EXAMPLE" not in stderr and SECRET_KEY not in stderr

        code, stderr, _ = apply_secret(control_plane, "credential-aws-fine", {
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET_KEY})
        assert code == 0 and "Warning" not in stderr, "a good secret passes silently"

        preset = control_plane.run_kubectl("apply", "-f", "-", check=False, input_text=json.dumps({
            "apiVersion": "kubermatic.k8c.io/v1", "kind": "Preset", "metadata": {"name": "webhook-preset"},
            "spec": {"aws": {"accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET_KEY + " ",
                             "assumeRoleARN": "arn:aws:iam::123:role/x"}}}))
        assert preset.returncode == 0, preset.stderr
        assert "Warning: credcheck: Preset webhook-preset: spec.aws: key 'secretAccessKey'" in preset.stderr
        assert "spec.aws.assumeRoleARN 'arn:aws:iam::123:role/x' is not an IAM role ARN" in preset.stderr
        assert SECRET_KEY not in preset.stderr

        code, stderr, _ = apply_secret(control_plane, "unrelated", {"password": "hunter2 "})
        assert code == 0 and "Warning" not in stderr, "not a KKP credential: not our business"

        bad_check = control_plane.run_kubectl("apply", "-f", "-", check=False, input_text=json.dumps({
            "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
            "metadata": {"name": "bad-profile", "namespace": NS},
            "spec": {"source": {"secretRef": {"name": "x"}}, "requirements": {"profile": "kkp-2099"},
                     "assumeRole": {"roleARN": "arn:aws:iam::123456789012:role/r"}}}))
        assert bad_check.returncode != 0
        assert "spec.requirements.profile 'kkp-2099' is unknown" in bad_check.stderr


def test_enforce_mode_denies_malformed(control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int],
                                       tmp_path: Path) -> None:
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="enforce"):
        code, stderr, _ = apply_secret(control_plane, "credential-aws-short", {
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "not-forty-characters-x9q"})
        assert code != 0
        assert "denied the request" in stderr and "is not an AWS secret access key" in stderr
        assert "not-forty-characters-x9q" not in stderr
        code, stderr, _ = apply_secret(control_plane, "credential-aws-ok", {
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET_KEY})
        assert code == 0, stderr


def test_webhook_down_never_blocks_writes(control_plane: ControlPlane, webhook: tuple[Path, int]) -> None:
    code, stderr, took = apply_secret(control_plane, "credential-aws-while-down", {
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "not-forty-characters-x9q"})
    assert code == 0, stderr
    assert took < 6, f"the write took {took:.1f}s with the webhook down"


def test_live_mode_warns_about_missing_passrole(control_plane: ControlPlane, local_aws: LocalAWS,
                                                webhook: tuple[Path, int], tmp_path: Path) -> None:
    _, least = local_aws.create_user(policies=[LEAST_POLICY])
    _, good = local_aws.create_user(policies=[GOOD_POLICY])
    LEAKS.add(least.secret_access_key, good.secret_access_key, least.access_key_id, good.access_key_id)
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn", webhook_live="true"):
        code, stderr, _ = apply_secret(control_plane, "credential-aws-live", {
            "accessKeyId": least.access_key_id, "secretAccessKey": least.secret_access_key})
        assert code == 0, stderr
        assert "Warning: credcheck: Secret kubermatic/credential-aws-live: 3 required action(s) denied" in stderr
        assert "cloud-controller: missing sts:AssumeRole" in stderr
        assert "machines: missing ec2:DescribeVpcAttribute, iam:PassRole" in stderr
        code, stderr, _ = apply_secret(control_plane, "credential-aws-live-good", {
            "accessKeyId": good.access_key_id, "secretAccessKey": good.secret_access_key})
        assert code == 0 and "Warning" not in stderr, stderr


def test_live_mode_past_its_budget_allows_without_waiting(control_plane: ControlPlane, local_aws: LocalAWS,
                                                          webhook: tuple[Path, int], tmp_path: Path) -> None:
    _, least = local_aws.create_user(policies=[LEAST_POLICY])
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn", webhook_live="true",
                  webhook_live_budget="1s"):
        local_aws.set_faults(latency_ms=2500)
        try:
            code, stderr, took = apply_secret(control_plane, "credential-aws-slow", {
                "accessKeyId": least.access_key_id, "secretAccessKey": least.secret_access_key})
        finally:
            local_aws.clear_faults()
    assert code == 0, stderr
    assert "required action(s) denied" not in stderr
    assert took < 2.5, f"admission waited {took:.1f}s past its 1s budget"


# --- issue 24: the webhook can't be turned against us, and checks act with their maker's rights ---

def _review(name: str, data: dict[str, str], user: str = "system:serviceaccount:kubermatic:attacker") -> bytes:
    """An AdmissionReview as a pod could forge one: a credential Secret with its own keys, for a victim's name."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
              "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uuid.uuid4().hex, "kind": {"group": "", "version": "v1", "kind": "Secret"},
        "resource": {"group": "", "version": "v1", "resource": "secrets"}, "operation": "CREATE",
        "namespace": NS, "name": name, "userInfo": {"username": user}, "object": secret}}).encode()


def _post(port: int, cert_dir: Path, body: bytes, client: tuple[Path, Path] | None,
          scheme: str = "https") -> tuple[int, dict[str, Any] | None] | str:
    """(HTTP status, answer), or why the connection was refused."""
    tls = ssl.create_default_context(cafile=str(cert_dir / "ca.crt"))
    if client is not None:
        tls.load_cert_chain(*client)
    request = urllib.request.Request(f"{scheme}://127.0.0.1:{port}/validate-secret", data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10, context=tls if scheme == "https" else None) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, None
    except (ssl.SSLError, ConnectionError, http.client.HTTPException, urllib.error.URLError) as err:
        return f"refused: {type(err).__name__}: {err}"


def test_a_forged_review_without_the_apiservers_certificate_is_refused(
        control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:
    """A pod that reaches port 9443 posts a review for a victim Cluster's Secret name carrying its own keys: without
    the apiserver's client certificate it gets no answer at all; and even the apiserver's reviews never pair
    unstored keys with the victim Cluster's role and external ID."""
    cert_dir, port = webhook
    run = uuid.uuid4().hex[:6]
    _, attacker = local_aws.create_user(policies=[{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "iam:SimulatePrincipalPolicy"], "Resource": "*"}]}])
    LEAKS.add(attacker.access_key_id, attacker.secret_access_key)
    role = local_aws.create_role(f"victim-{run}", f"arn:aws:iam::{ACCOUNT}:root", policies=[],
                                 external_id=f"victim-external-id-{run}")
    victim_secret = f"credential-aws-victim{run}"
    review = _review(victim_secret, {"accessKeyId": attacker.access_key_id,
                                     "secretAccessKey": attacker.secret_access_key})
    pki = control_plane.state / "pki"
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn", webhook_live="true"):
        control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(kkp.cluster(
            f"victim{run}", victim_secret, NS, assumeRoleARN=role, assumeRoleExternalID=f"victim-external-id-{run}")))
        local_aws.reset_calls()
        no_certificate = _post(port, cert_dir, review, None)
        other_ca = _post(port, cert_dir, review, client_certificate(tmp_path / "other", WEBHOOK_CLIENT_NAME))
        wrong_name = _post(port, cert_dir, review, client_certificate(tmp_path / "named", "some-pod",
                                                                      signed_by=control_plane.webhook_client_ca))
        plain_http = _post(port, cert_dir, review, None, scheme="http")
        assert isinstance(no_certificate, str) and no_certificate.startswith("refused"), no_certificate
        assert isinstance(other_ca, str) and other_ca.startswith("refused"), other_ca
        assert wrong_name == (403, None), "the apiserver's CA, but not its name"
        assert isinstance(plain_http, str) and plain_http.startswith("refused"), plain_http
        assert attacker.access_key_id not in local_aws.calls_by_key(), "no forged review reached AWS"

        # the same review with the apiserver's own certificate is answered: the refusals above were the identity's
        answered = _post(port, cert_dir, review, (pki / "webhook-client.crt", pki / "webhook-client.key"))
        assert isinstance(answered, tuple) and answered[0] == 200 and answered[1] is not None, answered
        response = answered[1]["response"]
        assert response["allowed"] is True
        assert any("the keys alone" in w for w in response.get("warnings", [])), response
        calls = local_aws.calls_by_key().get(attacker.access_key_id, {})
    assert calls.get("GetCallerIdentity", 0) >= 1, f"the live check ran with the attacker's keys: {calls}"
    assert "AssumeRole" not in calls, f"unstored keys were never used for the victim Cluster's role: {calls}"


def test_a_dry_run_never_reaches_aws(control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int],
                                     tmp_path: Path) -> None:
    _, least = local_aws.create_user(policies=[LEAST_POLICY])
    LEAKS.add(least.access_key_id, least.secret_access_key)
    keys = {"accessKeyId": least.access_key_id, "secretAccessKey": least.secret_access_key}
    name = f"credential-aws-dry{uuid.uuid4().hex[:6]}"
    manifest = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
                           "stringData": keys})
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn", webhook_live="true"):
        local_aws.reset_calls()
        dry = control_plane.run_kubectl("apply", "--dry-run=server", "-f", "-", input_text=manifest, check=False)
        assert dry.returncode == 0, dry.stderr
        assert "a dry run is not checked against AWS" in dry.stderr, dry.stderr
        assert least.access_key_id not in local_aws.calls_by_key(), "a dry run made AWS calls with its keys"
        real = control_plane.run_kubectl("apply", "-f", "-", input_text=manifest, check=False)
    assert real.returncode == 0, real.stderr
    assert "required action(s) denied" in real.stderr, "the same write, not a dry run, is checked against AWS"


def _maker(cp: ControlPlane, name: str, *, readable_secret: str | None = None) -> Path:
    """A ServiceAccount that may write AWSCredentialChecks in the namespace, and get one Secret at most."""
    rules: list[dict[str, Any]] = [{"apiGroups": ["credcheck.io"], "resources": ["awscredentialchecks"],
                                    "verbs": ["get", "list", "create", "update", "patch"]}]
    if readable_secret:
        rules.append({"apiGroups": [""], "resources": ["secrets"], "resourceNames": [readable_secret],
                      "verbs": ["get"]})
    cp.run_kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": name, "namespace": NS}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": NS},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": NS}]}]}))
    return cp.service_account_kubeconfig(NS, name)


def _check(name: str, spec: dict[str, Any]) -> str:
    return json.dumps({"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
                       "metadata": {"name": name, "namespace": NS}, "spec": spec})


def test_a_check_acts_only_with_the_rights_of_whoever_writes_it(
        control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:
    """The confused deputy: someone who may write checks but not read a Secret can't point one at it (nor at a
    Preset, nor borrow a Cluster's external ID, nor re-aim an admin's check); a reader of the Secret can."""
    run = uuid.uuid4().hex[:6]
    guarded, readable = f"credential-aws-guarded{run}", f"credential-aws-readable{run}"
    keys = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET_KEY}
    role = f"arn:aws:iam::{ACCOUNT}:role/somebody-elses-{run}"
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn"):
        for secret in (guarded, readable):
            apply_secret(control_plane, secret, keys)
        control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(
            kkp.cluster(f"c{run}", readable, NS, assumeRoleARN=role, assumeRoleExternalID=f"ext-{run}")))
        maker = _maker(control_plane, f"maker-{run}")
        reader = _maker(control_plane, f"reader-{run}", readable_secret=readable)

        def write(kubeconfig: Path, name: str, spec: dict[str, Any]) -> tuple[int, str]:
            done = control_plane.run_kubectl("apply", "-f", "-", kubeconfig=kubeconfig, check=False,
                                             input_text=_check(name, spec))
            return done.returncode, done.stderr

        code, err = write(maker, f"peek-{run}", {"source": {"secretRef": {"name": guarded, "accessKeyIdKey": "x"}}})
        assert code != 0 and f"may not get Secret {NS}/{guarded}" in err, err
        code, err = write(maker, f"peek-role-{run}", {"source": {"secretRef": {"name": guarded}},
                                                      "assumeRole": {"roleARN": role, "externalID": "guess"}})
        assert code != 0 and "may not get Secret" in err, err
        code, err = write(maker, f"peek-preset-{run}", {"source": {"presetRef": {"name": f"team-{run}"}}})
        assert code != 0 and f"may not get Preset team-{run}" in err, err

        code, err = write(reader, f"mine-{run}", {"source": {"secretRef": {"name": readable}},
                                                  "assumeRole": {"roleARN": role, "externalID": "my-own-id"}})
        assert code == 0, f"a reader of the Secret may check it, assume-role included: {err}"
        code, err = write(reader, f"borrow-{run}", {"source": {"secretRef": {"name": readable}},
                                                    "assumeRole": {"roleARN": role,
                                                                   "externalIDFrom": {"cluster": f"c{run}"}}})
        assert code != 0 and f"may not get Cluster c{run}" in err, err

        # an admin's check of the guarded Secret: its metadata may be touched, its spec not re-aimed
        control_plane.run_kubectl("apply", "-f", "-", input_text=_check(
            f"admins-{run}", {"source": {"secretRef": {"name": guarded}}}))
        labelled = control_plane.run_kubectl("label", "awscc", f"admins-{run}", "-n", NS, "team=a",
                                             kubeconfig=maker, check=False)
        assert labelled.returncode == 0, labelled.stderr
        patched = control_plane.run_kubectl("patch", "awscc", f"admins-{run}", "-n", NS, "--type=merge", "-p",
                                            json.dumps({"spec": {"region": "ap-south-1"}}), kubeconfig=maker,
                                            check=False)
        assert patched.returncode != 0 and "may not get Secret" in patched.stderr, patched.stderr


def _crd_without_rules() -> str:
    """The CRD as it was before the rules moved into it (no CEL validations): what older objects were stored under."""
    crd = yaml.safe_load((REPO / "crds" / "awscredentialchecks.credcheck.io.yaml").read_text())

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("x-kubernetes-validations", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(crd["spec"]["versions"][0]["schema"])
    return json.dumps(crd)


def test_metadata_writes_to_a_check_stored_before_the_rules_pass(
        control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:
    """A check stored with `interval: 1m` (before the rules, or while nothing enforced them) can still be labelled,
    have its status written and its other fields changed; only making it (newly) out of rule is refused."""
    name = f"legacy-{uuid.uuid4().hex[:6]}"
    configuration = control_plane.run_kubectl("get", "validatingwebhookconfiguration", "credcheck", "-o",
                                              "json").stdout
    control_plane.run_kubectl("delete", "validatingwebhookconfiguration", "credcheck")
    try:
        control_plane.run_kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                                  input_text=_crd_without_rules())
        made = control_plane.run_kubectl("apply", "-f", "-", check=False, input_text=_check(
            name, {"source": {"secretRef": {"name": "credential-aws-fine"}}, "interval": "1m"}))
        assert made.returncode == 0, made.stderr
    finally:
        stored = json.loads(configuration)
        for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields"):
            stored["metadata"].pop(key, None)
        control_plane.run_kubectl("apply", "-f", "-", input_text=json.dumps(stored))
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="enforce"):  # installs the real CRD
        wait_for(lambda: "x-kubernetes-validations" in control_plane.run_kubectl(
            "get", "crd", "awscredentialchecks.credcheck.io", "-o", "json").stdout, "the CRD with its rules")
        labelled = control_plane.run_kubectl("label", "awscc", name, "-n", NS, "owner=platform", check=False)
        assert labelled.returncode == 0, labelled.stderr
        annotated = control_plane.run_kubectl("annotate", "awscc", name, "-n", NS, "note=kept", check=False)
        assert annotated.returncode == 0, annotated.stderr
        # kopf's and credcheck's own writes (status, its annotations) land: the check reports its bad interval
        found = wait_for(lambda: next((c for c in ((control_plane_check(control_plane, name) or {}).get("status")
                                                    or {}).get("conditions", []) if c["type"] == "Ready"), None),
                         "the operator's verdict on the stored check")
        assert (found["status"], found["reason"]) == ("False", "InvalidInterval")
        kept = control_plane.run_kubectl("patch", "awscc", name, "-n", NS, "--type=merge", "-p",
                                         json.dumps({"spec": {"region": "eu-west-1"}}), check=False)
        assert kept.returncode == 0, f"a spec change that keeps the old interval passes: {kept.stderr}"
        worse = control_plane.run_kubectl("patch", "awscc", name, "-n", NS, "--type=merge", "-p",
                                          json.dumps({"spec": {"interval": "2m"}}), check=False)
        assert worse.returncode != 0 and "spec.interval '2m' is out of range" in worse.stderr, worse.stderr


def control_plane_check(cp: ControlPlane, name: str) -> dict[str, Any] | None:
    got = cp.run_kubectl("get", "awscc", name, "-n", NS, "-o", "json", check=False)
    return json.loads(got.stdout) if got.returncode == 0 else None


def test_a_malformed_secret_stored_earlier_can_be_labelled_in_enforce_mode(
        control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:
    name = f"credential-aws-old{uuid.uuid4().hex[:6]}"
    code, stderr, _ = apply_secret(control_plane, name, {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                                                         "secretAccessKey": "not-forty-characters-x9q"})
    assert code == 0, f"stored while the webhook was down: {stderr}"
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="enforce"):
        for change in (["label", "secret", name, "-n", NS, "kkp=yes"],
                       ["patch", "secret", name, "-n", NS, "--type=merge", "-p",
                        json.dumps({"metadata": {"finalizers": ["example.com/keep"]}})],
                       ["patch", "secret", name, "-n", NS, "--type=json", "-p",
                        json.dumps([{"op": "remove", "path": "/metadata/finalizers"}])]):
            done = control_plane.run_kubectl(*change, check=False)
            assert done.returncode == 0, f"{change[0]}: {done.stderr}"
        code, stderr, _ = apply_secret(control_plane, name, {"accessKeyId": "AKIAIOSFODNN7EXAMPLE",
                                                             "secretAccessKey": "still-not-forty-characters"})
    assert code != 0 and "is not an AWS secret access key" in stderr, "a change to its data is still judged"


def _reviews(metrics_url: str, webhook_name: str) -> float:
    with urllib.request.urlopen(f"{metrics_url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("credcheck_webhook_reviews_total{") and f'webhook="{webhook_name}"' in line)


def test_only_credential_secrets_are_sent_to_the_webhook(control_plane: ControlPlane, local_aws: LocalAWS,
                                                         webhook: tuple[Path, int], tmp_path: Path) -> None:
    """Helm's release Secrets (up to 1 MiB) and other Secrets never reach the webhook (no 413, no noise)."""
    run = uuid.uuid4().hex[:6]
    big = base64.b64encode(b"\x00" * (1000 * 1024)).decode()  # its review would be ~1.3 MiB
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="enforce") as op:
        before = _reviews(op.metrics_url, "secret")
        release = control_plane.run_kubectl("create", "-f", "-", check=False, input_text=json.dumps({
            "apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
            "metadata": {"name": f"sh.helm.release.v1.kkp-{run}.v1", "namespace": NS}, "data": {"release": big}}))
        assert release.returncode == 0 and "Warning" not in release.stderr, release.stderr[:500]
        code, stderr, _ = apply_secret(control_plane, f"registry-{run}", {"token": "not-an-aws-credential"})
        assert code == 0 and "Warning" not in stderr
        assert _reviews(op.metrics_url, "secret") == before, "neither reached the webhook"
        code, stderr, _ = apply_secret(control_plane, f"credential-aws-sent{run}", {
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET_KEY})
        assert code == 0, stderr
        assert _reviews(op.metrics_url, "secret") == before + 1, "a credential Secret does"


def test_live_checks_are_bounded_and_stop_at_their_budget(control_plane: ControlPlane, local_aws: LocalAWS,
                                                          webhook: tuple[Path, int], tmp_path: Path) -> None:
    users = [local_aws.create_user(policies=[LEAST_POLICY])[1] for _ in range(2)]
    for keys in users:
        LEAKS.add(keys.access_key_id, keys.secret_access_key)
    run = uuid.uuid4().hex[:6]
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn", webhook_live="true",
                  webhook_live_budget="1s", webhook_live_concurrency="1") as op:
        local_aws.reset_calls()
        local_aws.set_faults(latency_ms=2500)
        try:
            # KKP's key names under a name discovery leaves alone: only the live check uses these keys
            first = control_plane.run_kubectl("create", "secret", "generic", f"shared-aws-slow1{run}", "-n", NS,
                                              f"--from-literal=accessKeyId={users[0].access_key_id}",
                                              f"--from-literal=secretAccessKey={users[0].secret_access_key}",
                                              "--dry-run=client", "-o", "json").stdout
            answer_one = control_plane.run_kubectl("create", "-f", "-", input_text=first, check=False)
            second = first.replace(users[0].access_key_id, users[1].access_key_id).replace(
                users[0].secret_access_key, users[1].secret_access_key).replace("slow1", "slow2")
            answer_two = control_plane.run_kubectl("create", "-f", "-", input_text=second, check=False)
            wait_for(lambda: "past its budget: no AWS call was sent after it" in op.log.read_text(),
                     "the first live check to end", timeout=30)
        finally:
            local_aws.clear_faults()
        by_key = local_aws.calls_by_key()
    assert "did not finish within 1s" in answer_one.stderr, answer_one.stderr
    assert "1 live checks are running" in answer_two.stderr, answer_two.stderr
    first = by_key.get(users[0].access_key_id, {})
    assert first.get("GetCallerIdentity") and "SimulatePrincipalPolicy" not in first, \
        f"the live check stopped at its budget: {first}"
