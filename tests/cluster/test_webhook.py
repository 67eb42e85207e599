"""The admission webhook, called by the real kube-apiserver over TLS, as kubectl users meet it."""

import http.client
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.processes import free_port
from credcheck_testground.webhook import local_configuration, serving_certs

from .conftest import GOOD_POLICY, LEAKS, LEAST_POLICY, NS, running_operator

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
    cert_dir, port = webhook
    return running_operator(cp, aws, tmp, webhook_cert_dir=str(cert_dir), webhook_port=str(port),
                            webhook_address="127.0.0.1", **extra)


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


def test_webhook_refuses_plain_http(control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int],
                                    tmp_path: Path) -> None:
    cert_dir, port = webhook
    review = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode()
    tls = ssl.create_default_context(cafile=None)
    tls.load_verify_locations(cadata=_ca_of(cert_dir))
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn"):
        try:  # over TLS, the server answers (a bare review is rejected, but with an HTTP status)
            urllib.request.urlopen(f"https://127.0.0.1:{port}/validate-secret", data=review, timeout=5, context=tls)
        except urllib.error.HTTPError as err:
            assert err.code >= 400
        with pytest.raises((http.client.RemoteDisconnected, http.client.BadStatusLine, ConnectionResetError)):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/validate-secret", data=review, timeout=5)


def _ca_of(cert_dir: Path) -> str:
    return (cert_dir / "ca.crt").read_text()


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
