"""The operator's background services start and stop with kopf's handlers, here and nowhere else: the check runner
the handlers and the scheduler share (credcheck.controller.checker), the re-check scheduler
(credcheck.controller.recheck), then discovery (credcheck.controller.discovery.service), whose informers keep what
discovery, the scheduler and the metrics need and never write diff-bases or finalizers (kopf itself watches only
AWSCredentialChecks). /readyz reports the leader ready once they run."""

from typing import Any

import kopf

from credcheck.controller.checker import Checker
from credcheck.controller.discovery.service import DiscoveryService
from credcheck.controller.recheck import Recheck


@kopf.on.startup()
async def start_services(memo: kopf.Memo, logger: Any, **_: Any) -> None:
    memo.checker = Checker(memo.runtime, memo.schedule)
    memo.services = [Recheck(memo.runtime, memo.schedule, memo.health, logger, memo.checker.run),
                     DiscoveryService(memo.runtime, memo.schedule, memo.health, logger)]
    for service in memo.services:
        service.start()
    memo.health.started = True


@kopf.on.cleanup()
async def stop_services(memo: kopf.Memo, **_: Any) -> None:
    """Stops what started; then raises the operator's stop flag too, or kopf waits for that flag's waiter as a hung
    task (5 s) before it returns and the Lease is released."""
    memo.health.started = False
    for service in reversed(memo.get("services") or []):
        await service.stop()
    stop = memo.get("stop")
    if stop is not None:
        stop.set()
