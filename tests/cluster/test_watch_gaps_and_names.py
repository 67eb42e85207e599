"""Watch gaps and check names, with the operator running for real behind the test ground's API proxy.

`ApiProxy.gap(kind)` makes the operator miss a kind's events and then ends its watches with the API server's 410
Gone (credcheck_testground.apifaults), as a long disconnection or an API server restart would. kopf re-lists after a
410 without DELETED events and keeps what its indexes had: a Secret deleted meanwhile stayed "present", its check was
re-created each time the check's handler deleted it, and a check deleted meanwhile kept its schedule entry and its
metric series. The AWS endpoint decides with credcheck's own evaluator: these tests are about convergence."""

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck.controller.discovery.desired import check_name_for_preset, check_name_for_secret
from credcheck_testground import kkp
from credcheck_testground.apifaults import ApiProxy
from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.install import install_base

from .conftest import GOOD_POLICY, LEAST_POLICY, NS, RunningOperator, Seed, running_operator, wait_for


@pytest.fixture(scope="module")
def gapped(control_plane: ControlPlane, local_aws: LocalAWS,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seed, ApiProxy, RunningOperator]]:
    """An operator that reaches the API server through the proxy, resyncing every 2 s."""
    state = tmp_path_factory.mktemp("gapped")
    proxy = ApiProxy(control_plane, state / "proxy")
    try:
        install_base(control_plane, NS)
        kubeconfig = proxy.kubeconfig(control_plane.service_account_kubeconfig(NS, "credcheck"),
                                      state / "kubeconfig-proxied")
        with running_operator(control_plane, local_aws, state / "operator", resync_interval="2s",
                              env_extra={"KUBECONFIG": str(kubeconfig)}) as op:
            yield Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url), proxy, op
    finally:
        proxy.stop()


def scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def sample(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def wait_resyncs(seed: Seed, count: int = 2) -> None:
    """Until `count` more discovery resyncs have run (each enqueues every key): time for any loop to show."""
    start = sample(scrape(seed.metrics_url), "credcheck_discovery_resyncs_total")
    wait_for(lambda: sample(scrape(seed.metrics_url), "credcheck_discovery_resyncs_total") >= start + count,
             f"{count} more resyncs", timeout=30)


def creations(seed: Seed, name: str) -> int:
    return seed.log.read_text().count(f"discovery: created {NS}/{name}")


def relists(seed: Seed, kind: str, reason: str) -> float:
    return sample(scrape(seed.metrics_url), f'credcheck_watch_relists_total{{kind="{kind}",reason="{reason}"}}')


def test_a_secret_deleted_in_a_watch_gap_loses_its_check_and_nothing_loops(
        gapped: tuple[Seed, ApiProxy, RunningOperator], unique: str) -> None:
    seed, proxy, _ = gapped
    name = f"credential-aws-gap{unique}"
    seed.kkp_secret(name, seed.user(GOOD_POLICY))
    seed.wait_condition(name, ("True", "AllRequiredAllowed"))
    assert creations(seed, name) == 1
    expired = relists(seed, "secrets", "expired")
    wait_for(lambda: proxy.watching("secrets"), "the operator watching Secrets through the proxy")
    with proxy.gap("secrets"):
        seed.kubectl("delete", "secret", name, "-n", NS)
        # the check is re-checked meanwhile: its own read of the Secret finds nothing (404)
        seed.kubectl("annotate", "awscc", name, "-n", NS, f"test/poke={unique}", "--overwrite")
        seed.wait_condition(name, ("False", "SecretNotFound"))
        # the informers list again every minute at most often: a Secret watch is relayed now, the gap ends it
        wait_for(lambda: proxy.watching("secrets"), "a Secret watch relayed in the gap, for the gap to end with 410")
    wait_for(lambda: seed.check(name) is None, "the check gone once the Secret watch is listed again", timeout=30)
    assert proxy.expired["secrets"] >= 1, "the gap really ended a watch with 410"
    assert relists(seed, "secrets", "expired") > expired, "and the operator listed the Secrets again for it"
    wait_resyncs(seed)
    assert seed.check(name) is None, "still gone after two resyncs"
    assert creations(seed, name) == 1, "never re-created: no delete/create loop"


def test_a_check_deleted_in_a_watch_gap_leaves_the_schedule_and_the_metrics(
        gapped: tuple[Seed, ApiProxy, RunningOperator], unique: str) -> None:
    seed, proxy, _ = gapped
    holder, mine = f"holder-{unique}", f"mine-{unique}"
    seed.kkp_secret(holder, seed.user(GOOD_POLICY))
    seed.kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
        "metadata": {"name": mine, "namespace": NS}, "spec": {"source": {"secretRef": {"name": holder}}}}))
    seed.wait_condition(mine, ("True", "AllRequiredAllowed"))
    series = f'credcheck_check_condition{{check_namespace="{NS}",condition="Ready",name="{mine}",status="True"}}'
    wait_for(lambda: series + " 1.0" in scrape(seed.metrics_url), "the check's Ready series")
    served = sample(scrape(seed.metrics_url), "credcheck_checks")
    wait_for(lambda: proxy.watching("awscredentialchecks") >= 2, "kopf's and the informer's watches of checks")
    with proxy.gap("awscredentialchecks"):
        seed.kubectl("delete", "awscc", mine, "-n", NS)
    wait_for(lambda: series not in scrape(seed.metrics_url), "the deleted check's series gone", timeout=30)
    text = scrape(seed.metrics_url)
    assert f'name="{mine}"' not in text, "no series of it is left"
    assert sample(text, "credcheck_checks") == served - 1, "and it left the scheduler's table"


