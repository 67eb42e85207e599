"""Starting, waiting for and stopping the test ground's processes; each one's pid is kept in a state folder."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(name: str, argv: Sequence[str], state: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a process in its own session (so it outlives a detached launcher), logging to state/NAME.log."""
    log = (state / f"{name}.log").open("ab")
    proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, **(env or {})})
    (state / f"{name}.pid").write_text(str(proc.pid))
    return proc


def wait_until(check: Callable[[], bool], what: str, timeout: float, proc: subprocess.Popen[bytes] | None = None,
               log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{tail}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_all(state: Path, timeout: float = 5) -> list[str]:
    """SIGTERM every process group recorded in state/*.pid, SIGKILL what is left after `timeout` seconds."""
    pids = {pidfile.stem: int(pidfile.read_text()) for pidfile in sorted(state.glob("*.pid"))}
    running = {name: pid for name, pid in pids.items() if _alive(pid)}
    for pid in running.values():
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in running.values()) and time.monotonic() < deadline:
        for pid in running.values():
            _reap(pid)
        time.sleep(0.1)
    for pid in running.values():
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
        _reap(pid)
    for name in pids:
        (state / f"{name}.pid").unlink()
    return sorted(running)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
