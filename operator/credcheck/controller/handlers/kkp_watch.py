"""Watching KKP's objects without writing to them: discovery (credcheck.controller.discovery.service) starts and stops
with the handlers; its informers keep what discovery needs, never diff-bases or finalizers.

kopf itself watches only AWSCredentialChecks, for their handlers.
"""

from typing import Any

import kopf

from credcheck.controller.discovery.service import DiscoveryService


@kopf.on.startup()
async def start_discovery(memo: kopf.Memo, logger: Any, **_: Any) -> None:
    memo.discovery = DiscoveryService(memo.runtime, memo.schedule, memo.health, logger)
    memo.discovery.start()


@kopf.on.cleanup()
async def stop_discovery(memo: kopf.Memo, **_: Any) -> None:
    discovery: DiscoveryService | None = memo.get("discovery")
    if discovery is not None:
        await discovery.stop()
