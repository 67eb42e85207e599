"""A re-check round within AWS's limits (pure: plain values, a clock passed in).

The scheduler asks for due re-checks at the pace each called account's budget allows, spending what each check
made last time; the budget is keyed by the account the calls go to (the auditor's, when the auditor simulates),
and counts every call (GetRole included). A round is every check re-checked once."""

import asyncio
import random
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import ClientError
from fakes import FakeKube

from credcheck.controller import metrics, recheck
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import DEFAULT_COST, Schedule
from credcheck.controller.settings import Settings
from credcheck.controller.verdict_cache import VerdictCache
from credcheck.engine import auditing
from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.ratelimit import RateLimiter
from credcheck.engine.aws.session import AWSClients, AWSSession, RetryPolicy
from credcheck.engine.batches import plan
from credcheck.engine.check import Auditor, CheckOptions, Prepared
from credcheck.engine.model import OPERATING, Principal, Verdict
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck.kube.check_status import CheckStatus, Condition
from credcheck.kube.contract import timestamp
from credcheck.kube.status import next_check_time

TENANT, OTHER, AUDITOR = "111122223333", "444455556666", "999900001111"
INTERVAL = 6 * 3600.0
START = 1_800_000_000.0


def at(epoch: float) -> str:
    return timestamp(datetime.fromtimestamp(epoch, UTC))


def test_a_thousand_credentials_in_one_account_finish_a_round_inside_the_interval_within_the_budget() -> None:
    """The worst case: 1,000 checks of one account all due at once (created together), 9 IAM calls each (two
    Clusters: 7 simulations, 2 trust reads), the default budget of 5 calls/s. The scheduler asks at 80 % of it:
    9,000 calls take about 42 min (37.5 at exactly 4/s), far inside the 6 h interval, and the operator's own cap
    (5/s, what AWS is assumed to bear) never has to hold a check back: no call beyond the budget, no throttling."""
    budget, cost, tick = Settings().aws_calls_per_second, 9, recheck.SCHEDULER_TICK
    schedule = Schedule()
    schedule.configure(budget)
    limiter = RateLimiter(budget, clock=lambda: now)
    jitter = random.Random(23)
    keys = [("kubermatic", f"credential-aws-{i:04d}") for i in range(1000)]
    for key in keys:
        schedule.set(key, at(START), TENANT)
        schedule.cost(key, [(TENANT, cost)])
    now = START
    assert schedule.advance_round(now, 0) is None, "a round starts with the checks there are"
    calls: deque[float] = deque()
    peak, held_back, total, done = 0, 0, 0, None
    while done is None and now < START + 2 * INTERVAL:
        ready, _ = schedule.release(now)
        for key in ready:
            schedule.mark_requested(key)
            held_back += limiter.reserve(TENANT, cost) > 0
            calls.extend([now] * cost)
            total += cost
            after = next_check_time(datetime.fromtimestamp(now, UTC), INTERVAL, jitter.uniform(-1, 1))
            schedule.set(key, timestamp(after), TENANT)  # the check's new status
        while calls and calls[0] <= now - 60:
            calls.popleft()
        peak = max(peak, len(calls))
        done = schedule.advance_round(now, total)
        now += tick
    assert done is not None and done.checks == 1000 and done.calls == 9000
    assert done.duration <= 9000 / (0.8 * budget) * 1.25, f"the round took {done.duration:.0f} s"
    assert done.duration < INTERVAL / 8, "far inside the interval"
    assert peak <= budget * 60, f"{peak} calls in one minute: over the budget"
    assert held_back == 0, "no check ever had to wait at the account's cap: AWS never sees more than it allows"


def test_the_pace_follows_each_account_and_the_oldest_due_check_first() -> None:
    schedule = Schedule()
    schedule.configure(5.0)
    for i in range(50):
        schedule.set(("ns", f"a{i:02d}"), at(START - 100 + i), TENANT)
        schedule.cost(("ns", f"a{i:02d}"), [(TENANT, 8)])
    schedule.set(("ns", "b"), at(START), OTHER)  # never checked by this process: DEFAULT_COST in its account
    ready, waiting = schedule.release(START)
    assert ("ns", "b") in ready, "another account's budget is its own"
    assert [k for k in ready if k[1].startswith("a")] == [("ns", "a00")], "one check's 8 calls of the burst's 10"
    assert waiting == 49
    for key in ready:
        schedule.mark_requested(key)
    assert schedule.release(START + 1.0)[0] == [], "2 + 4 tokens: not enough for 8"
    later, _ = schedule.release(START + 1.5)
    assert later == [("ns", "a01")], "then the next, at 4 calls/s (80 % of 5), oldest due first"
    assert DEFAULT_COST >= 8


