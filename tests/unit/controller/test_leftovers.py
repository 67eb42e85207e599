"""Issue 33's leftovers, decided before any AWS call or with an AWS error as plain data: a Cluster's or Preset's
external ID is validated before it is sent and never quoted; STS's echo of it is scrubbed."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fakes import FakeKube

from credcheck.controller.reconcile import reconcile
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine import auditing
from credcheck.engine import check as engine_check
from credcheck.engine.model import AssumeRole, Principal
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.spec import parse_check

ROLE = "arn:aws:iam::123456789012:role/kubernetes-abc-control-plane"
BAD_ID = "not an id SECRETX"  # spaces: AWS's ValidationError would quote it


def seed() -> FakeKube:
    """Cluster abc and Preset team, both with a malformed external ID; Secret kubermatic/s."""
    return FakeKube(
        clusters={"abc": {"spec": {"cloud": {"aws": {
            "credentialsReference": {"namespace": "kubermatic", "name": "s"},
            "assumeRoleARN": ROLE, "assumeRoleExternalID": BAD_ID}}}}},
        presets={"team": {"spec": {"aws": {"accessKeyID": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "x" * 40,
                                           "assumeRoleARN": ROLE, "assumeRoleExternalID": BAD_ID}}}},
        secrets={("kubermatic", "s"): {"accessKeyId": b"AKIAIOSFODNN7EXAMPLE", "secretAccessKey": b"x" * 40}})


def ready(spec: dict[str, Any]) -> dict[str, Any]:
    body = {"metadata": {"namespace": "kubermatic", "name": "c", "generation": 1}, "spec": spec}
    runtime = Runtime(Settings(), seed(), VerdictCache(0), ThreadPoolExecutor(1))
    done = asyncio.run(reconcile(runtime, parse_check(body, BUILTIN), {}))
    return next(c for c in done.status.to_dict()["conditions"] if c["type"] == "Ready")


@pytest.mark.parametrize("spec", [
    {"source": {"secretRef": {"name": "s"}}, "assumeRole": {"roleARN": ROLE, "externalIDFrom": {"cluster": "abc"}}},
    {"source": {"presetRef": {"name": "team"}}}], ids=["cluster", "preset"])
def test_a_malformed_external_id_is_never_sent_and_never_quoted(spec: dict[str, Any]) -> None:
    found = ready(spec)
    assert found["reason"] == "InvalidExternalID" and "SECRETX" not in found["message"], found


def test_stss_echo_of_an_external_id_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(session: Any, role: AssumeRole) -> Any:
        raise ClientError({"Error": {"Code": "ValidationError", "Message": f"1 validation error detected: Value "
                                     f"'{role.external_id}' at 'externalId' failed to satisfy constraint"}},
                          "AssumeRole")

    monkeypatch.setattr(engine_check, "assume_role", refuse)
    verdict = engine_check._assume(type("S", (), {"region": "us-east-1"})(), AssumeRole(ROLE, "abcSECRETX"))
    assert "SECRETX" not in verdict.message and "(the external ID)" in verdict.message  # type: ignore[union-attr]


def test_the_auditors_own_identity_never_reaches_a_checks_status() -> None:
    own = "arn:aws:iam::999999999999:user/credcheck-auditor"
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": f"User: {own} is not authorized to perform: "
                                    "iam:SimulatePrincipalPolicy on resource: arn:aws:iam::123456789012:user/x"}},
                         "SimulatePrincipalPolicy")
    principal = Principal("arn:aws:iam::123456789012:user/x", "arn:aws:iam::123456789012:user/x", "123456789012",
                          "aws", "user")
    verdict = auditing.auditor_failed(denied, principal)
    assert verdict.reason == "AuditorFailed" and "999999999999" not in verdict.message, verdict.message
    assert "credcheck-auditor" not in verdict.message
