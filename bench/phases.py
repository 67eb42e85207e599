"""Where a check's CPU goes: per-phase timers on the functions that open each phase, in every thread.

A phase starts when a function that opens it is entered (botocore's response parser, SigV4's add_auth, …) and lasts
until that function returns; a phase opened inside another (the signer runs inside an event hook) takes its own time,
the outer phase keeps the rest. Each thread's CPU clock (time.thread_time) is read on entry and exit only, so the
timers cost a few microseconds per call of an opener, not per Python call as a profiler would (cProfile or a profile
function inflate the phases made of many small calls, the parser above all). What no phase holds is "other": the
process' CPU (every thread: a check's simulations run in AWSClients.simulations' threads) less the phases'.
"""

import importlib
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import wraps
from typing import Any

# (module, attribute path) -> phase. Names a module imported by name (`from … import plan`) are timed where the
# caller looks them up (credcheck.engine.check).
OPENERS: dict[tuple[str, str], str] = {
    ("botocore.session", "Session.create_client"): "client creation",
    ("botocore.validate", "ParamValidationDecorator.serialize_to_request"): "request validation and serialization",
    ("botocore.client", "BaseClient._resolve_endpoint_ruleset"): "endpoint resolution",
    ("botocore.hooks", "HierarchicalEmitter._emit"): "event hooks (botocore's and credcheck's)",
    ("botocore.auth", "SigV4Auth.add_auth"): "signing (SigV4)",
    ("botocore.httpsession", "URLLib3Session.send"): "HTTP (urllib3, sockets)",
    ("botocore.parsers", "ResponseParser.parse"): "response parsing",
    ("botocore.retries.standard", "RetryHandler.needs_retry"): "retries",
    ("credcheck.engine.check", "plan"): "planning (requirements into batches)",
    ("credcheck.engine.check", "_requirements"): "planning (requirements into batches)",
    ("credcheck.engine.aws.simulator", "_results"): "results into SimulationResults",
    ("credcheck.engine.check", "decide"): "verdict",
    ("credcheck.engine.hygiene", "attach"): "verdict",
}
OTHER = "other (credcheck's glue, botocore's call plumbing)"


class _Thread(threading.local):
    def __init__(self) -> None:
        self.stack: list[str] = []
        self.last = 0.0


class PhaseClock:
    """CPU seconds per phase, summed over every thread, between `install` and `uninstall`."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = _Thread()
        self._patched: list[tuple[Any, str, Any]] = []
        self._started = 0.0
        self.missing: list[str] = []  # openers not found (install)

    def _timed(self, fn: Callable[..., Any], phase: str) -> Callable[..., Any]:
        local, seconds, lock = self._local, self.seconds, self._lock

        @wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = local.stack
            if stack and stack[-1] == phase:
                return fn(*args, **kwargs)
            now = time.thread_time()
            if stack:
                with lock:
                    seconds[stack[-1]] += now - local.last
            local.last = now
            stack.append(phase)
            try:
                return fn(*args, **kwargs)
            finally:
                now = time.thread_time()
                with lock:
                    seconds[phase] += now - local.last
                local.last = now
                stack.pop()
        return timed

    def install(self) -> None:
        """Time every opener from now on (in every thread); an opener that is not where OPENERS says (a module
        split, a botocore release) is listed in `missing` and its time counts as other."""
        self.missing = []
        for (module_name, path), phase in OPENERS.items():
            *parents, name = path.split(".")
            try:
                owner: Any = importlib.import_module(module_name)
                for parent in parents:
                    owner = getattr(owner, parent)
                original = owner.__dict__[name]
            except (ImportError, AttributeError, KeyError):
                self.missing.append(f"{module_name}:{path}")
                continue
            self._patched.append((owner, name, original))
            setattr(owner, name, self._timed(original, phase))
        self.reset()

    def uninstall(self) -> None:
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
        self._patched.clear()

    def reset(self) -> None:
        """Forget what was measured so far (between checks: no phase is open)."""
        with self._lock:
            self.seconds.clear()
            self._started = time.process_time()

    def total(self) -> Counter[str]:
        """CPU seconds per phase since the last reset, and the process' rest as OTHER."""
        with self._lock:
            found = Counter(self.seconds)
            found[OTHER] = max(0.0, time.process_time() - self._started - sum(self.seconds.values()))
        return found


def shares(seconds: Counter[str]) -> list[tuple[str, float]]:
    """Each phase's share of the measured CPU, largest first."""
    total = sum(seconds.values()) or 1.0
    return [(phase, s / total) for phase, s in seconds.most_common() if s > 0]