def test_what_a_check_made_through_the_auditor_is_paced_in_the_auditors_account() -> None:
    schedule = Schedule()
    schedule.configure(5.0)
    for tenant in (TENANT, OTHER):
        schedule.set(("ns", tenant), at(START), tenant)
        schedule.cost(("ns", tenant), [(AUDITOR, 6), (tenant, 2)])
    schedule.configure(5.0, burst=6.0)
    ready, waiting = schedule.release(START)
    assert ready == [("ns", TENANT)] and waiting == 1, "two tenants, one auditor account: one budget"


def test_a_round_ends_when_every_check_has_a_new_status_or_is_gone() -> None:
    schedule = Schedule()
    for name in ("a", "b", "c"):
        schedule.set(("ns", name), at(START), TENANT)
    assert schedule.advance_round(10.0, 100) is None
    schedule.set(("ns", "a"), at(START + INTERVAL), TENANT)
    schedule.set(("ns", "d"), at(START), TENANT)  # new meanwhile: the next round's
    schedule.forget(("ns", "b"))
    assert schedule.advance_round(20.0, 150) is None and schedule.pending() == 1
    schedule.set(("ns", "c"), at(START + INTERVAL), TENANT)
    done = schedule.advance_round(40.0, 190)
    assert done is not None and (done.duration, done.checks, done.calls) == (30.0, 3, 90)
    assert schedule.pending() == 3, "the next round: a, c, d"


AWS = AWSClients(honour_configured_endpoints=False)  # never asked: no test here reaches AWS


def prepared(auditor: Auditor | None, memory: AuditorCache) -> Prepared:
    principal = Principal(f"arn:aws:iam::{TENANT}:user/kkp", f"arn:aws:iam::{TENANT}:user/kkp", TENANT, "aws", "user")
    target = Target(cluster="c1", region="eu-central-1", kubernetes_version="1.34")
    profile = load_profile("kkp")
    requirements = list(profile.requirements(TENANT, target=target, keys_are_operating=True))
    session = AWSSession(AWS, None, "us-east-1")
    options = CheckOptions(profile, auditor=auditor, aws=AWS, auditor_cache=memory)
    return Prepared(options, session, session, principal, principal, (target,), requirements, [], plan(requirements),
                    ())


def test_the_budget_is_reserved_in_the_account_each_call_goes_to() -> None:
    memory = AuditorCache()
    p = prepared(Auditor(), memory)
    own = sum(1 for b in p.batches if b.principal == OPERATING)  # the user's; the rest: its control-plane role's
    roles = len(p.batches) - own
    assert own and roles
    assert p.planned_calls() == {TENANT: own + roles + 1}, "the simulations and the control-plane role's trust read"
    memory.simulated(p.principal.policy_source_arn, AUDITOR)  # the auditor had to simulate this user lately
    assert p.planned_calls() == {AUDITOR: own, TENANT: roles + 1}, "its simulations: the auditor's account"
    limiter = RateLimiter(rate=1.0, burst=20.0, clock=lambda: 0.0)
    assert p.reserve(limiter) == 0.0
    assert limiter._buckets[AUDITOR][0] == 20.0 - own and limiter._buckets[TENANT][0] == 20.0 - roles - 1
    assert p.static.budget.reserved == {AUDITOR: own, TENANT: roles + 1}


class OneAuditor(AuditorCache):
    """One auditor identity (a profile) in its own account, for every tenant account."""

    def session(self, aws: AWSClients, aws_profile: str | None, role_arn: str, region: str, retry: RetryPolicy,
                ) -> tuple[AWSSession, str]:
        return AWSSession(aws, None, region), f"arn:aws:sts::{AUDITOR}:assumed-role/credcheck-auditor/credcheck"


