"""Discovery owns only what it made (issue 33), on the real apiserver calling the chart's webhook configuration:
the label credcheck.io/discovered, which makes discovery rewrite and delete a check, is set by credcheck alone (a
user's label or un-label is refused); a check a user made with a discovered name keeps its spec and gets a
DiscoveryConflict condition and a log line; a terminating check is still judged."""

import json
import uuid
from pathlib import Path

import pytest

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane

from .conftest import GOOD_POLICY, NS, Seed, wait_for
from .test_webhook import (
    operator,
    webhook,  # noqa: F401 - the module's fixture: the chart's webhook configuration
)

pytestmark = [pytest.mark.cluster, pytest.mark.aws]


def manifest(name: str, secret: str, labels: dict[str, str] | None = None) -> str:
    return json.dumps({"apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
                       "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
                       "spec": {"source": {"secretRef": {"name": secret}}}})


def test_only_credcheck_labels_a_check_discovered_and_a_premade_one_is_told_not_silently_skipped(
        control_plane: ControlPlane, local_aws: LocalAWS, webhook: tuple[Path, int], tmp_path: Path) -> None:  # noqa: F811
    run = uuid.uuid4().hex[:6]
    with operator(control_plane, local_aws, tmp_path, webhook, webhook_mode="warn") as op:
        seed = Seed(control_plane, local_aws, op.log, control_plane.state, [], op.metrics_url)
        # a user (the admin, not credcheck's ServiceAccount) may not plant or remove the label
        planted = seed.kubectl("create", "-f", "-", input_text=manifest(
            f"planted-{run}", f"credential-aws-a{run}", {"credcheck.io/discovered": "true"}), check=False)
        assert planted.returncode != 0 and "credcheck.io/discovered" in planted.stderr, planted.stderr
        seed.kubectl("create", "-f", "-", input_text=manifest(f"mine-{run}", f"credential-aws-a{run}"))
        relabelled = seed.kubectl("label", "awscc", f"mine-{run}", "-n", NS, "credcheck.io/discovered=true",
                                  check=False)
        assert relabelled.returncode != 0 and "credcheck.io/discovered" in relabelled.stderr, relabelled.stderr

        # discovery's own writes pass the same webhook
        keys = seed.user(GOOD_POLICY)
        seed.kkp_secret(f"credential-aws-d{run}", keys)
        wait_for(lambda: (seed.check(f"credential-aws-d{run}") or {}).get("metadata", {}).get("labels", {})
                 .get("credcheck.io/discovered") == "true", "discovery's check")
        removed = seed.kubectl("label", "awscc", f"credential-aws-d{run}", "-n", NS, "credcheck.io/discovered-",
                               check=False)
        assert removed.returncode != 0, "nor may a user take a check away from discovery"

        # a check pre-made under the name discovery would use: left alone, and it says so
        premade = f"credential-aws-p{run}"
        seed.kubectl("create", "-f", "-", input_text=json.dumps({
            "apiVersion": "credcheck.io/v1alpha1", "kind": "AWSCredentialCheck",
            "metadata": {"name": premade, "namespace": NS},
            "spec": {"source": {"secretRef": {"name": premade}}, "suspend": False}}))
        seed.kkp_secret(premade, keys)
        wait_for(lambda: seed.condition(premade, "DiscoveryConflict") == ("True", "NameTaken"),
                 "the DiscoveryConflict condition", timeout=60)
        stored = seed.check(premade)
        log = op.log.read_text()
    assert stored is not None and "credcheck.io/discovered" not in (stored["metadata"].get("labels") or {})
    assert "was not made by discovery" in log and premade in log
    seed.kubectl("delete", "awscc", f"mine-{run}", premade, f"credential-aws-d{run}", "-n", NS, "--wait=false",
                 check=False)