def test_sources_that_map_to_one_name_get_checks_of_their_own_that_stay_put(
        gapped: tuple[Seed, ApiProxy, RunningOperator], unique: str) -> None:
    """`credential-aws-a.b` and `credential-aws-a-b` (and Secret `preset-x` and Preset `x`) used to share one check,
    whose spec.source each resync flipped, re-checking the other credential over AWS each time."""
    seed, _, _ = gapped
    dotted, dashed = f"credential-aws-n{unique}.x", f"credential-aws-n{unique}-x"
    seed.kkp_secret(dotted, seed.user(GOOD_POLICY))
    seed.kkp_secret(dashed, seed.user(LEAST_POLICY))
    preset_secret = f"preset-p{unique}"  # discovered because a Cluster uses it
    seed.kkp_secret(preset_secret, seed.user(GOOD_POLICY))
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(kkp.cluster(f"c{unique}", preset_secret, NS)))
    keys = seed.user(LEAST_POLICY)
    seed.kubectl("apply", "-f", "-", input_text=json.dumps(kkp.preset(
        f"p{unique}", {"accessKeyID": keys.access_key_id, "secretAccessKey": keys.secret_access_key})))
    seed.written.append(keys.secret_access_key)
    names = {dotted: check_name_for_secret(dotted), dashed: check_name_for_secret(dashed),
             preset_secret: check_name_for_secret(preset_secret)}
    preset_check = check_name_for_preset(f"p{unique}")
    assert len({*names.values(), preset_check}) == 4, "four sources, four names"
    seed.wait_condition(names[dotted], ("True", "AllRequiredAllowed"))
    seed.wait_condition(names[dashed], ("False", "MissingPermissions"))
    seed.wait_condition(names[preset_secret], ("True", "AllRequiredAllowed"))
    seed.wait_condition(preset_check, ("False", "MissingPermissions"))
    versions = {n: (seed.check(n) or {})["metadata"]["resourceVersion"] for n in [*names.values(), preset_check]}
    wait_resyncs(seed)
    for source, name in names.items():
        check = seed.check(name)
        assert check is not None and check["spec"]["source"]["secretRef"]["name"] == source
    for name, version in versions.items():
        assert (seed.check(name) or {})["metadata"]["resourceVersion"] == version, f"{name} was rewritten"


def test_a_check_named_by_an_older_rule_is_replaced_by_the_hashed_one(
        gapped: tuple[Seed, ApiProxy, RunningOperator], unique: str, tmp_path: Path) -> None:
    """Before hash suffixes, `credential-aws-o….x`'s check was `credential-aws-o…-x`: discovery takes it over as
    the Secret's own (it reads that Secret), and leaves one check, under the new name."""
    seed, _, _ = gapped
    secret = f"credential-aws-o{unique}.x"
    old = secret.replace(".", "-")
    seed.kubectl("apply", "-f", "-", input_text=json.dumps({
        "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
        "metadata": {"name": old, "namespace": NS, "labels": {"credcheck.io/discovered": "true"}},
        "spec": {"source": {"secretRef": {"name": secret}}, "suspend": True}}))
    seed.kkp_secret(secret, seed.user(GOOD_POLICY))
    seed.wait_condition(check_name_for_secret(secret), ("True", "AllRequiredAllowed"))
    wait_for(lambda: seed.check(old) is None, "the old-named check removed")
