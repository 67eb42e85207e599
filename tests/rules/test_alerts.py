"""The PrometheusRule's alerts, tested with promtool (Debian's prometheus package); every alert has a test and a
runbook section."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULE = {"spec": yaml.safe_load((REPO / "deploy" / "helm" / "credcheck" / "files" / "rules.yaml").read_text())}
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
            assert rule["annotations"]["runbook_url"] == f"docs/runbook.md#{rule['alert'].lower()}"
