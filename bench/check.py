"""Benchmark: AWS calls and wall time per check, for the kkp and kkp-docs profiles, against the local endpoint.

Starts its own AWS endpoint (moto + simulation) on 127.0.0.1; prints numbers, never fails.
"""

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from credcheck.check import CheckOptions, run_check
from credcheck.model import Credential
from credcheck.requirements.profiles import load_profile
from credcheck_testground import aws
from credcheck_testground.processes import stop_all

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def main(rounds: int = 10) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        try:
            endpoint = aws.start(state)
            os.environ["AWS_ENDPOINT_URL"] = endpoint.url
            doc = json.loads((DATA / "kkp-documented-policy.json").read_text().replace("YOUR_ACCOUNT_ID", aws.ACCOUNT))
            doc["Statement"].append({"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"})
            _, keys = endpoint.create_user(policies=[doc])
            credential = Credential(keys.access_key_id, keys.secret_access_key)
            for name in ("kkp", "kkp-docs"):
                options = CheckOptions(load_profile(name), region="eu-central-1")
                times, verdict = [], None
                for _ in range(rounds):
                    start = time.perf_counter()
                    verdict = run_check(credential, options)
                    times.append((time.perf_counter() - start) * 1000)
                assert verdict is not None
                print(f"check[{name}]: {len(verdict.results)} actions, {verdict.status.value}, "
                      f"AWS calls {sum(verdict.aws_calls.values())} {verdict.aws_calls}, "
                      f"wall median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
        finally:
            stop_all(state)


if __name__ == "__main__":
    main()
