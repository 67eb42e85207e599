"""`python -m credcheck_testground up|down|env [--state DIR]`: the local control plane + AWS endpoint."""

import argparse
import shlex
import shutil
import sys
from pathlib import Path

from credcheck_testground import aws, controlplane, demo, kkp
from credcheck_testground.processes import stop_all

DEFAULT_STATE = Path(".dev-env")


def exports(state: Path) -> str:
    info = aws.attach(state)
    return "\n".join([
        f"export KUBECONFIG={shlex.quote(str((state / 'kubeconfig').resolve()))}",
        f"export AWS_ENDPOINT_URL={shlex.quote(info.url)}",
        f"export CREDCHECK_TESTGROUND_STATE={shlex.quote(str(state.resolve()))}",
        f"export PATH={shlex.quote(str(controlplane.binaries()))}:\"$PATH\"",
    ])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m credcheck_testground", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "env", "demo"])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="folder for pids, logs, certificates")
    args = parser.parse_args()
    state: Path = args.state
    if args.command == "down":
        stopped = stop_all(state)
        print(f"stopped: {', '.join(stopped) or 'nothing was running'}", file=sys.stderr)
        return 0
    if args.command in ("up", "demo"):
        if state.exists():
            stop_all(state)
            shutil.rmtree(state)  # a fresh etcd: nothing from an earlier run may pass for a new verdict
        controlplane.start(state)
        aws.start(state)
        print("dev environment is up; to reach it:", file=sys.stderr)
    if args.command == "demo":
        print(f"seeding KKP objects and AWS identities ({kkp.crd_description()}) …", file=sys.stderr)
        demo.seed(state)
        log = demo.start_operator(state)
        print(f"credcheck is running as ServiceAccount kubermatic/credcheck (log: {log}); waiting for verdicts …",
              file=sys.stderr)
        demo.wait_ready(state, expected=7)
    print(exports(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
