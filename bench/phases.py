"""Where a check's CPU goes: each thread's CPU time split into phases.

A phase starts when a function that opens it is entered (botocore's response parser, SigV4's add_auth, …) and lasts
until that function returns; a phase opened inside another (the signer runs inside an event hook) takes its own time,
the outer phase keeps the rest. Time outside every phase is "other" (credcheck's glue, botocore's call plumbing).
Every thread of the process is measured (a check's simulations run in AWSClients.simulations' threads), which is why
phases are measured with a profile function (sys.setprofile, threading.setprofile) rather than cProfile (one thread).
The profile function costs CPU of its own: read the shares, not the absolute times, of a profiled run.
"""

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from types import CodeType, FrameType
from typing import Any

# (file path ending, function name) -> phase; the first function of a phase entered opens it
OPENERS: dict[tuple[str, str], str] = {
    ("botocore/session.py", "create_client"): "client creation",
    ("botocore/validate.py", "validate_parameters"): "parameter validation",
    ("botocore/serialize.py", "serialize_to_request"): "request serialization",
    ("botocore/client.py", "_resolve_endpoint_ruleset"): "endpoint resolution",
    ("botocore/regions.py", "construct_endpoint"): "endpoint resolution",
    ("botocore/hooks.py", "_emit"): "event hooks (botocore's and credcheck's)",
    ("botocore/auth.py", "add_auth"): "signing (SigV4)",
    ("botocore/httpsession.py", "send"): "HTTP (urllib3, sockets)",
    ("botocore/parsers.py", "parse"): "response parsing",
    ("botocore/retries/standard.py", "needs_retry"): "retries",
    ("credcheck/engine/batches.py", "plan"): "planning (requirements into batches)",
    ("credcheck/engine/requirements/profiles.py", "requirements"): "planning (requirements into batches)",
    ("credcheck/engine/aws/simulator.py", "_results"): "results into SimulationResults",
    ("credcheck/engine/verdict.py", "decide"): "verdict",
    ("credcheck/engine/hygiene.py", "attach"): "verdict",
}
OTHER = "other (credcheck's glue, botocore's call plumbing)"


class _Thread:
    """One thread's open phases and CPU seconds per phase (its CPU clock is readable from any thread: Linux)."""

    def __init__(self) -> None:
        self.clock = time.pthread_getcpuclockid(threading.get_ident())
        self.stack: list[tuple[FrameType, str]] = []  # the frame that opened each phase
        self.seconds: Counter[str] = Counter()
        self.last = time.clock_gettime(self.clock)

    def charge(self) -> None:
        now = time.clock_gettime(self.clock)
        self.seconds[self.stack[-1][1] if self.stack else OTHER] += now - self.last
        self.last = now


class PhaseClock:
    """CPU seconds per phase, summed over every thread started after `install` (and the installing thread)."""

    def __init__(self) -> None:
        self._threads: list[_Thread] = []
        self._lock = threading.Lock()
        self._phases: dict[CodeType, str | None] = {}

    def _phase_of(self, code: CodeType) -> str | None:
        found = self._phases.get(code, "")
        if found == "":
            path = code.co_filename.replace("\\", "/")
            found = next((phase for (end, name), phase in OPENERS.items()
                          if code.co_name == name and path.endswith(end)), None)
            self._phases[code] = found
        return found

    def _profiler(self) -> Callable[[FrameType, str, Any], None]:
        """This thread's profile function."""
        state = _Thread()
        with self._lock:
            self._threads.append(state)
        stack, phase_of = state.stack, self._phase_of

        def profile(frame: FrameType, event: str, _: Any) -> None:
            if event == "call":
                phase = phase_of(frame.f_code)
                if phase is not None and (not stack or stack[-1][1] != phase):
                    state.charge()
                    stack.append((frame, phase))
            elif event == "return" and stack and stack[-1][0] is frame:
                state.charge()
                stack.pop()
        return profile

    def _start_thread(self, *args: Any) -> None:
        profiler = self._profiler()
        sys.setprofile(profiler)
        profiler(*args)

    def install(self) -> None:
        """Measure this thread and every thread started from now on (start a thread pool after this)."""
        threading.setprofile(self._start_thread)
        sys.setprofile(self._profiler())

    def uninstall(self) -> None:
        """Stop measuring this thread and threads started later (threads already measured stay measured: shut
        their pool down)."""
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]

    def reset(self) -> None:
        """Forget what was measured so far (between checks: every other thread is idle)."""
        with self._lock:
            for state in self._threads:
                state.seconds.clear()
                with suppress(OSError):  # a thread that has ended
                    state.last = time.clock_gettime(state.clock)

    def total(self) -> Counter[str]:
        """CPU seconds per phase so far (between checks)."""
        with self._lock:
            for state in self._threads:
                with suppress(OSError):  # a thread that has ended: its last phase was charged when it ended
                    state.charge()
            return sum((state.seconds for state in self._threads), Counter())


def shares(seconds: Counter[str]) -> list[tuple[str, float]]:
    """Each phase's share of the measured CPU, largest first."""
    total = sum(seconds.values()) or 1.0
    return [(phase, s / total) for phase, s in seconds.most_common() if s > 0]
