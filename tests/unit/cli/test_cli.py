"""The CLI contract: flags, JSON shape and exit codes (run in-process through main())."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeKube

from credcheck.cli.main import Exit, exit_code, main
from credcheck.engine.action_result import ACTION_FIELDS
from credcheck.engine.model import Outcome, Status, Verdict
from credcheck.kube.check_status import CheckStatus
from credcheck.kube.status import build_status, consecutive_failures

DATA = Path(__file__).resolve().parents[2] / "data"


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
    raw = (DATA / "kkp-documented-policy-2.22.json").read_text()
    assert main(["policy", "check", "--policy", write(tmp_path, "docs.json", raw), "--requirements", "kkp-docs-2.22"]) == 1
    assert "iam:PassRole" in capsys.readouterr().out, "YOUR_ACCOUNT_ID matches no real account"
    documented = write(tmp_path, "docs.json", raw.replace("YOUR_ACCOUNT_ID", "111122223333"))
    assert main(["policy", "check", "--policy", documented, "--requirements", "kkp-docs-2.22",
                 "--account", "111122223333"]) == 0
    least = (DATA / "kkp-least-privilege-policy.json").read_text().replace("YOUR_ACCOUNT_ID", "111122223333")
    capsys.readouterr()
    assert main(["policy", "check", "--policy", write(tmp_path, "least.json", least), "--requirements", "kkp",
                 "--account", "111122223333", "--output", "json"]) == 1
    out = capsys.readouterr().out
    verdict = json.loads(out[out.index("{"):])
    assert verdict["verdict"] == "Insufficient"
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
    assert out.startswith("# KKP 2.31, Kubernetes 1.33: cloud-controller-manager v1.33.2, assume-role mode")
    assert "# KKP 2.31, Kubernetes 1.36: cloud-controller-manager v1.35.2, assume-role mode" in out
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
    assert "Kubernetes 1.32: cloud-controller-manager v1.32.1, hybrid mode" in out
    assert "arn:aws:iam::111122223333:role/team-cp" in out
    assert "arn:aws:ec2:eu-central-1:111122223333:security-group/*" in out
    assert main([*args, "--region", "us-west-2"]) == 0
    assert "arn:aws:ec2:us-west-2:111122223333:security-group/*" in capsys.readouterr().out, "--region still wins"


def test_cluster_manifest_of_the_wrong_kind_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", "--cluster", seed_manifest(tmp_path)]) == 2
    assert "expected a KKP Cluster manifest" in capsys.readouterr().err


def test_a_cluster_or_seed_manifest_with_a_field_of_the_wrong_type_is_a_usage_error_naming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "show", "--cluster", cluster_manifest(tmp_path, vpcID=["vpc-1"])]) == 2
    assert capsys.readouterr().err.strip().endswith("Cluster abc: spec.cloud.aws.vpcID is a list, not a string")
    seed = write(tmp_path, "seed.json", {"kind": "Seed", "metadata": {"name": "s"}, "spec": {"datacenters": []}})
    assert main(["requirements", "show", "--cluster", cluster_manifest(tmp_path), "--seed", seed]) == 2
    assert capsys.readouterr().err.strip().endswith("Seed s: spec.datacenters is a list, not an object")



# --- exit codes: one table (cli.Exit), every command ----------------------------------------------------------------

def test_the_exit_code_table() -> None:
    assert {s.value: exit_code(s) for s in Status} == {"Sufficient": 0, "Insufficient": 1, "Misconfigured": 2,
                                                      "Invalid": 3, "Unknown": 4}
    assert (Exit.USAGE, Exit.BROKEN_PIPE) == (2, 128 + 13)
    with pytest.raises(SystemExit) as usage:
        main(["policy", "check"])  # argparse's own usage error (--policy is required): the same 2
    assert usage.value.code == Exit.USAGE


UNDECIDED = {"Version": "2012-10-17", "Statement": [{"Sid": "OnlyFromTheVpc", "Effect": "Allow", "Action": "*",
                                                     "Resource": "*",
                                                     "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0123"}}}]}


def test_policy_check_exits_4_when_undecided_like_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A condition on a key KKP's requests never carry: neither missing nor allowed, Unknown; `check` says 4 too."""
    args = ["policy", "check", "--policy", write(tmp_path, "vpc.json", UNDECIDED), "--account", "111122223333",
            "--output", "json"]
    assert main(args) == 4
    verdict = json.loads(capsys.readouterr().out)
    ready = next(c for c in verdict["conditions"] if c["type"] == "Ready")
    assert (verdict["verdict"], ready["reason"]) == ("Unknown", "UndecidedByAWS")
    assert main([*args, "--requirements", "no-such-profile"]) == 2, "a usage error stays 2"


