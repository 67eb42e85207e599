"""Where the operator's CPU goes under bench/load.py: `credcheck run` with a stack sampler (issue 32).

Use as the load benchmark's operator: CREDCHECK_BENCH_OPERATOR=bench/operator_cpu.py with OPERATOR_CPU_FILE=FILE
(default operator-cpu.txt in the working directory; the benchmark passes the operator no CREDCHECK_ variable).
Every 20 ms a thread reads every other thread's Python stack (sys._current_frames) and its CPU time so far (Linux:
/proc/self/task/TID/schedstat, in nanoseconds); a sample counts with the CPU time that thread used since the previous
sample (a waiting thread's samples weigh nothing), under
  - the innermost frame's package (credcheck's own modules by name): where the thread is at the sample, so a thread
    that works and then waits shows its CPU where it waits (socket, selectors, a pool's queue): read it with care;
  - the outermost credcheck frame's function: which of credcheck's jobs the CPU was spent for (a job's frames stay
    on the stack while it works and waits, so this table is the one to trust).
FILE is rewritten every 10 s with both tables (milliseconds of CPU, largest first). The sampler costs a little CPU
of its own. Not in `make bench`: a diagnosis tool.
"""

import os
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

INTERVAL = 0.02


def _package(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "/credcheck/" in path and "site-packages" not in path:
        return "credcheck." + path.rsplit("/credcheck/", 1)[1].removesuffix(".py").replace("/", ".")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    return "stdlib:" + path.rsplit("/", 1)[-1].removesuffix(".py")


def _entry(frame: FrameType | None) -> str:
    outer = "(no credcheck frame)"
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if "/credcheck/" in path and "site-packages" not in path:
            outer = f"{_package(path)}.{frame.f_code.co_name}"
        frame = frame.f_back
    return outer


def sample(out: Path) -> None:
    leaf: Counter[str] = Counter()
    entry: Counter[str] = Counter()
    last: dict[int, float] = {}
    me, written = threading.get_ident(), time.monotonic()
    while True:
        time.sleep(INTERVAL)
        native = {t.ident: t.native_id for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            if ident == me or native.get(ident) is None:
                continue
            try:
                now = int(Path(f"/proc/self/task/{native[ident]}/schedstat").read_text().split()[0]) / 1e9
            except (OSError, ValueError, IndexError):  # ended meanwhile
                continue
            used, last[ident] = now - last.get(ident, now), now
            if used > 0:
                leaf[_package(frame.f_code.co_filename)] += used
                entry[_entry(frame)] += used
        if time.monotonic() - written > 10:
            written = time.monotonic()
            lines = ["# innermost package (ms of CPU)"] + [f"{v * 1000:10.0f}  {k}" for k, v in leaf.most_common(40)]
            lines += ["", "# outermost credcheck function (ms of CPU)"]
            lines += [f"{v * 1000:10.0f}  {k}" for k, v in entry.most_common(40)]
            out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)  # bench/load.py asks a heap-dumping wrapper for a snapshot
    threading.Thread(target=sample, args=(Path(os.environ.get("OPERATOR_CPU_FILE", "operator-cpu.txt")),),
                     daemon=True, name="cpu-sampler").start()
    from credcheck.entry import main

    sys.exit(main(["run"]))
