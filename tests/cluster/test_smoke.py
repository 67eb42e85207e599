"""The control plane is real: CRDs are served, kubectl prints columns, RBAC denies what it should."""

import json
from pathlib import Path

import pytest
from packaging.version import Version

from credcheck_testground.controlplane import ControlPlane

pytestmark = pytest.mark.cluster
CRD = Path(__file__).resolve().parents[2] / "crds" / "awscredentialchecks.credcheck.io.yaml"


def test_server_is_the_version_we_built(control_plane: ControlPlane) -> None:
    version = json.loads(control_plane.run_kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == version["clientVersion"]["gitVersion"]
    assert Version(version["serverVersion"]["gitVersion"]) >= Version("1.34")


def test_crd_applied_and_object_read_back_with_printer_columns(control_plane: ControlPlane) -> None:
    control_plane.run_kubectl("apply", "--server-side", "-f", str(CRD))
    control_plane.run_kubectl("wait", "--for=condition=Established", "--timeout=30s",
                              "crd/awscredentialchecks.credcheck.io")
    control_plane.run_kubectl("create", "namespace", "smoke", check=False)
    control_plane.run_kubectl("apply", "-f", "-", input_text="""
apiVersion: credcheck.io/v1alpha1
kind: AWSCredentialCheck
metadata: {name: smoke, namespace: smoke}
spec:
  source: {secretRef: {name: credential-aws-abc}}
""")
    table = control_plane.run_kubectl("get", "awscc", "-n", "smoke").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "REASON", "PRINCIPAL", "MISSING", "LAST", "CHECKED", "AGE"]
    assert table[1].startswith("smoke ")
    stored = json.loads(control_plane.run_kubectl("get", "awscc", "smoke", "-n", "smoke", "-o", "json").stdout)
    assert stored["spec"]["source"]["secretRef"]["accessKeyIdKey"] == "accessKeyId", "schema defaults applied"
    assert "profile" not in stored["spec"]["requirements"] and "region" not in stored["spec"], \
        "no schema default hides the operator's --profile and --region"
    wide = control_plane.run_kubectl("get", "awscc", "-n", "smoke", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-4:] == ["KKP", "UPGRADE", "CLUSTERS", "AGE"]


def test_crd_validation_rejects_both_sources(control_plane: ControlPlane) -> None:
    control_plane.run_kubectl("apply", "--server-side", "-f", str(CRD))
    control_plane.run_kubectl("create", "namespace", "smoke", check=False)
    result = control_plane.run_kubectl("apply", "-f", "-", check=False, input_text="""
apiVersion: credcheck.io/v1alpha1
kind: AWSCredentialCheck
metadata: {name: both, namespace: smoke}
spec:
  source: {secretRef: {name: a}, presetRef: {name: b}}
""")
    assert result.returncode != 0
    assert "set exactly one of secretRef and presetRef" in result.stderr


def test_service_account_without_rbac_is_forbidden(control_plane: ControlPlane) -> None:
    control_plane.run_kubectl("create", "namespace", "rbac-smoke", check=False)
    kubeconfig = control_plane.service_account_kubeconfig("rbac-smoke", "nobody")
    result = control_plane.run_kubectl("get", "secrets", "-n", "rbac-smoke", kubeconfig=kubeconfig, check=False)
    assert result.returncode != 0
    assert "Forbidden" in result.stderr
    assert "system:serviceaccount:rbac-smoke:nobody" in result.stderr
