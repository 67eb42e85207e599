"""controller.reconcile: a spec to a verdict to a status, with a recording stand-in for the Kubernetes reads (no
AWS reached: these are the paths decided before any AWS call)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from fakes import FakeKube
from statuses import conditions

from credcheck.controller.effective import effective
from credcheck.controller.reconcile import reconcile
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.client import ReadFailure
from credcheck.kube.contract import ANNOTATION_CLUSTERS, ANNOTATION_PROBLEM, LABEL_DISCOVERED
from credcheck.kube.spec import CheckSpec, Requirements, SecretSource, parse_check

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def reads(secret: dict[str, bytes] | ReadFailure, broken: bool = False) -> FakeKube:
    """The check's Secret (kubermatic/credential-aws-a); `broken` makes its read raise, as a bug would."""
    kube = FakeKube(secrets={("kubermatic", "credential-aws-a"): secret})
    if broken:
        kube.fail("secret_data", RuntimeError("a bug"))
    return kube


def runtime(kube: FakeKube) -> Runtime:
    return Runtime(Settings(), kube, VerdictCache(0), ThreadPoolExecutor(1), now=lambda: NOW, jitter=lambda: 0.0)


def body(spec: dict[str, Any], labels: dict[str, str] | None = None, **annotations: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "kubermatic", "name": "credential-aws-a", "generation": 2,
                         "labels": labels or {}, "annotations": annotations}, "spec": spec}


SOURCE = {"source": {"secretRef": {"name": "credential-aws-a"}}}
GONE = ReadFailure("SecretNotFound", "Secret kubermatic/credential-aws-a not found")


def test_a_spec_problem_is_the_verdict_and_nothing_is_read() -> None:
    kube = reads({})
    check = parse_check(body(SOURCE, **{ANNOTATION_PROBLEM: "Cluster c1: spec.cloud.aws.assumeRoleARN 'x' is bad"}),
                        BUILTIN)
    done = asyncio.run(reconcile(runtime(kube), check, {}))
    assert conditions(done.status.to_dict())["Ready"] == ("False", "InvalidAssumeRoleARN")
    assert conditions(done.status.to_dict())["CredentialsValid"] == ("False", "InvalidAssumeRoleARN")
    assert kube.called("secret_data") == [], "a check that cannot work reads no Secret"
    assert done.event is not None and done.event[1] == "InvalidAssumeRoleARN"


def test_a_bad_interval_is_misconfigured_and_rechecked_at_the_default_interval() -> None:
    done = asyncio.run(reconcile(runtime(reads({})), parse_check(body({**SOURCE, "interval": "1m"}), BUILTIN), {}))
    assert conditions(done.status.to_dict())["Ready"] == ("False", "InvalidInterval")
    assert done.status.to_dict()["nextCheckTime"] == "2026-01-01T06:00:00Z", "the operator's 6h default"


def test_a_discovered_checks_missing_secret_names_the_clusters_and_deletes_nothing() -> None:
    labels = {LABEL_DISCOVERED: "true"}
    used = asyncio.run(reconcile(runtime(reads(GONE)),
                                 parse_check(body(SOURCE, labels, **{ANNOTATION_CLUSTERS: "c1,c2"}), BUILTIN), {}))
    ready = next(c for c in used.status.to_dict()["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "SecretNotFound"
    assert ready["message"].endswith("(used by Cluster(s) c1, c2, which cannot be reconciled without it)")
    assert used.status.to_dict()["clusters"] == [{"name": "c1"}, {"name": "c2"}]
    assert used.event is not None, "a Cluster needs it: the transition is an Event"
    unused = asyncio.run(reconcile(runtime(reads(GONE)), parse_check(body(SOURCE, labels), BUILTIN), {}))
    assert "discovery removes this check" in conditions_message(unused.status.to_dict())
    assert unused.event is None, "no Event for a check discovery is about to delete"


def conditions_message(status: dict[str, Any]) -> str:
    return str(next(c for c in status["conditions"] if c["type"] == "Ready")["message"])


def test_a_failure_counts_once_and_backs_off_and_a_verdict_resets_the_count() -> None:
    check = parse_check(body(SOURCE), BUILTIN)
    failed = asyncio.run(reconcile(runtime(reads({}, broken=True)), check, {"consecutiveFailures": 2}))
    assert conditions(failed.status.to_dict())["Ready"][0] == "Unknown"
    assert failed.status.to_dict()["consecutiveFailures"] == 3
    assert failed.status.to_dict()["nextCheckTime"] == "2026-01-01T00:04:00Z", "1 min doubled per earlier failure"
    answered = asyncio.run(reconcile(runtime(reads(GONE)), check, failed.status.to_dict()))
    assert answered.status.to_dict()["consecutiveFailures"] == 0


def test_defaults_fill_what_the_spec_leaves_out_once() -> None:
    settings = Settings(profile="kkp-2.30", upgrade_profile="kkp-2.31", include_recommended=True)
    want = effective(CheckSpec(SecretSource("s")), settings)
    assert (want.profile, want.upgrade_profile, want.include_recommended, want.interval, want.region,
            want.explicit_region) == ("kkp-2.30", "kkp-2.31", True, 21600.0, "us-east-1", None)
    own = effective(CheckSpec(SecretSource("s"), requirements=Requirements("kkp", None, False), region="eu-west-1",
                              interval="1h", interval_seconds=3600.0), settings)
    assert (own.profile, own.upgrade_profile, own.include_recommended, own.interval, own.region) == (
        "kkp", "kkp-2.31", False, 3600.0, "eu-west-1")
