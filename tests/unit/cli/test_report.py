"""`credcheck check`'s output (cli/report.py): a Verdict as JSON-ready data and as a text table (plain values in)."""

import json
from dataclasses import replace
from typing import Any

from credcheck.cli.report import verdict_to_dict, verdict_to_text
from credcheck.engine.model import (
    ActionResult,
    ClusterVerdict,
    ObservedDenial,
    ObservedDenials,
    Outcome,
    Principal,
    Requirement,
    Severity,
    Status,
    Verdict,
)

ROLE = "arn:aws:iam::111122223333:role/kubernetes-*"
USER = Principal("arn:aws:iam::111122223333:user/kkp", "arn:aws:iam::111122223333:user/kkp", "111122223333", "aws",
                 "user")
GRANT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": ROLE}]}


def req(action: str, severity: Severity = Severity.REQUIRED, feature: str = "machines", resource: str = "*") -> Requirement:
    return Requirement(action, resource, severity, (feature,), action)


def result(action: str, outcome: Outcome, severity: Severity = Severity.REQUIRED, **kw: str) -> ActionResult:
    return ActionResult(req(action, severity, **kw), outcome)


RESULTS = (
    result("ec2:DescribeInstances", Outcome.ALLOWED),
    result("iam:PassRole", Outcome.IMPLICIT_DENY, resource=ROLE),
    result("ec2:RunInstances", Outcome.MISSING_CONTEXT),  # undecided: neither allowed nor missing
    result("ec2:RequestSpotInstances", Outcome.IMPLICIT_DENY, Severity.RECOMMENDED, feature="spot"),
)


def verdict(**kw: Any) -> Verdict:
    base = Verdict(Status.INSUFFICIENT, "MissingPermissions", "machines: missing iam:PassRole", USER, RESULTS,
                   {"machines": ("iam:PassRole",)}, GRANT, aws_calls={"iam:SimulatePrincipalPolicy": 1},
                   simulated_by="self", profile_version="2.31")
    return replace(base, **kw)


def test_json_is_the_status_shape_missing_required_first_and_counts_the_undecided() -> None:
    out = verdict_to_dict(verdict(), profile="kkp")
    assert out["summary"] == {"checked": 4, "allowed": 1, "missingRequired": 1, "missingRecommended": 1,
                              "undecided": 1}
    required = [e for e in out["missing"] if e["severity"] == "required"]
    assert [e["action"] for e in required] == ["ec2:RunInstances", "iam:PassRole"], "by name; undecided too"
    assert out["missing"][:2] == required, "required first"
    assert required[1] == {"action": "iam:PassRole", "resource": ROLE, "reason": "implicitDeny",
                           "severity": "required", "features": ["machines"]}
    assert required[0]["reason"] == "missingContext", "an undecided action says so: it is not a denial"
    assert [e["action"] for e in out["missing"] if e["severity"] == "recommended"] == ["ec2:RequestSpotInstances"]
    assert out["brokenFeatures"] == [{"feature": "machines", "missing": ["iam:PassRole"]}]
    ready = next(c for c in out["conditions"] if c["type"] == "Ready")
    assert (out["verdict"], ready["status"], ready["reason"], out["kkpVersion"], out["profile"]) == (
        "Insufficient", "False", "MissingPermissions", "2.31", "kkp")
    assert out["principal"] == {"arn": USER.caller_arn, "policySource": USER.policy_source_arn,
                                "account": "111122223333", "partition": "aws", "type": "user"}
    assert json.loads(out["remediationPolicy"]) == GRANT, "a policy document as JSON text, as the status stores it"
    assert out["awsCalls"] == {"iam:SimulatePrincipalPolicy": 1}
    assert json.loads(json.dumps(out)) == out, "JSON-ready: tuples became lists, nothing else to convert"


def test_json_says_no_upgrade_or_observed_denials_unless_the_verdict_has_them() -> None:
    plain = verdict_to_dict(replace(verdict(), principal=None))
    assert plain["upgrade"] is None and plain["observedDenials"] is None and plain["principal"] is None
    upgrade = replace(verdict(), profile_version="2.32", status=Status.SUFFICIENT, reason="AllRequiredAllowed",
                      results=(result("iam:PassRole", Outcome.ALLOWED),), remediation=None)
    observed = ObservedDenials("Observed", "1 refused call", 24, ("eu-central-1",),
                               (ObservedDenial("ec2:RunInstances", "eu-central-1", "AccessDenied", 3,
                                               "2026-01-02T03:04:05Z"),))
    full = verdict_to_dict(verdict(upgrade=upgrade, observed_denials=observed), profile="kkp",
                           upgrade_profile="kkp-2.32")
    assert full["upgrade"] == {"profile": "kkp-2.32", "kkpVersion": "2.32", "missingRequired": 0, "missing": [],
                               "remediationPolicy": None}
    assert [c["status"] for c in full["conditions"] if c["type"] == "UpgradeReady"] == ["True"]
    assert full["observedDenials"]["denials"] == [{"action": "ec2:RunInstances", "count": 3,
                                                   "lastSeen": "2026-01-02T03:04:05Z", "region": "eu-central-1",
                                                   "errorCode": "AccessDenied"}]