def test_policy_check_json_names_actions_as_the_status_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    least = (DATA / "kkp-least-privilege-policy.json").read_text().replace("YOUR_ACCOUNT_ID", "111122223333")
    assert main(["policy", "check", "--policy", write(tmp_path, "least.json", least), "--requirements", "kkp",
                 "--account", "111122223333", "--output", "json"]) == 1
    entries = [e for e in json.loads(capsys.readouterr().out)["missing"] if e["severity"] == "required"]
    assert entries and all(set(e) <= set(ACTION_FIELDS) for e in entries)
    assert {e["reason"] for e in entries} <= {o.value for o in Outcome}
    assert not any("outcome" in e or "missingContext" in e for e in entries)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Keys in the environment, no profile files, no instance metadata: boto3 reads them without any network."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    return monkeypatch


@pytest.mark.parametrize(("status", "code"), [(Status.SUFFICIENT, 0), (Status.INSUFFICIENT, 1), (Status.INVALID, 3),
                                              (Status.UNKNOWN, 4)])
def test_check_exits_by_the_verdict(aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                    status: Status, code: int) -> None:
    """Offline: the AWS part (run_check) answers with a plain verdict; the command maps it."""
    import credcheck.engine.check  # noqa: PLC0415

    aws_env.setattr(credcheck.engine.check, "run_check", lambda credential, options: Verdict(status, "Because", "said so"))
    assert main(["check", "--output", "json"]) == code
    assert json.loads(capsys.readouterr().out)["verdict"] == status.value


def test_check_exit_codes_without_aws(aws_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import credcheck.engine.check  # noqa: PLC0415

    def engine_bug(credential: object, options: object) -> Verdict:
        raise KeyError("boom")

    aws_env.setattr(credcheck.engine.check, "run_check", engine_bug)
    assert main(["check"]) == 4
    assert capsys.readouterr().err.startswith("Unknown: CheckFailed")
    assert main(["check", "--secret", "no-slash"]) == 2
    assert main(["check", "--requirements", "no-such-profile"]) == 2
    assert main(["check", "--profile", "no-such-profile"]) == 2
    assert "could not be found" in capsys.readouterr().err
    aws_env.delenv("AWS_ACCESS_KEY_ID")
    aws_env.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["check"]) == 3
    assert capsys.readouterr().err.startswith("Invalid: MalformedCredential")
    assert main(["check", "--requirements", "no-such-profile"]) == 2, "the command line is judged before the key"


