"""The discovery queue and planner: one worker per key, re-run after a change seen mid-run, retries with backoff;
plans decided from the indexes alone."""

import asyncio
from typing import Any

from credcheck.controller.discovery.desired import discovery_view
from credcheck.controller.discovery.queue import KeyQueue
from credcheck.controller.discovery.world import (
    CheckView,
    DiscoveryScope,
    PresetKey,
    PresetView,
    SecretKey,
    Snapshot,
    all_keys,
    plan_for,
)
from credcheck.engine.target import Target
from credcheck.kube.kkp import KKPCluster

SETTINGS = DiscoveryScope(("kubermatic",), "kubermatic", "kkp", "6h")


def world(**kw: Any) -> Snapshot:
    base: dict[str, Any] = {"secrets": {}, "clusters": {}, "eks": {}, "regions": {}, "presets": {}, "checks": {}}
    base.update(kw)
    return Snapshot(**base)


def test_one_worker_per_key_and_a_rerun_for_what_it_missed() -> None:
    running: set[object] = set()
    runs: list[object] = []

    async def work(key: object) -> None:
        assert key not in running, "two workers on one key"
        running.add(key)
        runs.append(key)
        await asyncio.sleep(0.01)
        running.discard(key)

    async def scenario() -> None:
        queue = KeyQueue(work)
        queue.enqueue("a")
        queue.enqueue("a")  # before it runs: the same run
        queue.enqueue("b")
        while "a" not in running:
            await asyncio.sleep(0)
        queue.enqueue("a")  # while running: once more afterwards
        queue.enqueue("a")  # …but only once
        for _ in range(100):
            await asyncio.sleep(0.01)
            if queue.idle():
                break
        assert queue.idle()

    asyncio.run(scenario())
    assert sorted(runs) == ["a", "a", "b"]


def test_failures_are_retried_with_backoff_until_they_succeed() -> None:
    attempts: list[float] = []

    async def scenario() -> KeyQueue:
        loop = asyncio.get_running_loop()

        async def work(key: object) -> None:
            attempts.append(loop.time())
            if len(attempts) < 3:
                raise RuntimeError("apiserver said 500")

        queue = KeyQueue(work, base_delay=0.05, max_delay=1)
        queue.enqueue("k")
        for _ in range(100):
            await asyncio.sleep(0.02)
            if len(attempts) == 3 and queue.idle():
                break
        return queue

    queue = asyncio.run(scenario())
    assert len(attempts) == 3 and queue.failing == 0 and queue.failed_total == 2
    assert attempts[2] - attempts[1] >= 2 * (attempts[1] - attempts[0]) * 0.8, "the wait doubles"


def use(cluster: str, secret: str) -> KKPCluster:
    return KKPCluster(Target(cluster=cluster), ("kubermatic", secret))


def test_plans_follow_the_latest_state() -> None:
    key = SecretKey("kubermatic", "credential-aws-a")
    fresh = world(secrets={("kubermatic", "credential-aws-a"): ["7"]},
                  clusters={("kubermatic", "credential-aws-a"): [use("c1", "credential-aws-a")]})
    plan = plan_for(key, fresh, SETTINGS)
    assert plan.ensure is not None and plan.ensure["spec"]["clusters"] == [{"name": "c1"}]
    stored = CheckView("kubermatic", "credential-aws-a", True, discovery_view(plan.ensure), "7")
    same = world(secrets=fresh.secrets, clusters=fresh.clusters, checks={("kubermatic", "credential-aws-a"): [stored]})
    assert plan_for(key, same, SETTINGS).empty, "nothing to write: no API call"
    moved = world(secrets=fresh.secrets, checks=same.checks)  # the Cluster now points elsewhere
    assert plan_for(key, moved, SETTINGS).ensure["spec"]["clusters"] == []  # type: ignore[index]


def test_a_gone_secret_nobody_uses_loses_its_check_and_user_checks_follow_rotation() -> None:
    key = SecretKey("kubermatic", "credential-aws-b")
    ours = CheckView("kubermatic", "credential-aws-b", True, "{}", "1")
    theirs = CheckView("kubermatic", "mine", False, "{}", "1")
    gone = world(checks={("kubermatic", "credential-aws-b"): [ours, theirs]})
    assert plan_for(key, gone, SETTINGS).remove == (("kubermatic", "credential-aws-b"),)
    rotated = world(secrets={("kubermatic", "credential-aws-b"): ["2"]},
                    checks={("kubermatic", "credential-aws-b"): [ours, theirs]})
    plan = plan_for(key, rotated, SETTINGS)
    assert plan.touch == (("kubermatic", "mine"),) and plan.version == "2"


def test_presets_and_the_resync_work_list() -> None:
    w = world(presets={"team-a": [PresetView("3", True, None, None)], "no-aws": [PresetView("4", False, None, None)]},
              secrets={("kubermatic", "unrelated"): ["1"], ("elsewhere", "credential-aws-x"): ["1"]})
    assert plan_for(PresetKey("team-a"), w, SETTINGS).ensure is not None
    assert plan_for(PresetKey("no-aws"), w, SETTINGS).empty
    assert plan_for(SecretKey("kubermatic", "unrelated"), w, SETTINGS).empty
    keys = all_keys(w, SETTINGS)
    assert PresetKey("team-a") in keys and SecretKey("kubermatic", "unrelated") in keys
    assert SecretKey("elsewhere", "credential-aws-x") not in keys, "only watched namespaces"


def test_a_resync_of_thousands_of_keys_runs_a_few_workers_not_a_task_per_key() -> None:
    """Every key of a seed (10,000 Secrets) is enqueued at each resync: they wait as keys, a few workers take
    them (a task per key cost about 2 KB each, all at once)."""
    active, peak, done = 0, 0, 0

    async def work(key: object) -> None:
        nonlocal active, peak, done
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0)
        active -= 1
        done += 1

    async def scenario() -> KeyQueue:
        queue = KeyQueue(work, workers=8)
        for i in range(5000):
            queue.enqueue(i)
        assert len(queue._tasks) <= 8
        while not queue.idle():
            await asyncio.sleep(0.001)
        return queue

    asyncio.run(scenario())
    assert peak <= 8 and done == 5000
