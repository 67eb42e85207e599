"""The scan every operator's teardown runs (conftest.running_operator) can fail: a secret value planted in an
AWSCredentialCheck, an Event or an operator log is found there, and so is a kopf or credcheck mark on a Secret."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.install import install_base

from .conftest import NS, find_leaks, marks_on_kkp_objects, what_an_operator_wrote

pytestmark = pytest.mark.cluster


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A namespace of its own, deleted afterwards (the planted values are in no scan's list: LEAKS never sees them)."""
    install_base(control_plane, NS)  # the CRDs
    name = f"leak-scan-{uuid.uuid4().hex[:6]}"
    control_plane.run_kubectl("create", "namespace", name)
    yield name
    control_plane.run_kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_a_secret_value_planted_in_a_check_an_event_or_a_log_is_found_there(
        control_plane: ControlPlane, namespace: str, tmp_path: Path) -> None:
    planted = {place: f"planted-{place}-{uuid.uuid4().hex}" for place in ("check", "event", "log")}
    check = {"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
             "metadata": {"name": "planted", "namespace": namespace, "annotations": {"note": planted["check"]}},
             "spec": {"source": {"secretRef": {"name": "credential-aws-planted"}}}}
    event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "planted", "namespace": namespace},
             "involvedObject": {"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
                                "name": "planted", "namespace": namespace},
             "type": "Normal", "reason": "Planted", "message": f"key {planted['event']}"}
    control_plane.run_kubectl("create", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                          "items": [check, event]}))
    log = tmp_path / "operator.log"
    log.write_text(json.dumps({"message": f"check result: {planted['log']}"}) + "\n")

    texts = what_an_operator_wrote(control_plane, log)
    assert find_leaks(texts, [planted["check"]]) == [("AWSCredentialChecks", "plan…")]
    assert find_leaks(texts, [planted["event"]]) == [("Events", "plan…")]
    assert find_leaks(texts, [planted["log"]]) == [(f"operator log {log}", "plan…")]
    assert find_leaks(texts, [f"never-written-{uuid.uuid4().hex}"]) == []


def test_a_kopf_or_credcheck_mark_planted_on_a_secret_is_found(control_plane: ControlPlane, namespace: str) -> None:
    def secret(name: str, annotations: dict[str, str] | None = None, manager: str = "kubectl-create") -> None:
        manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace,
                                                                      "annotations": annotations or {}},
                    "stringData": {"k": "v"}}
        control_plane.run_kubectl("create", f"--field-manager={manager}", "-f", "-", input_text=json.dumps(manifest))

    secret("clean", {"example.com/note": "kept"})
    assert marks_on_kkp_objects(control_plane, namespace) == []
    secret("diff-base", {"kopf.zalando.org/last-handled-configuration": "{}"})
    secret("written", manager="credcheck")
    assert marks_on_kkp_objects(control_plane, namespace) == [
        f"Secret {namespace}/diff-base: annotation kopf.zalando.org/last-handled-configuration",
        f"Secret {namespace}/written: written by credcheck"]
