"""Benchmark: how long the CLI's offline commands take to start and finish (target <= 0.3 s each).

Prints the median of 7 runs per command, never fails."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["catalog"], ["requirements", "show", "kkp-2.31"],
            ["policy", "evaluate", "--policy", "tests/data/kkp-documented-policy-2.22.json",
             "--action", "ec2:RunInstances"],
            ["policy", "check", "--policy", "tests/data/kkp-documented-policy-2.22.json", "--requirements", "kkp"])


def main() -> None:
    for argv in COMMANDS:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "credcheck.cli.main", *argv], cwd=REPO, capture_output=True,
                           check=False)
            times.append(time.perf_counter() - started)
        print(f"credcheck {' '.join(argv[:3])}: median {statistics.median(times):.2f} s, max {max(times):.2f} s")


if __name__ == "__main__":
    main()
