"""What each of the two watches on AWSCredentialChecks keeps (issue 32): kopf's (the handlers') and discovery's
informer (discovery, the re-check scheduler, the metrics). An operator wrapper for `bench/load.py`:

    CREDCHECK_BENCH_OPERATOR=bench/two_watches.py BENCH_WATCHES=/tmp/watches.json \\
        .venv/bin/python bench/load.py --credentials 100 --secrets 2000 --unrelated 0

runs `credcheck run`; on SIGUSR1 (load.py's dump_heap, after the Secrets and again at the end) it appends to
BENCH_WATCHES (load.py passes no CREDCHECK_* variable on; default: watches.json in the working directory) what each
watch keeps between events, as the deep size of its own objects (sys.getsizeof over what they reach, each object
once, shared objects not counted): the checks' informer's store (a small view per check) and the scheduler's table
it feeds, and kopf's per-object memories (the state it keeps for each check it handles). Nothing is traced while
the checks run, so the latencies load.py prints stay comparable with a run without this wrapper; what a watch holds
only while an event is decoded (a check's body) is not counted.
"""

import gc
import json
import os
import signal
import sys
import time
from collections.abc import Iterable
from typing import Any


def deep_size(roots: Iterable[Any], own: tuple[str, ...]) -> int:
    """Bytes reachable from `roots`, each object once, following only built-in values and objects of the modules
    `own` names: what they share (the operator's runtime, which kopf's per-object memos point to) is not counted."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    while stack:
        obj = stack.pop()
        module = type(obj).__module__
        if id(obj) in seen or not (module == "builtins" or module.startswith(own)) or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        else:
            if hasattr(obj, "__dict__"):
                stack.append(vars(obj))
            for slot in getattr(type(obj), "__slots__", ()):
                if hasattr(obj, slot):
                    stack.append(getattr(obj, slot))
    return total


def _dump(*_: Any) -> None:
    from credcheck.controller.discovery.informer import Informer  # noqa: PLC0415 - loaded by now
    from credcheck.controller.schedule import Schedule  # noqa: PLC0415

    started = time.monotonic()
    objects = gc.get_objects()
    informers = [o for o in objects if isinstance(o, Informer) and o.name.startswith("awscredentialchecks")]
    schedules = [o for o in objects if isinstance(o, Schedule)]
    memories = [o for o in objects if type(o).__name__ == "ResourceMemories"]  # kopf's per-object state
    checks = sum(len(list(i.store.values())) for i in informers)
    entry = {
        "checks_in_store": checks,
        "informer_store_kib": round(deep_size((i.store for i in informers), ("credcheck.controller.discovery",))
                                    / 1024),
        "schedule_kib": round(deep_size((s._entries for s in schedules), ("credcheck.controller.schedule",)) / 1024),
        "kopf_memories": sum(len(getattr(m, "_items", {})) for m in memories),
        "kopf_memories_kib": round(deep_size((getattr(m, "_items", {}) for m in memories), ("kopf",)) / 1024),
        "seconds": round(time.monotonic() - started, 1),
    }
    with open(os.environ.get("BENCH_WATCHES", "watches.json"), "a") as out:
        out.write(json.dumps(entry) + "\n")


def main() -> int:
    signal.signal(signal.SIGUSR1, _dump)
    from credcheck.entry import main as credcheck  # noqa: PLC0415

    return credcheck(["run"])


if __name__ == "__main__":
    sys.exit(main())
