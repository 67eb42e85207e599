"""Reading an AWSCredentialCheck's status in tests: its conditions by type.

Importable as `statuses`: tests/conftest.py puts this folder on sys.path."""

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from credcheck.engine.model import Verdict
from credcheck.kube.status import conditions_for


def conditions(status: Mapping[str, Any] | Verdict, *also: str) -> dict[str, tuple[str, ...]]:
    """Each condition by type: (status, reason) and the fields named in `also` (e.g. "lastTransitionTime"), of a
    status as stored (a dict) or of the conditions a verdict is written as."""
    found = ([asdict(c) for c in conditions_for(status)] if isinstance(status, Verdict)
             else list(status["conditions"]))
    return {c["type"]: tuple(str(c[k]) for k in ("status", "reason", *also)) for c in found}