def test_a_bug_is_a_traceback_and_unknown_never_insufficient(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import credcheck.cli.main  # noqa: PLC0415

    def broken(_: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(credcheck.cli.main, "load_catalog", broken)
    assert main(["catalog"]) == 4
    assert "Traceback" in capsys.readouterr().err


def stored_check(verdict: Verdict) -> dict[str, Any]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return {"metadata": {"namespace": "kubermatic", "name": "c"},
            "status": build_status(verdict, CheckStatus(), now=now, next_check=now, generation=1, masked_key_id=None,
                                   clusters=[], profile="kkp",
                                   failures=consecutive_failures(CheckStatus(), verdict)).to_dict()}


@pytest.mark.parametrize(("status", "code"), [(Status.SUFFICIENT, 0), (Status.INSUFFICIENT, 1),
                                              (Status.MISCONFIGURED, 2), (Status.INVALID, 3), (Status.UNKNOWN, 4)])
def test_explain_exits_as_check_would(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                      status: Status, code: int) -> None:
    import credcheck.kube.client  # noqa: PLC0415

    kube = FakeKube(stored_check(Verdict(status, "Because", "said so")))
    monkeypatch.setattr(credcheck.kube.client, "Kube", lambda _login: kube)
    assert main(["explain", "kubermatic/c"]) == code
    assert main(["explain", "kubermatic/other"]) == 2
    capsys.readouterr()


# --- a reader that goes away ----------------------------------------------------------------------------------------

def _entry_points() -> list[list[str]]:
    """The console script pyproject.toml installs (credcheck = credcheck.entry:main), `python -m credcheck` and
    `python -m credcheck.cli.main`."""
    script = Path(sys.executable).with_name("credcheck")
    return ([[str(script)]] if script.exists() else []) + [[sys.executable, "-m", "credcheck"],
                                                           [sys.executable, "-m", "credcheck.cli.main"]]


def _env(buffered: bool) -> dict[str, str]:
    """stdout block-buffered, as usual in a pipe, or written through (PYTHONUNBUFFERED, as in some CI and here)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return env if buffered else {**env, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("entry", _entry_points(), ids=lambda e: Path(e[-1]).name)
def test_a_closed_pipe_ends_quietly_with_141(entry: list[str], buffered: bool,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """`credcheck requirements show … | head -1`: no traceback, 128 + SIGPIPE."""
    args = ["requirements", "show", "kkp", "--format", "list", "--evidence", "--include-recommended"]
    assert main(args) == 0
    assert len(capsys.readouterr().out) > 2 * 65536, "twice what a pipe holds: the writer is still writing"
    proc = subprocess.Popen([*entry, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(buffered))
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"# KKP")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err and err == ""


@pytest.mark.parametrize(("args", "buffered"), [(["catalog"], True), (["catalog"], False), (["--help"], True)],
                         ids=["catalog-buffered", "catalog-unbuffered", "help-buffered"])
def test_a_pipe_closed_before_the_only_write_ends_quietly_too(args: list[str], buffered: bool) -> None:
    """Short output is written once, buffered: by the last flush, which then fails inside main, not at interpreter
    exit ("Exception ignored … BrokenPipeError", exit 120). (Unbuffered, argparse ignores a failed --help itself.)"""
    proc = subprocess.Popen([sys.executable, "-m", "credcheck.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(buffered))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the interpreter has even started: no reader is left for any write
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""


def test_requirements_show_for_a_cluster_with_assume_role_grants_assuming_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    role = "arn:aws:iam::444455556666:role/kkp-provisioner"
    args = ["requirements", "show", "kkp-2.31", "--account", "111122223333", "--format", "policy", "--cluster",
            cluster_manifest(tmp_path, assumeRoleARN=role, assumeRoleExternalID="kkp-hidden-external-id-7")]
    assert main(args) == 0
    statements = json.loads(capsys.readouterr().out)["Statement"]
    assert any("sts:AssumeRole" in st["Action"] and role in ([st["Resource"]] if isinstance(st["Resource"], str)
                                                             else st["Resource"]) for st in statements)
    assert "kkp-hidden-external-id-7" not in json.dumps(statements), "the external ID is not part of the policy"


def test_the_checks_flags_reach_the_engine_through_check_options(aws_env: pytest.MonkeyPatch) -> None:
    """`credcheck check` assembles its options with the operator's check_options(): an auditor from its flags, the
    flags' lists as tuples, and none of the operator's own keywords (rate limit, key facts, excess questions)."""
    import credcheck.engine.check  # noqa: PLC0415
    from credcheck.engine.check import CheckOptions  # noqa: PLC0415

    seen: list[CheckOptions] = []
    aws_env.setattr(credcheck.engine.check, "run_check",
                    lambda credential, options: seen.append(options) or Verdict(Status.SUFFICIENT, "Ok", "ok"))
    role = "arn:aws:iam::{account}:role/credcheck-auditor"
    assert main(["check", "--auditor-role-arn", role, "--skip-feature", "iam-reconciling", "--region", "eu-west-1",
                 "--seed-egress-cidr", "192.0.2.0/24", "--output", "json"]) == 0
    options = seen[0]
    auditor = options.auditor
    assert auditor is not None
    assert (auditor.aws_profile, auditor.role_arn) == (None, role)
    assert options.skip_features == ("iam-reconciling",) and options.region == "eu-west-1"
    assert options.seed_egress == ("192.0.2.0/24",)
    assert (options.limiter, options.key_facts, options.excess_permissions) == (
        None, None, False)
