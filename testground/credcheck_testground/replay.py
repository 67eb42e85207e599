"""An AWS endpoint that answers from recorded test-ground answers, for benchmarks that measure credcheck alone.

Record: a proxy in front of the test ground's endpoint (moto + simulation) passes every request on and keeps the
answer under the request's signature: the access key it is signed with, the service, the action and its parameters
(lists of members compared as sets: the order in which a check lists its actions does not matter to AWS's answer).
Replay: a server that answers each request with the answer recorded for its signature, at a small fraction of the
endpoint's CPU (no moto, no policy evaluation). A request that was not recorded is answered 400 UnrecordedRequest and
counted in `misses`: a benchmark must fail on any (bench/load.py does), never take a wrong answer for a right one.

A request whose parameters carry the time (CloudTrail's LookupEvents, asked only when the operator observes
denials; off by default) is never the same twice, so it cannot be replayed: such a run fails as above. Answers are
kept once each (many checks get the same body) in a gzip'd JSON file. Signatures are not verified on
replay: the recording stands for a test ground whose keys the benchmark made.

Run in a process of its own (`start`), so that its CPU is measured apart from the benchmark's: control routes on the
same port (GET, which AWS's query and JSON protocols never use) read its calls and misses and save the recording.

Run: python -m credcheck_testground.replay --ready-file FILE (--upstream URL: record | --replay FILE)
"""

import argparse
import gzip
import hashlib
import json
import re
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from credcheck_testground.processes import spawn, wait_until

KEY_ID = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/[^/]+/([^/]+)/")
HOP_HEADERS = {"connection", "transfer-encoding", "keep-alive", "content-length", "date", "server"}
Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


def _nest(pairs: list[tuple[str, str]]) -> Any:
    """Query parameters (ActionNames.member.1=…) as nested values, lists of members as sorted lists."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        node, parts = root, name.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _canonical(root)


def _canonical(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"member"} and isinstance(node["member"], dict):
        return sorted((_canonical(v) for v in node["member"].values()), key=lambda v: json.dumps(v, sort_keys=True))
    return {k: _canonical(v) for k, v in sorted(node.items())}


def signature(headers: Any, body: bytes) -> tuple[str, str]:
    """The action of a request (query or JSON protocol), and its signature: the access key, service, action and
    parameters as one string."""
    found = KEY_ID.search(str(headers.get("Authorization", "")))
    key, service = (found.group(1), found.group(2)) if found else ("", "")
    target = headers.get("X-Amz-Target")
    if target:  # the JSON protocol (CloudTrail, Organizations): the action in a header, parameters as JSON
        action, params = str(target), json.loads(body or b"{}")
    else:
        pairs = parse_qsl(body.decode(), keep_blank_values=True)
        action = dict(pairs).get("Action", "")
        params = _nest([(k, v) for k, v in pairs if k not in ("Action", "Version")])
    return action, json.dumps([key, service, action, params], sort_keys=True, separators=(",", ":"))


class Recording:
    """Answers by signature, each body kept once."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, list[tuple[str, str]], str]] = {}  # signature -> status, headers, body
        self.bodies: dict[str, bytes] = {}  # sha256 -> body
        self.extra: dict[str, Any] = {}  # what the benchmark needs again (e.g. the keys it made)
        self.lock = threading.Lock()

    def add(self, sig: str, answer: Answer) -> None:
        status, headers, body = answer
        digest = hashlib.sha256(body).hexdigest()
        with self.lock:
            self.bodies[digest] = body
            self.answers[sig] = (status, headers, digest)

    def get(self, sig: str) -> Answer | None:
        found = self.answers.get(sig)
        return None if found is None else (found[0], found[1], self.bodies[found[2]])

    def save(self, path: Path) -> None:
        with self.lock:
            data = {"answers": self.answers, "bodies": {k: v.decode("utf-8", "surrogateescape")
                                                        for k, v in self.bodies.items()}, "extra": self.extra}
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(data, f)

    @classmethod
    def load(cls, path: Path) -> "Recording":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        recording = cls()
        recording.answers = {k: (v[0], [tuple(h) for h in v[1]], v[2]) for k, v in data["answers"].items()}
        recording.bodies = {k: v.encode("utf-8", "surrogateescape") for k, v in data["bodies"].items()}
        recording.extra = data.get("extra", {})
        return recording


