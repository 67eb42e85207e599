"""The simulation strategy's decisions on plain values (engine/simulation.py): who simulates each identity first, what
follows a failure, how batches' answers merge and how the identities' outcomes assemble into one answer. No AWS, no
network: simulate_all runs with a stand-in for the one SimulatePrincipalPolicy call (simulate_batch)."""

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from credcheck.engine import simulation
from credcheck.engine.auditing import Identity
from credcheck.engine.aws.auditor import SELF, AuditorCache
from credcheck.engine.aws.session import AWSClients, AWSSession
from credcheck.engine.batches import RequestKey, SimulationBatch
from credcheck.engine.model import OPERATING, Principal, Requirement, Severity, SimulationResult, Status, Verdict
from credcheck.engine.model import role_principal as role_kind
from credcheck.engine.options import Auditor, CheckOptions
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.simulation import AfterFailure, Route, after_failure, assembled, groups_of, merged, route

USER = "arn:aws:iam::123456789012:user/kkp"
ROLE_ARN = "arn:aws:iam::123456789012:role/kubernetes-abc-control-plane"
ROLE = role_kind(ROLE_ARN)
AUDITOR_ACCOUNT = "999999999999"


def denied(code: str = "AccessDenied") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "SimulatePrincipalPolicy")


def batch(principal: str, action: str) -> SimulationBatch:
    return SimulationBatch(principal, ("*",), (action,), (), answers=((principal, action, "*", ()),))


def answer(b: SimulationBatch) -> dict[RequestKey, SimulationResult]:
    return {key: SimulationResult(key[1], "*", "allowed") for key in b.answers}


# --- route: who is asked first -------------------------------------------------------------------------------------

def test_an_identity_that_simulated_itself_lately_sends_every_batch_to_itself() -> None:
    assert route(SELF, may_audit=True) is Route.SELF
    assert route(SELF, may_audit=False) is Route.SELF


def test_an_identity_the_auditor_simulated_lately_goes_straight_to_the_auditor() -> None:
    assert route(AUDITOR_ACCOUNT, may_audit=True) is Route.AUDITOR


def test_an_auditor_that_may_not_simulate_a_role_sends_it_to_probe_itself() -> None:
    """A role a check's maker typed (audit_roles off): never the auditor, even if it simulated that role before."""
    assert route(AUDITOR_ACCOUNT, may_audit=False) is Route.PROBE


def test_an_identity_not_simulated_lately_is_probed_with_one_batch() -> None:
    assert route(None, may_audit=True) is Route.PROBE
    assert route(None, may_audit=False) is Route.PROBE


# --- after_failure: what a failed first round leads to -------------------------------------------------------------

def test_a_denied_identity_goes_to_the_auditor_when_one_may_stand_in() -> None:
    assert after_failure(denied(), audited=False, may_audit=True) is AfterFailure.ASK_AUDITOR
    assert after_failure(denied("AccessDeniedException"), audited=False, may_audit=True) is AfterFailure.ASK_AUDITOR


def test_a_denied_identity_without_an_auditor_is_not_permitted() -> None:
    assert after_failure(denied(), audited=False, may_audit=False) is AfterFailure.NOT_PERMITTED


def test_a_failure_other_than_a_denial_is_the_identitys_own_answer_never_the_auditors_turn() -> None:
    assert after_failure(denied("Throttling"), audited=False, may_audit=True) is AfterFailure.FAILED
    assert after_failure(RuntimeError("boom"), audited=False, may_audit=True) is AfterFailure.FAILED


def test_a_failure_of_the_auditor_is_the_auditors_whatever_aws_said() -> None:
    assert after_failure(denied(), audited=True, may_audit=True) is AfterFailure.AUDITOR_FAILED
    assert after_failure(denied("Throttling"), audited=True, may_audit=True) is AfterFailure.AUDITOR_FAILED


# --- groups and merging --------------------------------------------------------------------------------------------

def test_each_identity_gets_its_batches_in_plan_order_and_one_without_batches_is_left_out() -> None:
    batches = [batch(OPERATING, "ec2:A"), batch(ROLE, "ec2:B"), batch(OPERATING, "ec2:C")]
    assert groups_of([OPERATING, ROLE, "keys"], batches) == {OPERATING: [batches[0], batches[2]], ROLE: [batches[1]]}


