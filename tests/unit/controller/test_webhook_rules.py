"""The admission webhook's decisions, with a recording stand-in for the apiserver's SubjectAccessReview."""

import asyncio
import base64
import ssl
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeKube

from credcheck.controller.admission import judged, required_access, spec_problems
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.controller.webhook import server as webhook
from credcheck.controller.webhook.server import Admission, Review, response
from credcheck.engine.model import Status, Verdict
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.spec import CheckSpec, SecretSource, parse_spec
from credcheck_testground import certs

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GOOD = {"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": SECRET_KEY}
USER = {"username": "alice", "groups": ["team-a"], "uid": "u-1"}


def failing_authorizer() -> FakeKube:
    kube = FakeKube()
    kube.fail("may", ConnectionError("apiserver away"))
    return kube


def admission(kube: FakeKube | None = None, **settings: Any) -> Admission:
    runtime = Runtime(replace(Settings(), **settings), kube or FakeKube(), VerdictCache(0),
                      ThreadPoolExecutor(1))
    return Admission(runtime)


def check(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "c", "namespace": "kubermatic", **meta}, "spec": spec}


def secret(data: dict[str, str], name: str = "credential-aws-x", **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "kubermatic", **meta},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def review(operation: str, obj: dict[str, Any], old: dict[str, Any] | None = None, dry_run: bool = False) -> Review:
    return Review.of({"request": {"uid": "1", "operation": operation, "userInfo": USER, "dryRun": dry_run,
                                  "object": obj, "oldObject": old}})


SOURCE = {"source": {"secretRef": {"name": "credential-aws-x"}}}


def test_a_check_needs_its_maker_to_be_allowed_to_get_its_secret() -> None:
    refused = FakeKube()
    answer = asyncio.run(admission(refused).check(review("CREATE", check(SOURCE))))
    assert not answer.allowed and answer.code == 403
    assert answer.message.startswith("alice may not get Secret kubermatic/credential-aws-x")
    assert refused.asked == [("alice", "get", "", "secrets", "kubermatic", "credential-aws-x")]
    allowed = FakeKube(allowed={("secrets", "credential-aws-x")})
    assert asyncio.run(admission(allowed).check(review("CREATE", check(SOURCE)))).allowed


def test_a_preset_and_a_clusters_external_id_are_asked_about_too() -> None:
    spec = {"source": {"presetRef": {"name": "team"}},
            "assumeRole": {"roleARN": "arn:aws:iam::123456789012:role/r", "externalIDFrom": {"cluster": "c1"}}}
    parsed = parse_spec(spec, BUILTIN)
    assert isinstance(parsed, CheckSpec)
    assert [(a.group, a.resource, a.name, a.namespace) for a in required_access("kubermatic", parsed)] == [
        ("kubermatic.k8c.io", "presets", "team", None), ("kubermatic.k8c.io", "clusters", "c1", None)]
    only_preset = FakeKube(allowed={("presets", "team")})
    answer = asyncio.run(admission(only_preset).check(review("CREATE", check(spec))))
    assert not answer.allowed and "alice may not get Cluster c1" in answer.message


def test_metadata_and_status_writes_and_deletions_are_not_judged() -> None:
    stored = check({**SOURCE, "interval": "1m"})  # out of rule: stored before the rules, say
    relabelled = check({**SOURCE, "interval": "1m"}, labels={"team": "a"})
    kube = FakeKube()
    for write in (review("UPDATE", relabelled, stored),
                  review("DELETE", {}, stored)):
        answer = asyncio.run(admission(kube).check(write))
        assert answer.allowed and answer.result == "skipped"
    assert kube.asked == [], "no SubjectAccessReview for a write that changes no spec"


def test_a_spec_change_is_judged_but_a_rule_the_stored_spec_already_broke_is_the_crds_to_ratchet() -> None:
    stored = check({**SOURCE, "interval": "1m"})
    kube = FakeKube(allowed={("secrets", "credential-aws-x")})
    kept = asyncio.run(admission(kube).check(review("UPDATE", check({**SOURCE, "interval": "1m",
                                                                      "region": "eu-west-1"}), stored)))
    assert kept.allowed
    worse = asyncio.run(admission(kube).check(review("UPDATE", check({**SOURCE, "interval": "2m"}), stored)))
    assert not worse.allowed and worse.code == 422 and "spec.interval '2m' is out of range" in worse.message
    assert spec_problems({"source": {}, "interval": "2m"}, None)


