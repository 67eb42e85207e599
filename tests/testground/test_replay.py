"""The recorded endpoint (testground/replay.py) answers what was recorded, whatever order a check lists its actions
in, and refuses (400 UnrecordedRequest, counted as a miss) what was not: it never answers a request wrongly. The
upstream here is a plain HTTP server whose answer names the action and key it got (the oracle)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from credcheck_testground.replay import Recording, ReplayEndpoint

ANSWER = ("<SimulatePrincipalPolicyResponse><SimulatePrincipalPolicyResult><IsTruncated>false</IsTruncated>"
          "<EvaluationResults><member><EvalActionName>{action}</EvalActionName><EvalResourceName>*</EvalResourceName>"
          "<EvalDecision>allowed</EvalDecision></member></EvaluationResults></SimulatePrincipalPolicyResult>"
          "<ResponseMetadata><RequestId>{key}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>")


class Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        key = str(self.headers["Authorization"]).split("Credential=")[1].split("/")[0]
        data = ANSWER.format(action=form["ActionNames.member.1"], key=key).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


def iam(url: str, key: str) -> Any:
    return boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key="x" * 40, config=Config(retries={"total_max_attempts": 1}))


def simulate(url: str, key: str, actions: list[str]) -> dict[str, Any]:
    return dict(iam(url, key).simulate_principal_policy(PolicySourceArn="arn:aws:iam::123456789012:user/u",
                                                         ActionNames=actions))


@pytest.fixture
def upstream() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_replay_answers_what_was_recorded_and_refuses_the_rest(upstream: str, tmp_path: Path) -> None:
    recorder = ReplayEndpoint(Recording(), upstream=upstream).start()
    recorded = simulate(recorder.url, "AKIAAAAAAAAAAAAAAAA1", ["ec2:RunInstances", "iam:PassRole"])
    simulate(recorder.url, "AKIAAAAAAAAAAAAAAAA2", ["ec2:RunInstances", "iam:PassRole"])
    recorder.stop()
    recorder.recording.save(tmp_path / "answers.json.gz")

    replay = ReplayEndpoint(Recording.load(tmp_path / "answers.json.gz")).start()
    try:
        again = simulate(replay.url, "AKIAAAAAAAAAAAAAAAA1", ["iam:PassRole", "ec2:RunInstances"])  # other order
        assert again["EvaluationResults"] == recorded["EvaluationResults"]
        assert again["ResponseMetadata"]["RequestId"] == "AKIAAAAAAAAAAAAAAAA1", "key 1's answer, not key 2's"
        other = simulate(replay.url, "AKIAAAAAAAAAAAAAAAA2", ["ec2:RunInstances", "iam:PassRole"])
        assert other["ResponseMetadata"]["RequestId"] == "AKIAAAAAAAAAAAAAAAA2"
        assert replay.misses == []
        with pytest.raises(ClientError, match="UnrecordedRequest"):
            simulate(replay.url, "AKIAAAAAAAAAAAAAAAA1", ["ec2:RunInstances"])  # a request never recorded
        with pytest.raises(ClientError, match="UnrecordedRequest"):
            simulate(replay.url, "AKIAAAAAAAAAAAAAAAA3", ["ec2:RunInstances", "iam:PassRole"])  # another key
        assert len(replay.misses) == 2
        assert replay.calls["SimulatePrincipalPolicy"] == 4
    finally:
        replay.stop()