def test_an_identitys_answers_merge_over_its_batches() -> None:
    a, b = batch(OPERATING, "ec2:A"), batch(OPERATING, "ec2:B")
    out = merged([(OPERATING, answer(a)), (OPERATING, answer(b))])
    assert out == {OPERATING: {**answer(a), **answer(b)}}


def test_an_identitys_first_failure_wins_over_its_answers_and_later_failures() -> None:
    first, later = denied(), denied("Throttling")
    out = merged([(OPERATING, answer(batch(OPERATING, "ec2:A"))), (OPERATING, first), (OPERATING, later),
                  (ROLE, answer(batch(ROLE, "ec2:B")))])
    assert out[OPERATING] is first
    assert out[ROLE] == answer(batch(ROLE, "ec2:B")), "another identity's answers are kept"


def test_a_failure_that_is_no_exception_becomes_a_runtime_error_naming_it() -> None:
    out = merged([(OPERATING, KeyboardInterrupt())])
    assert isinstance(out[OPERATING], RuntimeError) and "KeyboardInterrupt" in str(out[OPERATING])


# --- assembly ------------------------------------------------------------------------------------------------------

def test_the_credentials_own_failure_is_the_checks_verdict() -> None:
    refusal = Verdict(Status.UNKNOWN, "SimulationNotPermitted", "may not")
    groups = {OPERATING: [batch(OPERATING, "ec2:A")], ROLE: [batch(ROLE, "ec2:B")]}
    assert assembled(groups, {OPERATING: refusal, ROLE: (answer(groups[ROLE][0]), "self")}) is refusal


def test_a_roles_failure_leaves_its_questions_undecided_saying_why_and_keeps_the_others_answers() -> None:
    groups = {OPERATING: [batch(OPERATING, "ec2:A")], ROLE: [batch(ROLE, "ec2:B")]}
    why = "x" * 400
    out = assembled(groups, {OPERATING: (answer(groups[OPERATING][0]), "self"),
                             ROLE: Verdict(Status.UNKNOWN, "NoSuchEntity", why)})
    assert not isinstance(out, Verdict)
    results, by, unasked = out
    assert results == answer(groups[OPERATING][0]) and by == "self"
    assert list(unasked) == [ROLE] and ROLE_ARN in unasked[ROLE] and "NoSuchEntity" in unasked[ROLE]
    assert "x" * 300 in unasked[ROLE] and "x" * 301 not in unasked[ROLE], "AWS's message is cut at 300 characters"


def test_who_simulated_is_named_once_each_in_order_and_self_when_nobody_answered() -> None:
    a, b, c = batch(OPERATING, "ec2:A"), batch(ROLE, "ec2:B"), batch("keys", "ec2:C")
    groups = {OPERATING: [a], ROLE: [b], "keys": [c]}
    out = assembled(groups, {OPERATING: (answer(a), "arn:auditor"), ROLE: (answer(b), "self"),
                             "keys": (answer(c), "arn:auditor")})
    assert not isinstance(out, Verdict) and out[1] == "arn:auditor, self"
    empty = assembled({ROLE: [b]}, {ROLE: Verdict(Status.UNKNOWN, "NoSuchEntity", "gone")})
    assert not isinstance(empty, Verdict) and empty[:2] == ({}, "self")


def test_only_the_failed_roles_requirements_are_marked_undecided() -> None:
    mine = Requirement("ec2:A", "*", Severity.REQUIRED, ("f",), "ec2:A")
    roles = Requirement("ec2:B", "*", Severity.REQUIRED, ("f",), "ec2:B", principal=ROLE)
    out = simulation.undecided([mine, roles], {ROLE: "the role could not be simulated"})
    assert out == [mine, Requirement("ec2:B", "*", Severity.REQUIRED, ("f",), "ec2:B", principal=ROLE,
                                     undecided_because="the role could not be simulated")]


# --- simulate_all with a stand-in for the one AWS call -------------------------------------------------------------

class Sent:
    """Stands in for engine/aws/simulator.py's simulate_batch: records each request, refuses the denied sources."""

    def __init__(self, refused: Sequence[str] = ()) -> None:
        self.refused = set(refused)
        self.sent: list[tuple[str, SimulationBatch]] = []

    def __call__(self, session: AWSSession, source: str, b: SimulationBatch) -> dict[RequestKey, SimulationResult]:
        self.sent.append((source, b))
        if source in self.refused:
            raise denied()
        return answer(b)


