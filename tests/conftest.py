"""Session fixtures for the real parts: a local kube-apiserver + etcd, and the local AWS endpoint.

Both start once per test session in a temporary folder and stop at its end. Set
CREDCHECK_TESTGROUND_STATE to a running dev environment's folder (`make dev-env`) to reuse it instead.
"""

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from credcheck_testground import aws, controlplane
from credcheck_testground.processes import stop_all

T = TypeVar("T")

# shared test code (e.g. policy_edits), importable from every layer: unit, aws, cluster
sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))


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


def _started(tmp_path_factory: pytest.TempPathFactory, name: str, start: Callable[[Path], T],
             attach: Callable[[Path], T]) -> Iterator[T]:
    """A test-ground part: the running dev environment's when CREDCHECK_TESTGROUND_STATE is set, else a new one."""
    reused = _reused_state()
    if reused:
        yield attach(reused)
        return
    state = tmp_path_factory.mktemp(name)
    try:
        yield start(state)
    finally:
        stop_all(state)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    yield from _started(tmp_path_factory, "control-plane", controlplane.start, controlplane.attach)


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[aws.LocalAWS]:
    yield from _started(tmp_path_factory, "aws", aws.start, aws.attach)


@pytest.fixture
def clean_faults(local_aws: aws.LocalAWS) -> Iterator[aws.LocalAWS]:
    """The AWS endpoint with no faults before and after the test."""
    local_aws.clear_faults()
    yield local_aws
    local_aws.clear_faults()
    local_aws.outage(down=False)
