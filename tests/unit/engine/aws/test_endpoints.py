"""Where requests signed with a tenant's keys may go: AWS hosts over https, unless development endpoints are allowed."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck.engine.aws import session
from credcheck.engine.model import Credential

KEYS = Credential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The operator's default: overrides ignored; a hostile environment and AWS config around it."""
    config = tmp_path / "config"
    config.write_text("[default]\nendpoint_url = http://127.0.0.1:9\n[profile other]\nservices = evil\n")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    session.configure_endpoints(honour_configured=False)
    try:
        yield
    finally:
        session.configure_endpoints(honour_configured=True)


@pytest.mark.parametrize(("url", "aws"), [
    ("https://sts.us-east-1.amazonaws.com/", True), ("https://iam.amazonaws.com", True),
    ("https://sts.cn-north-1.amazonaws.com.cn", True), ("https://sts.us-east-1.api.aws", True),
    ("http://sts.amazonaws.com", False), ("https://127.0.0.1:9443", False),
    ("https://amazonaws.com.evil.example", False), ("https://evilamazonaws.com", False),
    ("https://sts.amazonaws.com.", True),
])
def test_only_https_to_aws_hosts(url: str, aws: bool) -> None:
    assert session.is_aws_endpoint(url) is aws


@pytest.mark.usefixtures("strict")
def test_configured_overrides_are_ignored_and_named() -> None:
    endpoints = session.endpoints_in_use()
    assert endpoints == {"sts": "https://sts.us-east-1.amazonaws.com", "iam": "https://iam.amazonaws.com"}
    assert session.ignored_overrides() == ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
                                           "profile default endpoint_url/services in the AWS config",
                                           "profile other endpoint_url/services in the AWS config"]
    ambient = session.ambient_session("us-east-1").client("sts")
    assert ambient.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com", "the auditor's clients too"


def test_development_endpoints_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    session.configure_endpoints(honour_configured=True)
    assert session.endpoints_in_use()["sts"] == "http://127.0.0.1:9"
    assert session.ignored_overrides() == []


@pytest.mark.usefixtures("strict")
def test_a_request_to_another_host_is_refused_before_it_is_sent() -> None:
    class Request:
        url = "http://127.0.0.1:9/"

    with pytest.raises(session.EndpointRefused, match="only https to AWS hosts"):
        session._guard(Request())


def test_past_its_deadline_a_check_sends_no_aws_call() -> None:
    sts = session.static_session(KEYS, "us-east-1").client("sts")
    with pytest.raises(session.DeadlineExceeded):
        session.run_before(time.monotonic() - 1, sts.get_caller_identity)
