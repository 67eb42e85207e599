"""`credcheck requirements show --kkp-versions`, and what `check` reads as the KKP version a Seed or Cluster reports."""

import pytest

from credcheck.cli.main import _reported_kkp_versions, main


def test_requirements_show_kkp_versions_prints_every_profiles_kubernetes_minors(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", "--kkp-versions"]) == 0
    out = capsys.readouterr().out
    assert "kkp-2.31   2.31   1.36        v1.35.2   assume-role" in out
    assert "kkp-2.30: calls read from" in out and "kubermatic/kubermatic@v2.30.0" in out


def test_check_reads_the_kkp_version_a_seed_and_a_cluster_report() -> None:
    seed = {"metadata": {"name": "europe"}, "status": {"versions": {"kubermatic": "v2.32.0", "cluster": "v1.33.1"}}}
    cluster = {"metadata": {"name": "abc"}, "status": {"conditions": {
        "ClusterControllerReconciledSuccessfully": {"status": "True", "kubermaticVersion": "v2.31.0"},
        "SeedResourcesUpToDate": {"status": "True", "kubermaticVersion": "v2.31.0"}}}}
    assert _reported_kkp_versions(cluster, seed) == {"Seed europe": "v2.32.0", "Cluster abc": "v2.31.0"}
    assert _reported_kkp_versions({"metadata": {"name": "x"}}, None) == {}
