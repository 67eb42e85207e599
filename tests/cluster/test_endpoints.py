"""Where credcheck sends requests signed with other people's keys: configured AWS endpoints (environment, AWS config)
are ignored unless development endpoints are allowed; only https to AWS hosts. An operator of its own (no seed)."""

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from credcheck_testground.aws import LocalAWS
from credcheck_testground.controlplane import ControlPlane
from credcheck_testground.processes import free_port

from .conftest import GOOD_POLICY, NS, Seed, running_operator, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.aws]


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.seen.append(f"{self.command} {self.headers.get('Host')}{self.path}")
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def recording_endpoint() -> Iterator[tuple[str, list[str]]]:
    """An http endpoint that records every request it gets: where an override would send signed requests."""
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_endpoint_overrides_are_ignored_without_the_development_flag(
        control_plane: ControlPlane, local_aws: LocalAWS, tmp_path: Path) -> None:
    """AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS/_IAM and the AWS config's endpoint_url, as an auditor Secret loaded
    whole into the environment could have set them: ignored; with --dev-endpoints (the positive control) honoured."""
    _, keys = local_aws.create_user(policies=[GOOD_POLICY])
    name = f"credential-aws-endpoint{uuid.uuid4().hex[:6]}"
    seed = Seed(control_plane, local_aws, tmp_path / "unused.log", control_plane.state, [], "")
    with recording_endpoint() as (url, seen):
        config = tmp_path / "aws-config"
        config.write_text(f"[default]\nendpoint_url = {url}\n")
        overrides = {"AWS_ENDPOINT_URL": url, "AWS_ENDPOINT_URL_STS": url, "AWS_ENDPOINT_URL_IAM": url,
                     "AWS_CONFIG_FILE": str(config)}
        with running_operator(control_plane, local_aws, tmp_path / "strict", dev_endpoints="false",
                              env_extra=overrides) as op:
            seed.kkp_secret(name, keys)
            verdict = wait_for(lambda: seed.condition(name), "a verdict on the credential", timeout=90)
            log = op.log.read_text()
        assert seen == [], f"signed requests went to the override: {seen}"
        assert verdict[0] != "True", "nothing was verified against the override"
        assert "AWS requests go over https to AWS hosts only" in log
        assert ("ignored endpoint overrides: AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_IAM, "
                "profile default endpoint_url/services in the AWS config") in log
        assert "https://sts.us-east-1.amazonaws.com" in log, "the endpoints in use are logged at start"

        with running_operator(control_plane, local_aws, tmp_path / "dev", dev_endpoints="true",
                              env_extra=overrides):
            seed.kubectl("annotate", "awscc", name, "-n", NS, f"credcheck.io/recheck={uuid.uuid4().hex}",
                         "--overwrite")
            wait_for(lambda: seen, "the development endpoint to be used", timeout=60)
            # leave no half-handled check for the next test's operator to retry
            seed.kubectl("delete", "secret", name, "-n", NS)
            wait_for(lambda: seed.check(name) is None, "discovery to delete the check", timeout=60)
