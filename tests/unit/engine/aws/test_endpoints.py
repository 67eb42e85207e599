"""Where requests signed with a tenant's keys may go: AWS hosts over https, unless development endpoints are allowed."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck.engine.aws import session
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.model import Credential

KEYS = Credential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AWSClients]:
    """The operator's default: overrides ignored; a hostile environment and AWS config around it."""
    config = tmp_path / "config"
    config.write_text("[default]\nendpoint_url = http://127.0.0.1:9\n[profile other]\nservices = evil\n")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    yield AWSClients(honour_configured_endpoints=False)


@pytest.mark.parametrize(("url", "aws"), [
    ("https://sts.us-east-1.amazonaws.com/", True), ("https://iam.amazonaws.com", True),
    ("https://sts.cn-north-1.amazonaws.com.cn", True), ("https://sts.us-east-1.api.aws", True),
    ("http://sts.amazonaws.com", False), ("https://127.0.0.1:9443", False),
    ("https://amazonaws.com.evil.example", False), ("https://evilamazonaws.com", False),
    ("https://sts.amazonaws.com.", True),
])
def test_only_https_to_aws_hosts(url: str, aws: bool) -> None:
    assert session.is_aws_endpoint(url) is aws


def test_configured_overrides_are_ignored_and_named(strict: AWSClients) -> None:
    endpoints = strict.endpoints_in_use()
    assert endpoints == {"sts": "https://sts.us-east-1.amazonaws.com", "iam": "https://iam.amazonaws.com"}
    assert strict.ignored_overrides() == ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM",
                                          "profile default endpoint_url/services in the AWS config",
                                          "profile other endpoint_url/services in the AWS config"]
    ambient = strict.ambient_session("us-east-1").client("sts")
    assert ambient.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com", "the auditor's clients too"


def test_development_endpoints_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    honouring = AWSClients(honour_configured_endpoints=True)
    assert honouring.endpoints_in_use()["sts"] == "http://127.0.0.1:9"
    assert honouring.ignored_overrides() == []


def test_each_clients_object_keeps_its_own_policy(strict: AWSClients) -> None:
    """The policy is the object's, fixed when built: one honouring overrides beside it changes nothing of it."""
    honouring = AWSClients(honour_configured_endpoints=True)
    assert honouring.endpoints_in_use()["sts"] == "http://127.0.0.1:9"
    assert strict.endpoints_in_use()["sts"] == "https://sts.us-east-1.amazonaws.com"
    assert strict.explicit_client("sts", "us-east-1", session.RetryPolicy()) is not honouring.explicit_client(
        "sts", "us-east-1", session.RetryPolicy())


def test_a_request_to_another_host_is_refused_before_it_is_sent(strict: AWSClients) -> None:
    class Request:
        url = "http://127.0.0.1:9/"

    with pytest.raises(session.EndpointRefused, match="only https to AWS hosts"):
        strict._guard(Request())


def test_past_its_deadline_a_check_sends_no_aws_call() -> None:
    sts = AWSClients(honour_configured_endpoints=False).static_session(KEYS, "us-east-1").client("sts")
    with pytest.raises(session.DeadlineExceeded):
        session.run_before(time.monotonic() - 1, sts.get_caller_identity)