class ReplayEndpoint:
    """An HTTP endpoint on 127.0.0.1 that records through `upstream` (record mode) or replays (upstream None)."""

    def __init__(self, recording: Recording, upstream: str | None = None) -> None:
        self.recording, self.upstream = recording, upstream
        self.calls: Counter[str] = Counter()
        self.misses: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "ReplayEndpoint":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    def answer(self, headers: Any, body: bytes) -> Answer:
        action, sig = signature(headers, body)
        with self._lock:
            self.calls[action.rsplit(".", 1)[-1]] += 1  # X-Amz-Target: Service_Version.Action
        if self.upstream is not None:
            forwarded = self._forward(headers, body)
            self.recording.add(sig, forwarded)
            return forwarded
        found = self.recording.get(sig)
        if found is None:
            with self._lock:
                self.misses.append(sig)
            text = (b"<ErrorResponse><Error><Type>Sender</Type><Code>UnrecordedRequest</Code><Message>this request "
                    b"was not recorded: record again</Message></Error><RequestId>replay</RequestId></ErrorResponse>")
            return 400, [("Content-Type", "text/xml")], text
        return found

    def _forward(self, headers: Any, body: bytes) -> Answer:
        request = urllib.request.Request(self.upstream or "", data=body, method="POST",  # noqa: S310 - loopback
                                         headers={k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS})
        try:
            with urllib.request.urlopen(request, timeout=60) as resp:  # noqa: S310
                return resp.status, _kept(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, _kept(err.headers.items()), err.read()

    def control(self, route: str, body: bytes = b"") -> Any:
        """The control routes: GET /_replay/calls, /_replay/misses, /_replay/reset; POST /_replay/save {"path": FILE,
        "extra": what the benchmark needs again}."""
        if route == "/_replay/calls":
            with self._lock:
                return dict(self.calls)
        if route == "/_replay/misses":
            with self._lock:
                return list(self.misses)
        if route == "/_replay/reset":
            self.reset_calls()
            return {}
        if route == "/_replay/save":
            wanted = json.loads(body)
            self.recording.extra = wanted.get("extra") or {}
            self.recording.save(Path(wanted["path"]))
            return {"answers": len(self.recording.answers), "bodies": len(self.recording.bodies)}
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        answer: Callable[[Any, bytes], Answer] = self.answer
        control: Callable[[str, bytes], Any] = self.control

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as AWS's endpoints

            def _control(self, body: bytes) -> None:
                found = control(self.path, body)
                data = json.dumps(found).encode()
                self.send_response(404 if found is None else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._control(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/_replay/"):  # AWS's requests go to /
                    self._control(body)
                    return
                status, headers, data = answer(self.headers, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def _kept(headers: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_HEADERS]


class Replay:
    """The recording or replaying endpoint's process, as the benchmark sees it (LocalAWS' calls and reset_calls)."""

    def __init__(self, url: str, pid: int) -> None:
        self.url, self.pid = url, pid

    def _get(self, route: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_replay/{route}", data=data,  # noqa: S310 - loopback
                                         method="GET" if data is None else "POST")
        with urllib.request.urlopen(request, timeout=300) as resp:  # noqa: S310
            return json.loads(resp.read())

    def calls(self) -> dict[str, int]:
        return dict(self._get("calls"))

    def reset_calls(self) -> None:
        self._get("reset")

    def misses(self) -> list[str]:
        return list(self._get("misses"))

    def save(self, path: Path, extra: dict[str, Any]) -> dict[str, int]:
        """Write the recording (with `extra`: what the benchmark needs to replay it) to `path`."""
        return dict(self._get("save", {"path": str(path.resolve()), "extra": extra}))


def start(state: Path, *, replay: Path | None = None, upstream: str | None = None,
          timeout: float = 120) -> Replay:
    """The endpoint in a process of its own: replaying `replay`, or recording what `upstream` answers."""
    ready = state / "replay.json"
    ready.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "credcheck_testground.replay", "--ready-file", str(ready)]
    argv += ["--replay", str(replay)] if replay is not None else ["--upstream", str(upstream)]
    proc = spawn("replay", argv, state)
    wait_until(ready.exists, "the recorded AWS endpoint", timeout, proc, state / "replay.log")
    return Replay(json.loads(ready.read_text())["url"], proc.pid)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--replay", type=Path, help="answer from this recording")
    parser.add_argument("--upstream", help="record what this endpoint answers")
    args = parser.parse_args(argv)
    if (args.replay is None) == (args.upstream is None):
        parser.error("one of --replay FILE or --upstream URL")
    endpoint = ReplayEndpoint(Recording.load(args.replay) if args.replay else Recording(), upstream=args.upstream)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = args.ready_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": endpoint.url}))
    tmp.rename(args.ready_file)
    endpoint.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