def test_a_failed_subject_access_review_refuses_the_check() -> None:
    answer = asyncio.run(admission(failing_authorizer()).check(review("CREATE", check(SOURCE))))
    assert not answer.allowed and answer.code == 503


def test_an_unchanged_malformed_secret_passes_in_enforce_mode_and_a_changed_one_does_not() -> None:
    bad = secret({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "short"})
    enforce = admission(webhook_mode="enforce")
    labelled = secret({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "short"}, labels={"a": "b"})
    assert asyncio.run(enforce.secret(review("UPDATE", labelled, bad))).allowed
    finalized = secret({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "short"},
                       deletionTimestamp="2025-01-01T00:00:00Z", finalizers=[])
    assert asyncio.run(enforce.secret(review("UPDATE", finalized, bad))).allowed
    worse = secret({"accessKeyId": "AKIAIOSFODNN7EXAMPLE", "secretAccessKey": "shorter"})
    answer = asyncio.run(enforce.secret(review("UPDATE", worse, bad)))
    assert not answer.allowed and "is not an AWS secret access key" in answer.message


def test_only_kkp_credentials_are_judged() -> None:
    enforce = admission(webhook_mode="enforce")
    for obj in (secret({"password": "x"}, name="registry"), secret({"x": "y"}, name="cloud-credentials"),
                {**secret(GOOD), "metadata": {"name": "credential-aws-x", "namespace": "elsewhere"}}):
        assert asyncio.run(enforce.secret(review("CREATE", obj))).result == "skipped"
    assert webhook.is_credential_write("kubermatic", "shared", {"accessKeyId": b"x"}), "KKP's key names"
    assert not webhook.is_credential_write("cluster-abc", "cloud-credentials", {"accessKeyId": b"x"}), "KKP's copy"


def test_a_dry_run_and_a_full_pool_never_reach_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[CheckSpec] = []

    async def evaluate(_: Runtime, __: str, spec: CheckSpec, *___: Any, **____: Any) -> tuple[Verdict, None]:
        asked.append(spec)
        return Verdict(Status.SUFFICIENT, "AllRequiredAllowed", "fine"), None

    monkeypatch.setattr(webhook, "verdict_for", evaluate)
    live = admission(webhook_live=True, webhook_client_ca="/ca.crt", webhook_live_concurrency=1)
    dry = asyncio.run(live.secret(review("CREATE", secret(GOOD), dry_run=True)))
    assert asked == [] and any("a dry run is not checked against AWS" in w for w in dry.warnings)

    async def full() -> Any:
        await live.slots.acquire()
        return await live.secret(review("CREATE", secret(GOOD)))

    answer = asyncio.run(full())
    assert asked == [] and any("live checks are running" in w for w in answer.warnings)


def test_a_live_check_takes_the_keys_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[dict[str, Any]] = []

    async def evaluate(_: Runtime, __: str, spec: CheckSpec, data: Any, **kw: Any) -> tuple[Verdict, None]:
        asked.append({"spec": spec, "data": dict(data), **kw})
        return Verdict(Status.INSUFFICIENT, "MissingPermissions", "3 required action(s) denied"), None

    monkeypatch.setattr(webhook, "verdict_for", evaluate)
    live = admission(webhook_live=True, webhook_client_ca="/ca.crt")
    answer = asyncio.run(live.secret(review("CREATE", secret(GOOD))))
    assert asked[0]["spec"] == CheckSpec(SecretSource("credential-aws-x")), "nothing from the indexes"
    assert asked[0]["share"] is False, "unstored keys' verdicts stay out of the operator's cache"
    assert any("3 required action(s) denied" in w for w in answer.warnings)