def identities(aws: AWSClients) -> dict[str, Identity]:
    user = Principal(USER, USER, "123456789012", "aws", "user")
    session = AWSSession(aws, None, "us-east-1")
    role = Principal(ROLE_ARN, ROLE_ARN, "123456789012", "aws", "role")
    return {OPERATING: Identity(user, session), ROLE: Identity(role, session)}


@pytest.fixture
def aws() -> Iterator[AWSClients]:
    clients = AWSClients(honour_configured_endpoints=False, simulations=ThreadPoolExecutor(2))
    yield clients
    clients.simulations.shutdown()


def test_a_role_not_simulated_lately_that_is_denied_costs_one_request_not_one_per_batch(
        monkeypatch: pytest.MonkeyPatch, aws: AWSClients) -> None:
    sent = Sent(refused=[ROLE_ARN])
    monkeypatch.setattr(simulation, "simulate_batch", sent)
    batches = [batch(OPERATING, f"ec2:A{i}") for i in range(3)] + [batch(ROLE, f"ec2:B{i}") for i in range(3)]
    memory = AuditorCache()
    options = CheckOptions(load_profile("kkp"), aws=aws, auditor_cache=memory)
    out = simulation.simulate_all(identities(aws), batches, options)
    assert [source for source, _ in sent.sent].count(ROLE_ARN) == 1, "the role's other batches are never sent"
    assert sorted(b.actions[0] for source, b in sent.sent if source == USER) == ["ec2:A0", "ec2:A1", "ec2:A2"]
    assert not isinstance(out, Verdict)
    results, by, unasked = out
    assert {key[1] for key in results} == {"ec2:A0", "ec2:A1", "ec2:A2"} and by == "self"
    assert "SimulationNotPermitted" in unasked[ROLE]
    assert memory.simulator_lately(USER) == SELF and memory.simulator_lately(ROLE_ARN) is None


def test_the_credential_denied_without_an_auditor_ends_the_check_after_one_request(
        monkeypatch: pytest.MonkeyPatch, aws: AWSClients) -> None:
    sent = Sent(refused=[USER])
    monkeypatch.setattr(simulation, "simulate_batch", sent)
    batches = [batch(OPERATING, f"ec2:A{i}") for i in range(3)]
    options = CheckOptions(load_profile("kkp"), aws=aws, auditor_cache=AuditorCache())
    out = simulation.simulate_all(identities(aws), batches, options)
    assert isinstance(out, Verdict) and out.reason == "SimulationNotPermitted" and len(sent.sent) == 1
    assert USER in out.message, "the statement to add names the credential's own ARN"


def test_an_identity_that_simulated_itself_lately_sends_all_its_batches_in_the_first_round(
        monkeypatch: pytest.MonkeyPatch, aws: AWSClients) -> None:
    sent = Sent(refused=[USER])  # refused this time: a known simulator is not probed with one batch first
    monkeypatch.setattr(simulation, "simulate_batch", sent)
    memory = AuditorCache()
    memory.simulated(USER, SELF)
    batches = [batch(OPERATING, f"ec2:A{i}") for i in range(3)]
    options = CheckOptions(load_profile("kkp"), aws=aws, auditor_cache=memory)
    out = simulation.simulate_all(identities(aws), batches, options)
    assert len(sent.sent) == 3, "all three batches went at once"
    assert isinstance(out, Verdict) and out.reason == "SimulationNotPermitted"
    assert memory.simulator_lately(USER) is None, "a failure forgets who simulated it"


def test_an_identity_the_auditor_may_not_simulate_is_not_sent_to_the_auditor_it_had_lately(
        monkeypatch: pytest.MonkeyPatch, aws: AWSClients) -> None:
    """audit_roles off (a role a check's maker typed): the role probes itself, the auditor's session is never made."""
    sent = Sent(refused=[ROLE_ARN])
    monkeypatch.setattr(simulation, "simulate_batch", sent)
    memory = AuditorCache()
    memory.simulated(ROLE_ARN, AUDITOR_ACCOUNT)
    batches = [batch(ROLE, f"ec2:B{i}") for i in range(2)]
    options = CheckOptions(load_profile("kkp"), aws=aws, auditor_cache=memory, auditor=Auditor(), audit_roles=False)
    out = simulation.simulate_all(identities(aws), batches, options)
    assert [source for source, _ in sent.sent] == [ROLE_ARN], "one probe by the role's own session"
    assert not isinstance(out, Verdict) and "SimulationNotPermitted" in out[2][ROLE]
