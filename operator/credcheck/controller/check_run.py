"""One check's AWS halves on the operator's threads: prepare_check and finish_check in a pool of AWS threads, waiting
for the accounts' call budget between them on the event loop (holding no thread), the check's duration recorded."""

import asyncio
import time
from concurrent.futures import Executor

from credcheck.controller import metrics
from credcheck.engine.check import CheckOptions, finish_check, prepare_check
from credcheck.engine.model import Credential, Verdict
from credcheck.kube.status import MAX_MISSING_LISTED


async def run_check_in(checks: Executor, credential: Credential, options: CheckOptions) -> Verdict:
    """The verdict, compacted for a status (at most MAX_MISSING_LISTED missing actions listed)."""
    loop, started = asyncio.get_running_loop(), time.monotonic()
    prepared = await loop.run_in_executor(checks, prepare_check, credential, options)
    if isinstance(prepared, Verdict):
        return prepared.compact(MAX_MISSING_LISTED)
    limiter = options.limiter
    while limiter is not None and (wait := prepared.reserve(limiter)) > 0:
        await asyncio.sleep(wait)
    verdict = await loop.run_in_executor(checks, finish_check, prepared)
    metrics.CHECK_DURATION.observe(time.monotonic() - started)
    return verdict.compact(MAX_MISSING_LISTED)
