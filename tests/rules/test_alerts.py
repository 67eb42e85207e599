"""The alert rules, tested with promtool (Debian's prometheus package) on the one rules file the chart's
PrometheusRule and rules ConfigMap carry, rendered as the chart renders it; every alert has a test, a runbook section
and the labels and annotations KKP's Alertmanager reads (docs/operations.md#alert-conventions)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from credcheck_testground import monitoring

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = "https://runbooks.example/credcheck/runbook.md"
RULE = {"spec": monitoring.shipped_rules(RUNBOOK)}
ALERTS = [r["alert"] for g in RULE["spec"]["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_rule_tests(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package (apt-get install prometheus)")
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(RULE["spec"]))
    shutil.copy(Path(__file__).parent / "credcheck.test.yaml", tmp_path)
    check = subprocess.run([promtool, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    result = subprocess.run([promtool, "test", "rules", "credcheck.test.yaml"], cwd=tmp_path, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_and_has_a_runbook_section() -> None:
    tests = (Path(__file__).parent / "credcheck.test.yaml").read_text()
    runbook = (REPO / "docs" / "runbook.md").read_text()
    anchors = {re.sub(r"[^a-z0-9-]", "", line[3:].strip().lower().replace(" ", "-"))
               for line in runbook.splitlines() if line.startswith("## ")}
    assert len(ALERTS) >= 6
    for alert in ALERTS:
        assert f"alertname: {alert}" in tests, f"{alert} has no promtool test"
        assert alert.lower() in anchors, f"{alert} has no runbook section"
    for group in RULE["spec"]["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook_url"] == f"{RUNBOOK}#{rule['alert'].lower()}"


def test_every_alert_carries_what_kkps_alertmanager_reads() -> None:
    """KKP's Slack template prints .Annotations.message and links .Annotations.runbook_url; its route groups by
    cluster and drops severity none; KKP's own rules label severity, service and resource
    (testground/credcheck_testground/kkp_seed/README.md names the files at kubermatic v2.31.0)."""
    for group in RULE["spec"]["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"].get("message"), f"{rule['alert']} has no message"
            assert {"summary", "description"} <= set(rule["annotations"])
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert rule["labels"]["service"] == "credcheck" and rule["labels"].get("resource"), rule["alert"]
            assert "$labels.namespace" not in str(rule), f"{rule['alert']} reads the scrape's namespace"
            assert not re.search(r"\bnamespace\b(?!\w)", rule["expr"].replace("check_namespace", "")), rule["alert"]


def test_without_a_runbook_base_url_the_alerts_carry_no_link_rather_than_a_dead_one() -> None:
    bare = monitoring.shipped_rules()
    assert all("runbook_url" not in r["annotations"] for g in bare["groups"] for r in g["rules"])
    assert [r["alert"] for g in bare["groups"] for r in g["rules"]] == ALERTS
