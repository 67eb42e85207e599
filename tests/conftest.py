"""Session fixtures for the real parts: a local kube-apiserver + etcd, and the local AWS endpoint.

Both start once per test session in a temporary folder and stop at its end. Set
CREDCHECK_TESTGROUND_STATE to a running dev environment's folder (`make dev-env`) to reuse it instead.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from credcheck_testground import aws, controlplane
from credcheck_testground.processes import stop_all


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="run the long soak and load tests (minutes)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="long-running: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def soak(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--soak"))


def _reused_state() -> Path | None:
    state = os.environ.get("CREDCHECK_TESTGROUND_STATE")
    return Path(state) if state else None


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    reused = _reused_state()
    if reused:
        yield controlplane.attach(reused)
        return
    state = tmp_path_factory.mktemp("control-plane")
    try:
        yield controlplane.start(state)
    finally:
        stop_all(state)


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[aws.LocalAWS]:
    reused = _reused_state()
    if reused:
        yield aws.attach(reused)
        return
    state = tmp_path_factory.mktemp("aws")
    try:
        yield aws.start(state)
    finally:
        stop_all(state)


@pytest.fixture
def clean_faults(local_aws: aws.LocalAWS) -> Iterator[aws.LocalAWS]:
    """The AWS endpoint with no faults before and after the test."""
    local_aws.clear_faults()
    yield local_aws
    local_aws.clear_faults()
    local_aws.outage(down=False)
