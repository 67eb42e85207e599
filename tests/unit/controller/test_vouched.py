"""Only discovered checks vouch for their Clusters' control-plane roles (issue 33): the operator hands the auditor a
role to simulate (and to read CloudTrail denials of) only for them, and such a verdict is never shared with a
user's check of the same credential and Clusters."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from fakes import FakeKube

from credcheck.controller.effective import effective
from credcheck.controller.reconcile import CheckRequest, prepare
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine.target import Target
from credcheck.kube.spec import CheckSpec, SecretSource

KEYS = {"accessKeyId": b"AKIAIOSFODNN7EXAMPLE", "secretAccessKey": b"x" * 40}


def request(vouched: bool) -> CheckRequest:
    settings = Settings()
    runtime = Runtime(settings, FakeKube(secrets={("kubermatic", "credential-aws-x"): KEYS}), VerdictCache(0),
                      ThreadPoolExecutor(1))
    spec = CheckSpec(SecretSource("credential-aws-x"),
                     clusters=(Target(cluster="abc", control_plane_role="team-control-plane"),))
    found = prepare(runtime, "kubermatic", replace(effective(spec, settings), vouched=vouched))
    assert isinstance(found, CheckRequest)
    return found


def test_only_a_discovered_check_lets_the_auditor_simulate_its_clusters_roles() -> None:
    user, discovered = request(False), request(True)
    assert user.options.audit_roles is False and discovered.options.audit_roles is True
    assert user.key != discovered.key, "a user's check never gets a discovered check's verdict from the cache"
