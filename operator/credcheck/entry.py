"""The `credcheck` (and `kubectl-credcheck`) command: `credcheck run` starts the operator (credcheck.controller),
everything else is the CLI (credcheck.cli, which never imports the controller: .importlinter)."""

import sys
import traceback
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["run"]:
        from credcheck.controller.main import main as run  # noqa: PLC0415 - kopf loads only for `credcheck run`

        try:
            return run(args[1:])
        except Exception:  # as the CLI: a bug's traceback, and 4 rather than Python's 1 (which says Insufficient)
            traceback.print_exc()
            return 4
    from credcheck.cli.main import main as cli  # noqa: PLC0415

    return cli(args)


if __name__ == "__main__":
    sys.exit(main())