def test_json_counts_of_a_compacted_verdict_are_the_whole_checks_not_the_kept_rows() -> None:
    many = tuple(result(f"ec2:Action{i:02d}", Outcome.IMPLICIT_DENY) for i in range(12))
    out = verdict_to_dict(verdict(results=many).compact(listed=3))
    assert out["summary"]["checked"] == 12 and out["summary"]["missingRequired"] == 12
    assert len(out["missing"]) == 3


def test_json_lists_every_missing_action_the_status_only_the_first_fifty() -> None:
    many = tuple(result(f"ec2:Action{i:02d}", Outcome.IMPLICIT_DENY) for i in range(60))
    assert len(verdict_to_dict(verdict(results=many))["missing"]) == 60


def test_json_clusters_carry_what_each_cluster_lacks() -> None:
    cluster = ClusterVerdict("abc", Status.INSUFFICIENT, "eu-central-1", "1.34", "assume-role (CCM v1.34.0)",
                             missing=("sts:AssumeRole",), notes=("created before KKP v2.30",))
    assert verdict_to_dict(verdict(clusters=(cluster,)))["clusters"] == [{
        "name": "abc", "ready": "False", "region": "eu-central-1", "kubernetes": "1.34",
        "cloudController": "assume-role (CCM v1.34.0)", "missing": ["sts:AssumeRole"],
        "notes": ["created before KKP v2.30"]}]


def test_text_starts_with_the_verdict_and_names_who_simulated_only_when_another_principal_did() -> None:
    lines = verdict_to_text(verdict()).splitlines()
    assert lines[:3] == ["Insufficient: MissingPermissions", "  machines: missing iam:PassRole",
                         f"  principal: {USER.caller_arn} (simulated as {USER.policy_source_arn})"]
    auditor = "arn:aws:iam::111122223333:role/auditor"
    assert f"(simulated as {USER.policy_source_arn}, by {auditor})" in verdict_to_text(verdict(simulated_by=auditor))
    assert "principal:" not in verdict_to_text(verdict(principal=None))


def test_text_lists_required_groups_before_recommended_and_never_the_allowed() -> None:
    text = verdict_to_text(verdict())
    assert "  4 actions checked: 1 allowed, 1 required missing, 1 recommended missing" in text
    headings = [line for line in text.splitlines() if line.startswith(("REQUIRED —", "RECOMMENDED —"))]
    assert headings == ["REQUIRED — implicitDeny (1)", "REQUIRED — missingContext (1)",
                        "RECOMMENDED — implicitDeny (1)"]
    assert "iam:PassRole" in text and "ec2:RequestSpotInstances" in text
    assert "ec2:DescribeInstances" not in text, "allowed actions are not listed"


def test_text_cuts_a_long_group_and_says_how_many_more() -> None:
    many = tuple(result(f"ec2:Action{i:02d}", Outcome.IMPLICIT_DENY) for i in range(7))
    text = verdict_to_text(verdict(results=many), max_rows=5)
    listed = [line for line in text.splitlines() if line.startswith("  ec2:Action")]
    assert [line.split()[0] for line in listed] == [f"ec2:Action{i:02d}" for i in range(5)]
    assert "  … and 2 more (use --output json for all)" in text
    assert "more (use --output json" not in verdict_to_text(verdict(results=many), max_rows=7)


def test_text_ends_with_blockers_the_policy_to_add_and_the_upgrade() -> None:
    upgrade = replace(verdict(), profile_version="2.32", reason="MissingForTargetVersion", message="machines")
    text = verdict_to_text(verdict(blockers=("an SCP denies ec2:RunInstances",), upgrade=upgrade))
    assert "\nblocked: an SCP denies ec2:RunInstances" in text
    assert "\nto grant what is missing, add:\n" + json.dumps(GRANT, indent=2) in text
    assert text.endswith("upgrade to KKP 2.32: Insufficient: MissingForTargetVersion\n  machines\n"
                         "  to be ready, add:\n" + json.dumps(GRANT, indent=2))
    assert "to grant what is missing" not in verdict_to_text(verdict(remediation=None))


def test_text_shows_clusters_and_observed_denials() -> None:
    direct = ClusterVerdict("abc", Status.INSUFFICIENT, "eu-central-1", "1.33", "direct (CCM v1.33.0)",
                            missing=("ec2:CreateTags",), undecided=("ec2:RunInstances",), notes=("a note",))
    bare = ClusterVerdict("xyz", Status.SUFFICIENT, "us-east-1", None, None)
    observed = ObservedDenials("Observed", "1 refused call", 24, ("eu-central-1",),
                               (ObservedDenial("ec2:RunInstances", "eu-central-1", "AccessDenied", 3,
                                               "2026-01-02T03:04:05Z"),))
    text = verdict_to_text(verdict(clusters=(direct, bare), observed_denials=observed))
    assert ("  cluster abc: Insufficient — region eu-central-1, Kubernetes 1.33, cloud-controller direct (CCM v1.33.0)"
            "; missing ec2:CreateTags; undecided ec2:RunInstances\n    note: a note") in text
    assert "  cluster xyz: Sufficient — region us-east-1\n" in text
    assert ("  AWS refused (CloudTrail, last 24 h): Observed — 1 refused call\n"
            "    - ec2:RunInstances, 3 time(s) in eu-central-1 (AccessDenied, last 2026-01-02T03:04:05Z)") in text