def test_the_answer_is_an_admission_review() -> None:
    assert response("u1", webhook.Answer(warnings=["w"])) == {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "response": {"uid": "u1", "allowed": True, "warnings": ["w"]}}
    denied = webhook.Answer().deny("no", 403)
    assert response("u2", denied)["response"] == {"uid": "u2", "allowed": False,
                                                  "status": {"code": 403, "message": "no"}}
    with pytest.raises(ValueError, match="AdmissionReview"):
        Review.of({"kind": "AdmissionReview"})


def test_with_a_client_ca_the_handshake_requires_a_certificate(tmp_path: Path) -> None:
    ca = certs.make_ca()
    certs.write(certs.issue(ca, "webhook", server=True, hosts=("127.0.0.1",)), tmp_path, "tls")
    ca_file, _ = certs.write(certs.make_ca("client-ca"), tmp_path, "client-ca")
    without = webhook.ssl_context(replace(Settings(), webhook_cert_dir=str(tmp_path)))
    assert without.verify_mode == ssl.CERT_NONE
    strict = webhook.ssl_context(replace(Settings(), webhook_cert_dir=str(tmp_path), webhook_client_ca=str(ca_file)))
    assert strict.verify_mode == ssl.CERT_REQUIRED
    assert webhook._common_name({"subject": ((("organizationName", "x"),), (("commonName", "apiserver"),))}) \
        == "apiserver"


def test_live_checks_need_an_authenticated_caller(tmp_path: Path) -> None:
    settings = replace(Settings(), webhook_cert_dir=str(tmp_path), webhook_live=True)
    runtime = Runtime(settings, FakeKube(), VerdictCache(0), ThreadPoolExecutor(1))
    with pytest.raises(ValueError, match="--webhook-client-ca"):
        asyncio.run(webhook.start(runtime))


def test_judged_writes() -> None:
    assert judged("CREATE", {"spec": {}}, None, "spec")
    assert not judged("UPDATE", {"spec": {"a": 1}, "metadata": {"labels": {"x": "y"}}}, {"spec": {"a": 1}}, "spec")
    assert judged("UPDATE", {"data": {"a": "1"}}, {"data": {"a": "2"}}, "data")
    assert not judged("UPDATE", {"spec": {"aws": {"k": 1}, "other": 2}}, {"spec": {"aws": {"k": 1}}}, "spec.aws")
    assert not judged("CONNECT", {}, None, "spec")


def test_a_terminating_check_is_judged_like_any_other() -> None:
    """Issue 33: a check held by a finalizer keeps acting; re-aiming it while it terminates asks its maker's rights."""
    kube = FakeKube()
    terminating = check(SOURCE, deletionTimestamp="2025-01-01T00:00:00Z", finalizers=["mine"])
    answer = asyncio.run(admission(kube).check(review("UPDATE", terminating, check(
        {"source": {"secretRef": {"name": "credential-aws-other"}}}, deletionTimestamp="2025-01-01T00:00:00Z"))))
    assert not answer.allowed and answer.code == 403
    assert kube.asked == [("alice", "get", "", "secrets", "kubermatic", "credential-aws-x")]


def test_only_credcheck_may_set_change_or_remove_the_discovered_label() -> None:
    """Issue 33: discovery owns, rewrites and deletes the checks labelled credcheck.io/discovered."""
    kube = FakeKube(allowed={("secrets", "credential-aws-x")})
    labelled = check(SOURCE, labels={"credcheck.io/discovered": "true"})
    plain = check(SOURCE)
    for write in (review("CREATE", labelled), review("UPDATE", labelled, plain), review("UPDATE", plain, labelled)):
        answer = asyncio.run(admission(kube).check(write))
        assert not answer.allowed and answer.code == 403 and "credcheck.io/discovered" in answer.message
    ours = Review.of({"request": {"uid": "2", "operation": "CREATE", "object": labelled,
                                  "userInfo": {"username": "system:serviceaccount:kubermatic:credcheck"}}})
    assert asyncio.run(admission(kube).check(ours)).allowed, "discovery's own write"
    unchanged = asyncio.run(admission(kube).check(review("UPDATE", labelled, labelled)))
    assert unchanged.allowed, "a write that leaves the label as it was passes"
