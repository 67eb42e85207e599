"""Admission of a KKP Cluster's DELETE: always allowed; a warning at `kubectl delete` when the Cluster's credential
cannot make the calls KKP's cleanup needs (the covering check's status.clusters[].deletionReady), read within a
bounded time (past it: no warning, the delete goes on)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from credcheck.controller.deletion import delete_target, warning_from_check
from credcheck.controller.discovery.desired import check_name_for_secret

LOG = logging.getLogger("credcheck.webhook")
READ_BUDGET = 2.0  # seconds: the webhook configuration times out at 3 s and fails open (Ignore)


async def delete_warnings(read_check: Callable[[str, str], Awaitable[Any]], operation: str,
                          old: Mapping[str, Any]) -> list[str]:
    """`read_check(namespace, name)` reads a check in the webhook's own threads (never the operator's)."""
    target = delete_target(operation, old)
    if target is None:
        return []
    name = check_name_for_secret(target.secret)
    try:
        check = await asyncio.wait_for(read_check(target.namespace, name), timeout=READ_BUDGET)
    except Exception as err:  # a DELETE is never held up by credcheck
        LOG.warning("the check of Cluster %s could not be read for its DELETE (%s)", target.cluster,
                    type(err).__name__)
        return []
    warning = warning_from_check(target, name, check)
    return [warning] if warning else []
