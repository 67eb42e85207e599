"""The evaluator against golden cases written from AWS's documentation (golden.yaml beside this file)."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from credcheck.engine.iam.evaluator import evaluate, make_request
from credcheck.engine.iam.policy import parse_policy

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "golden.yaml").read_text())


def _policies(case: dict[str, Any]) -> list[dict[str, Any]]:
    if "p" in case:
        return [{"Version": "2012-10-17", "Statement": case["p"]}]
    return list(case["policies"])


def test_there_are_enough_golden_cases() -> None:
    assert len(CASES) >= 60
    assert len({c["name"] for c in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden(case: dict[str, Any]) -> None:
    identity = [parse_policy(doc, f"policy-{i}") for i, doc in enumerate(_policies(case))]
    boundary = parse_policy(case["boundary"], "boundary", "PermissionsBoundaryPolicy") if "boundary" in case else None
    scps = ([parse_policy(doc, f"scp-{i}", "Organizations") for i, doc in enumerate(case["scps"])]
            if "scps" in case else None)
    request = make_request(case["action"], case.get("resource", "*"), case.get("context"))

    result = evaluate(request, identity, boundary, scps)

    assert result.decision == case["decision"]
    if "matched" in case:
        assert [s.sid for s in result.matched_statements] == case["matched"]
    if "missing" in case:
        assert list(result.missing_context_values) == case["missing"]
    if "boundary_allowed" in case:
        assert result.allowed_by_boundary is case["boundary_allowed"]
    if "organizations_allowed" in case:
        assert result.allowed_by_organizations is case["organizations_allowed"]
