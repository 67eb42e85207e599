"""The one place background loops start and stop: a loop that fails comes back after a growing delay, is shown down
in Health (and so on /readyz) meanwhile, and stop_all ends every loop it started."""

import asyncio
import logging

import pytest

from credcheck.controller import metrics, supervise
from credcheck.controller.supervise import Health, Supervisor

LOG = logging.getLogger("test.supervise")


def restarts(name: str) -> float:
    return metrics.REGISTRY.get_sample_value("credcheck_background_restarts_total", {"loop": name}) or 0.0


def test_a_started_loop_runs_under_its_name_and_stop_all_cancels_it() -> None:
    health = Health()
    ended: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            ended.append("forever")

    async def scenario() -> None:
        supervisor = Supervisor(health, LOG)
        supervisor.start("unit-forever", forever)
        await asyncio.sleep(0.01)
        assert health.running == {"unit-forever": True} and health.ok()
        with pytest.raises(RuntimeError, match="runs already"):
            supervisor.start("unit-forever", forever)
        await asyncio.wait_for(supervisor.stop_all(), 5)
        assert ended == ["forever"], "cancelled, and waited for until it ended"
        assert health.running == {"unit-forever": False}
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == [], "no task left behind"

    asyncio.run(scenario())


def test_a_failing_loop_is_restarted_with_backoff_and_shown_down_meanwhile(monkeypatch: pytest.MonkeyPatch) -> None:
    health = Health()
    calls = 0
    delays: list[float] = []
    seen_down: list[list[str]] = []
    real_sleep = asyncio.sleep

    async def backoff(delay: float) -> None:  # the supervisor's wait between restarts, recorded and made short
        delays.append(delay)
        seen_down.append(health.down())
        await real_sleep(0)

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise ValueError(f"failure {calls}")
        await asyncio.Event().wait()

    async def scenario() -> None:
        supervisor = Supervisor(health, LOG, base_delay=2.0)
        supervisor.start("unit-flaky", flaky)
        for _ in range(100):
            if calls == 4:
                break
            await real_sleep(0)
        assert calls == 4, "restarted after each failure"
        assert health.running["unit-flaky"] and health.ok(), "up again once it runs"
        await supervisor.stop_all()

    before = restarts("unit-flaky")
    monkeypatch.setattr(supervise.asyncio, "sleep", backoff)
    asyncio.run(scenario())
    monkeypatch.undo()
    assert delays == [2.0, 4.0, 8.0], "1, 2, 4 … times the base delay"
    assert seen_down == [["unit-flaky"]] * 3, "down (readiness fails) while it waits for its restart"
    assert restarts("unit-flaky") == before + 3


def test_a_loop_that_returns_counts_as_failed() -> None:
    health = Health()

    async def returns() -> None:
        return None

    async def scenario() -> None:
        supervisor = Supervisor(health, LOG, base_delay=60.0)
        supervisor.start("unit-returns", returns)
        await asyncio.sleep(0.01)
        assert health.down() == ["unit-returns"] and not health.ok()
        await supervisor.stop_all()

    before = restarts("unit-returns")
    asyncio.run(scenario())
    assert restarts("unit-returns") == before + 1


def test_stop_all_ends_every_loop_it_started_and_only_those() -> None:
    health = Health()

    async def forever() -> None:
        await asyncio.Event().wait()

    async def scenario() -> None:
        mine, other = Supervisor(health, LOG), Supervisor(health, LOG)
        for name in ("unit-a", "unit-b"):
            mine.start(name, forever)
        other.start("unit-c", forever)
        await asyncio.sleep(0.01)
        await mine.stop_all()
        assert health.running == {"unit-a": False, "unit-b": False, "unit-c": True}
        mine.start("unit-a", forever)  # a stopped loop can be started again
        await asyncio.sleep(0.01)
        assert health.running["unit-a"]
        await mine.stop_all()
        await other.stop_all()
        assert not any(health.running.values())

    asyncio.run(scenario())
