"""What each of the two watches on AWSCredentialChecks keeps (issue 32): kopf's (the handlers') and discovery's
informer (discovery, the re-check scheduler, the metrics). An operator wrapper for `bench/load.py`:

    CREDCHECK_BENCH_OPERATOR=bench/two_watches.py CREDCHECK_BENCH_HEAP=/tmp/heap.json \\
        .venv/bin/python bench/load.py --credentials 100 --secrets 2000 --unrelated 0

runs `credcheck run` under tracemalloc; on SIGUSR1 (load.py's dump_heap, after the Secrets and again at the end)
it appends to CREDCHECK_BENCH_HEAP the memory still allocated, split by whose code made it: kopf's (its watch
stream, per-object state and handler bodies), the checks' informer (its store of small views, the scheduler's
table and the summaries it keeps), the other informers, and the rest. Timings under tracemalloc are not
representative: take latencies from a run without this wrapper.
"""

import json
import os
import signal
import sys
import tracemalloc
from collections import defaultdict
from typing import Any

FRAMES = 40


def _owner(trace: tracemalloc.Trace) -> str:
    files = [frame.filename for frame in trace.traceback]
    if any("/kopf/" in f for f in files):
        return "kopf (its watch, per-object state, handler bodies)"
    if any(f.endswith(("controller/recheck.py", "controller/schedule.py", "controller/metrics.py")) for f in files):
        return "the checks' informer: scheduler table, metrics"
    if any(f.endswith("discovery/world.py") for f in files):
        return "the checks' informer: discovery's check views"
    if any(f.endswith(("discovery/informer.py", "discovery/store.py")) for f in files):
        return "the informers (all kinds): events, stores"
    return "other"


def _dump(*_: Any) -> None:
    snapshot = tracemalloc.take_snapshot()
    owners: dict[str, int] = defaultdict(int)
    for trace in snapshot.traces:
        owners[_owner(trace)] += trace.size
    current, peak = tracemalloc.get_traced_memory()
    entry = {"traced_mib": round(current / 2**20, 1), "peak_mib": round(peak / 2**20, 1),
             "by_owner_kib": {k: round(v / 1024) for k, v in sorted(owners.items(), key=lambda kv: -kv[1])}}
    with open(os.environ.get("CREDCHECK_BENCH_HEAP", "heap.json"), "a") as out:
        out.write(json.dumps(entry) + "\n")


def main() -> int:
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, _dump)
    from credcheck.cli.main import main as credcheck  # noqa: PLC0415 - after tracemalloc starts

    return credcheck(["run"])


if __name__ == "__main__":
    sys.exit(main())
