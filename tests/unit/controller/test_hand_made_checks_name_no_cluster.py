"""A check written by hand may name any KKP Cluster (spec.clusters): only a discovered check's Clusters are KKP's own
for its credential, so only they get per-Cluster alert series (credcheck_cluster_not_ready). Plain values."""

from credcheck.controller.recheck import record_of
from credcheck.kube.check_status import CheckStatus

BROKEN = {"conditions": [{"type": "CredentialsValid", "status": "False", "reason": "InvalidClientTokenId"},
                         {"type": "PermissionsSufficient", "status": "Unknown", "reason": "InvalidClientTokenId"},
                         {"type": "Ready", "status": "False", "reason": "InvalidClientTokenId"}],
          "clusters": [{"name": "someone-elses"}]}


def body(discovered: bool) -> dict[str, object]:
    labels = {"credcheck.io/discovered": "true"} if discovered else {}
    return {"metadata": {"namespace": "kubermatic", "name": "c", "labels": labels},
            "spec": {"source": {"secretRef": {"name": "credential-aws-c"}}}, "status": BROKEN}


def test_a_discovered_checks_broken_cluster_is_kept_for_its_alert_series() -> None:
    kept = record_of("6h")(body(discovered=True)).status.to_dict()
    assert kept["clusters"] == [{"name": "someone-elses", "ready": "False"}]


def test_a_hand_made_check_keeps_no_cluster_so_it_raises_no_alert_about_one() -> None:
    kept = record_of("6h")(body(discovered=False)).status
    assert kept.clusters == ()
    assert kept.conditions == CheckStatus.from_dict(BROKEN).conditions, "its own condition series stay"