def test_an_auditor_simulating_for_many_tenant_accounts_spends_its_own_accounts_budget() -> None:
    options = CheckOptions(load_profile("kkp"), auditor=Auditor(), limiter=RateLimiter(5.0), aws=AWS,
                           auditor_cache=OneAuditor())
    for tenant in (TENANT, OTHER):
        principal = Principal(f"arn:aws:iam::{tenant}:user/kkp", f"arn:aws:iam::{tenant}:user/kkp", tenant, "aws",
                              "user")
        own = AWSSession(AWS, None, "us-east-1", limit_key=tenant)
        found = auditing.auditor_session(auditing.Identity(principal, own), options)
        assert not isinstance(found, Verdict)
        session, _ = found
        assert session.limit_key == AUDITOR, "the calls go to the auditor's account: its budget is spent"
        assert session.budget is own.budget and session.calls is own.calls, "counted with the check"


@dataclass(eq=False, kw_only=True)
class Refusing(AWSClients):
    """Clients whose ambient identity (the auditor's base) fails: AssumeRole refused."""

    honour_configured_endpoints: bool = False
    asked: list[str] = field(default_factory=list)

    def ambient_session(self, region: str, profile: str | None = None, retry: RetryPolicy | None = None,
                        ) -> AWSSession:
        self.asked.append("assume")
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "AssumeRole")


def test_a_failed_auditor_is_not_asked_again_by_every_check() -> None:
    aws = Refusing()
    principal = Principal(f"arn:aws:iam::{TENANT}:user/kkp", f"arn:aws:iam::{TENANT}:user/kkp", TENANT, "aws",
                          "user")
    auditor = Auditor(role_arn="arn:aws:iam::{account}:role/credcheck-auditor-unit")
    options = CheckOptions(load_profile("kkp"), auditor=auditor, aws=aws, auditor_cache=AuditorCache())
    first = auditing.auditor_session(auditing.Identity(principal, AWSSession(aws, None, "us-east-1")), options)
    second = auditing.auditor_session(auditing.Identity(principal, AWSSession(aws, None, "us-east-1")), options)
    assert isinstance(first, Verdict) and isinstance(second, Verdict)
    assert second.reason == first.reason and aws.asked == ["assume"], "the failure is remembered for a while"


async def never_run(body: object, logger: object, **_: object) -> None:
    raise AssertionError("a check that is gone is not run")


def test_a_check_the_scheduler_finds_gone_leaves_the_schedule_and_its_series() -> None:
    schedule = Schedule()
    key = ("kubermatic", "gone-unit")
    schedule.set(key, at(START), TENANT)
    metrics.record_status(*key, CheckStatus(conditions=(Condition("Ready", "True"),)), 600)
    runtime = Runtime(Settings(), FakeKube(), VerdictCache(60), ThreadPoolExecutor(1))  # holds no check: a GET is None
    asyncio.run(recheck.recheck(runtime, schedule, key, never_run))
    assert len(schedule) == 0, "not read again every round"
    assert metrics.REGISTRY.get_sample_value("credcheck_check_condition", {
        "check_namespace": key[0], "name": key[1], "condition": "Ready", "status": "True"}) is None


def test_however_many_are_due_only_a_few_re_checks_are_open_at_once() -> None:
    """Without a budget (0: no cap) a thousand checks due together were all asked for at once: a thousand handlers
    and their bodies held while the AWS side worked through them. Now at most `open_limit` are open."""
    schedule = Schedule()
    schedule.configure(0.0, open_limit=16)
    for i in range(1000):
        schedule.set(("ns", f"c{i:04d}"), at(START), TENANT)
    ready, waiting = schedule.release(START)
    assert len(ready) == 16 and waiting == 984
    for key in ready:
        schedule.mark_requested(key, START)
    assert schedule.release(START + 1) == ([], 984), "none more while those are open"
    for key in ready[:5]:
        schedule.set(key, at(START + INTERVAL), TENANT)  # their new statuses
    more, _ = schedule.release(START + 2)
    assert len(more) == 5
    for key in more:
        schedule.mark_requested(key, START + 2)
    assert len(schedule.release(START + 301)[0]) == 11, "an unanswered request stops counting after 5 min"
