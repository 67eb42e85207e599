"""The local AWS endpoint: moto in server mode on 127.0.0.1 with IAM simulation, trust-policy checks and a
control API (on its own port) for fault injection: throttling, latency, full outage, SCPs, call counts, opt-in
Regions not enabled. Partitions: moto answers each request from the partition of the Region it is signed for.

Run: python -m credcheck_testground.awsserver --port 0 --control-port 0 --ready-file FILE
"""

import argparse
import json
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from credcheck.engine.iam.policy import parse_policy
from credcheck_testground import accesskeys, cloudtrail, simulate, trust
from credcheck_testground.faults import FaultState, with_faults
from credcheck_testground.regions import RegionState, with_regions


class AWSEndpoint:
    """moto's WSGI app behind the fault middleware, served on a fixed port that an outage can close."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        simulate.install()
        trust.install()
        cloudtrail.install()
        accesskeys.install()
        self.faults = FaultState()
        self.regions = RegionState()
        self.app = with_faults(with_regions(DomainDispatcherApplication(create_backend_app), self.regions),
                               self.faults)
        self.host = host
        self.port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: clients get connection refused, as with an unreachable endpoint."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None


def set_scps(body: dict[str, Any]) -> None:
    """SCPs for an account: `policies` (one level) or `levels` (root first, then each OU, then the account); none
    removes them, as for an account outside AWS Organizations."""
    raw_levels = body.get("levels") or ([body["policies"]] if body.get("policies") else [])
    levels = [[parse_policy(doc, f"scp-{n}-{i}", "Organizations") for i, doc in enumerate(level)]
              for n, level in enumerate(raw_levels)]
    if levels:
        simulate.SCPS[body["account"]] = levels
    else:
        simulate.SCPS.pop(body["account"], None)


def set_decisions(body: dict[str, Any]) -> None:
    """{"principal": ARN, "table": {...}} sets one principal's table; {"principal": ARN} removes it."""
    if body.get("table") is None:
        simulate.DECISIONS.pop(body["principal"], None)
    else:
        simulate.DECISIONS[body["principal"]] = body["table"]


def reset_calls(endpoint: AWSEndpoint) -> None:
    with endpoint.faults.lock:
        endpoint.faults.calls.clear()
        endpoint.faults.by_key.clear()
    endpoint.regions.reset()


def control_handler(endpoint: AWSEndpoint) -> type[BaseHTTPRequestHandler]:
    routes: dict[str, Callable[[dict[str, Any]], Any]] = {
        "/faults": endpoint.faults.configure,
        "/outage": lambda body: endpoint.stop() if body.get("down", True) else endpoint.start(),
        "/scps": set_scps,
        "/drop-results": lambda body: simulate.DROPPED.__init__(body.get("actions", [])),  # type: ignore[misc]
        "/decisions": set_decisions,
        "/calls/reset": lambda body: reset_calls(endpoint),
        "/regions": endpoint.regions.configure,
        "/cloudtrail/events": cloudtrail.record,
        "/iam/access-keys": accesskeys.record,
    }

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/calls":
                with endpoint.faults.lock:
                    self._reply(200, dict(endpoint.faults.calls))
            elif self.path == "/calls/keys":
                with endpoint.faults.lock:
                    self._reply(200, {k: dict(v) for k, v in endpoint.faults.by_key.items()})
            elif self.path == "/calls/regions":
                self._reply(200, endpoint.regions.by_region())
            elif self.path == "/health":
                self._reply(200, {"running": endpoint.running, "url": endpoint.url})
            else:
                self._reply(404, {"error": "unknown path"})

        def do_POST(self) -> None:
            route = routes.get(self.path)
            if route is None:
                self._reply(404, {"error": "unknown path"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            route(body)
            self._reply(200, {"ok": True})

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def serve(port: int, control_port: int, ready_file: Path | None) -> None:
    endpoint = AWSEndpoint(port=port)
    endpoint.start()
    control = ThreadingHTTPServer(("127.0.0.1", control_port), control_handler(endpoint))
    ready = {"url": endpoint.url, "control_url": f"http://127.0.0.1:{control.server_address[1]}"}
    if ready_file:
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(ready))
        tmp.rename(ready_file)
    print(json.dumps(ready), flush=True)
    control.serve_forever()


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(list(argv) if argv is not None else None)
    serve(args.port, args.control_port, args.ready_file)


if __name__ == "__main__":
    main()
