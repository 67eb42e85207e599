"""The offline commands start fast because they never load boto3, botocore, kopf or urllib3 (~0.4 s of imports):
a structural guard, in a fresh interpreter; bench/start.py measures the times (target <= 0.3 s)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("boto3", "botocore", "kopf", "urllib3", "aiohttp", "kubernetes")
PROBE = f"""
import json, sys, contextlib, io
from credcheck.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit_:
        code = exit_.code
print(json.dumps({{"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})}}))
"""


@pytest.mark.parametrize("argv", [
    ["--help"], ["catalog"], ["requirements", "show", "kkp-2.31"], ["requirements", "show", "kkp", "--format", "policy"],
    ["policy", "evaluate", "--policy", "tests/data/kkp-documented-policy-2.22.json", "--action", "ec2:RunInstances"],
    ["policy", "check", "--policy", "tests/data/kkp-documented-policy-2.22.json", "--requirements", "kkp-docs"],
])
def test_offline_commands_load_no_aws_or_kubernetes_client(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] in (0, 1)
    assert outcome["loaded"] == [], f"{argv} loaded {outcome['loaded']}"
