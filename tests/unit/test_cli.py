"""The CLI contract: flags, JSON shape and exit codes (run in-process through main())."""

import json
from pathlib import Path

import pytest

from credcheck.cli import main

DATA = Path(__file__).resolve().parents[1] / "data"


def write(tmp_path: Path, name: str, doc: object) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


def test_policy_evaluate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pol = write(tmp_path, "p.json", {"Version": "2012-10-17", "Statement": [
        {"Sid": "Region", "Effect": "Allow", "Action": "ec2:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]})
    assert main(["policy", "evaluate", "--policy", pol, "--action", "ec2:RunInstances", "--resource", "*",
                 "--context", "aws:RequestedRegion=eu-west-1", "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "allowed" and out["matchedStatements"] == ["p#Region"]
    assert out["missingContextValues"] == []
    assert main(["policy", "evaluate", "--policy", pol, "--action", "ec2:RunInstances"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "implicitDeny" and out["missingContextValues"] == ["aws:RequestedRegion"]


def test_policy_check_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = (DATA / "kkp-documented-policy.json").read_text()
    assert main(["policy", "check", "--policy", write(tmp_path, "docs.json", raw), "--requirements", "kkp-docs"]) == 1
    assert "iam:PassRole" in capsys.readouterr().out, "YOUR_ACCOUNT_ID matches no real account"
    documented = write(tmp_path, "docs.json", raw.replace("YOUR_ACCOUNT_ID", "111122223333"))
    assert main(["policy", "check", "--policy", documented, "--requirements", "kkp-docs",
                 "--account", "111122223333"]) == 0
    least = (DATA / "kkp-least-privilege-policy.json").read_text().replace("YOUR_ACCOUNT_ID", "111122223333")
    capsys.readouterr()
    assert main(["policy", "check", "--policy", write(tmp_path, "least.json", least), "--requirements", "kkp",
                 "--account", "111122223333", "--output", "json"]) == 1
    out = capsys.readouterr().out
    verdict = json.loads(out[out.index("{"):])
    assert verdict["status"] == "Insufficient"
    features = {f["feature"]: f["missing"] for f in verdict["brokenFeatures"]}
    assert "iam:PassRole" in features["machines"]


def test_malformed_policy_exits_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write(tmp_path, "bad.json", '{"Version": "2012-10-17", "Statement": [')
    assert main(["policy", "evaluate", "--policy", bad, "--action", "ec2:RunInstances"]) == 2
    err = capsys.readouterr().err
    assert "bad.json" in err and "not valid JSON" in err


def test_requirements_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", "kkp", "--format", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.split()[:2] == ["required", "iam:PassRole"] for line in lines)
    assert main(["requirements", "show", "kkp-docs", "--format", "policy", "--account", "111122223333"]) == 0
    doc = json.loads(capsys.readouterr().out)
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "ec2:*" in actions and "iam:PassRole" in actions


def test_requirements_show_lists_identity_context_and_evidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", "kkp-2.31", "--evidence"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# KKP 2.31, Kubernetes 1.36 (assumed: the newest this KKP version supports)")
    line = next(x for x in out.splitlines() if x.split()[:2] == ["required", "sts:AssumeRole"])
    assert "role/kubernetes-*-control-plane" in line and " keys " in line
    assert "evidence: kubermatic/kubermatic@v2.31.0:pkg/resources/cloudconfig/aws/cloudconfig.go:41" in out
    passrole = next(x for x in out.splitlines() if x.split()[:2] == ["required", "iam:PassRole"])
    assert "iam:PassedToService=ec2.amazonaws.com" in passrole


def cluster_manifest(tmp_path: Path, **aws: object) -> str:
    doc = {"apiVersion": "kubermatic.k8c.io/v1", "kind": "Cluster", "metadata": {"name": "abc"},
           "spec": {"version": "1.32.9", "cloud": {"dc": "aws-frankfurt", "providerName": "aws",
                                                    "aws": {"roleARN": "team-cp", **aws}}}}
    return write(tmp_path, "cluster.yaml", doc)


def seed_manifest(tmp_path: Path) -> str:
    return write(tmp_path, "seed.json", {"kind": "Seed", "metadata": {"name": "s"}, "spec": {"datacenters": {
        "aws-frankfurt": {"spec": {"aws": {"region": "eu-central-1"}}}}}})


def test_requirements_show_for_a_cluster_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["requirements", "show", "kkp-2.30", "--account", "111122223333", "--cluster",
            cluster_manifest(tmp_path), "--seed", seed_manifest(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Kubernetes 1.32: cloud-controller-manager v1.32.1, direct mode" in out
    assert "arn:aws:iam::111122223333:role/team-cp" in out
    assert "arn:aws:ec2:eu-central-1:111122223333:security-group/*" in out
    assert main([*args, "--region", "us-west-2"]) == 0
    assert "arn:aws:ec2:us-west-2:111122223333:security-group/*" in capsys.readouterr().out, "--region still wins"


def test_cluster_manifest_of_the_wrong_kind_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", "--cluster", seed_manifest(tmp_path)]) == 2
    assert "expected a KKP Cluster manifest" in capsys.readouterr().err
