"""The simulation strategy: who simulates each identity of a check (itself, or the auditor), in which order its
batches go, and how the answers are put together. The decisions are pure functions of plain values (route,
after_failure, merged, assembled, undecided: tests/unit/engine/test_simulation.py); simulate_all carries them out,
sending the batches through engine/aws/simulator.py."""

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from enum import StrEnum
from functools import partial

from credcheck.engine.auditing import Identity, auditor_failed, auditor_for, auditor_session
from credcheck.engine.aws.auditor import SELF
from credcheck.engine.aws.errors import ACCESS_DENIED, describe, error_code
from credcheck.engine.aws.session import AWSSession
from credcheck.engine.aws.simulator import fan_out, simulate_batch
from credcheck.engine.batches import RequestKey, SimulationBatch
from credcheck.engine.model import Principal, Requirement, SimulationResult, Verdict, role_of
from credcheck.engine.options import CheckOptions
from credcheck.engine.outcomes import failure_verdict, unknown

SIMULATE_STATEMENT = ('{"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", '
                      '"Resource": "%s"}')

Simulated = dict[RequestKey, SimulationResult]
Requests = dict[str, tuple[AWSSession, str, Sequence[SimulationBatch]]]  # identity -> simulator, source, batches
Outcome = tuple[Simulated, str] | Verdict  # an identity's answers and who simulated it, or why it was not


class Route(StrEnum):
    """How an identity's batches go in the first round."""

    AUDITOR = "auditor"  # all at once, to the auditor that simulated it lately
    SELF = "self"  # all at once, to itself: it simulated itself lately
    PROBE = "probe"  # one batch, by itself; the others only if that worked (a missing role costs one request)


class AfterFailure(StrEnum):
    """What follows an identity's failed first round."""

    AUDITOR_FAILED = "auditor-failed"  # the auditor simulated it and failed: Unknown, AWS's words only in the log
    FAILED = "failed"  # any failure but a denial: Invalid or Unknown, as AWS said
    NOT_PERMITTED = "not-permitted"  # it may not simulate itself, and the auditor may not stand in
    ASK_AUDITOR = "ask-auditor"  # it may not simulate itself: all its batches go to the auditor


def route(simulator_lately: str | None, may_audit: bool) -> Route:
    """simulator_lately: who simulated the identity lately (SELF, the auditor's account, None: not lately)."""
    if simulator_lately is not None and simulator_lately != SELF and may_audit:
        return Route.AUDITOR
    if simulator_lately == SELF:
        return Route.SELF
    return Route.PROBE


def after_failure(err: Exception, audited: bool, may_audit: bool) -> AfterFailure:
    if audited:
        return AfterFailure.AUDITOR_FAILED
    if error_code(err) not in ACCESS_DENIED:
        return AfterFailure.FAILED
    return AfterFailure.ASK_AUDITOR if may_audit else AfterFailure.NOT_PERMITTED


def groups_of(kinds: Iterable[str], batches: Sequence[SimulationBatch]) -> dict[str, list[SimulationBatch]]:
    """Each identity's batches, in plan order; identities without any are left out."""
    groups = {kind: [b for b in batches if b.principal == kind] for kind in kinds}
    return {kind: mine for kind, mine in groups.items() if mine}


def merged(results: Iterable[tuple[str, Simulated | BaseException]]) -> dict[str, Simulated | Exception]:
    """Per identity the answers of all its batches, or the first failure of its batches."""
    out: dict[str, Simulated | Exception] = {}
    for kind, result in results:
        if isinstance(result, BaseException):
            if not isinstance(out.get(kind), Exception):
                out[kind] = result if isinstance(result, Exception) else RuntimeError(repr(result))
            continue
        found = out.setdefault(kind, {})
        if isinstance(found, dict):
            found.update(result)
    return out


def run_batches(requests: Mapping[str, tuple[AWSSession, str, Sequence[SimulationBatch]]], pool: Executor,
                ) -> dict[str, Simulated | Exception]:
    """Every batch of every identity at once (in `pool`, the simulation threads); per identity its results, or the
    first failure of its batches."""
    calls = [(kind, partial(simulate_batch, session, source, batch))
             for kind, (session, source, batches) in requests.items() for batch in batches]
    return merged(zip([kind for kind, _ in calls], fan_out([call for _, call in calls], pool), strict=True))


def not_permitted(principal: Principal) -> Verdict:
    return unknown("SimulationNotPermitted",
                   f"{principal.caller_arn} may not call iam:SimulatePrincipalPolicy on itself, and no auditor "
                   "is configured; nothing was verified. Add this statement to the credential's policy: "
                   + SIMULATE_STATEMENT % principal.policy_source_arn
                   + " — or configure an auditor identity", principal)


def simulate_all(identities: dict[str, Identity], batches: Sequence[SimulationBatch], options: CheckOptions,
                 ) -> tuple[dict[RequestKey, SimulationResult], str, dict[str, str]] | Verdict:
    """Every identity's batches simulated, at once (wall time: the slowest batch, not the sum), each identity by
    itself — or by the auditor, when it may not simulate itself. The credential's own failing ends the check, a
    control-plane role's failing (not created yet, not permitted) leaves its questions undecided: returned as
    principal -> why.

    Who simulated each identity lately is remembered (SELF_RETRY): such an identity's batches all go at once to
    that simulator. One not simulated lately (new, a role not created yet, one that may not simulate itself) is
    asked one batch first, with the first batches of the others, and its other batches only if that worked: a
    missing role or a missing permission costs one request, not one per batch."""
    groups = groups_of(identities, batches)
    outcomes: dict[str, Outcome] = {}
    done: dict[str, Simulated] = {}
    auditor_arns: dict[str, str] = {}
    first, rest = _first_requests(identities, groups, options, outcomes, auditor_arns)
    by_auditor: list[str] = []
    second: Requests = {}
    memory = options.auditor_cache
    for kind, result in run_batches(first, options.aws.simulations).items():
        principal = identities[kind].principal
        if not isinstance(result, Exception):
            done[kind] = result
            if rest.get(kind):
                second[kind] = (first[kind][0], first[kind][1], rest[kind])
            continue
        step = after_failure(result, kind in auditor_arns, auditor_for(kind, options) is not None)
        if step is AfterFailure.ASK_AUDITOR:
            by_auditor.append(kind)
            continue
        if step is AfterFailure.AUDITOR_FAILED:
            outcomes[kind] = auditor_failed(result, principal)
        elif step is AfterFailure.FAILED:
            outcomes[kind] = failure_verdict(describe(result, "iam:SimulatePrincipalPolicy"), principal)
        else:
            outcomes[kind] = not_permitted(principal)
        memory.simulated(principal.policy_source_arn, None)
    for kind in by_auditor:
        session = auditor_session(identities[kind], options)
        if isinstance(session, Verdict):
            outcomes[kind] = session
            continue
        auditor_arns[kind] = session[1]
        second[kind] = (session[0], identities[kind].principal.policy_source_arn, groups[kind])
    for kind, result in run_batches(second, options.aws.simulations).items():
        principal = identities[kind].principal
        if isinstance(result, Exception):
            outcomes[kind] = (auditor_failed(result, principal) if kind in auditor_arns else
                              failure_verdict(describe(result, "iam:SimulatePrincipalPolicy"), principal))
            memory.simulated(principal.policy_source_arn, None)
            done.pop(kind, None)
        else:
            done.setdefault(kind, {}).update(result)
    for kind, result in done.items():
        simulator = second[kind][0] if kind in second else first[kind][0]
        outcomes[kind] = (result, auditor_arns.get(kind, "self"))
        memory.simulated(identities[kind].principal.policy_source_arn,
                         simulator.limit_key if kind in auditor_arns else SELF)
    return assembled(groups, outcomes)


def _first_requests(identities: Mapping[str, Identity], groups: Mapping[str, Sequence[SimulationBatch]],
                    options: CheckOptions, outcomes: dict[str, Outcome],
                    auditor_arns: dict[str, str]) -> tuple[Requests, dict[str, Sequence[SimulationBatch]]]:
    """What goes first (route): every batch of an identity whose simulator is known; one batch of any other (the
    rest)."""
    first: Requests = {}
    rest: dict[str, Sequence[SimulationBatch]] = {}
    for kind, mine in groups.items():
        source = identities[kind].principal.policy_source_arn
        way = route(options.auditor_cache.simulator_lately(source), auditor_for(kind, options) is not None)
        if way is Route.AUDITOR:
            session = auditor_session(identities[kind], options)
            if isinstance(session, Verdict):
                outcomes[kind] = session
                continue
            auditor_arns[kind] = session[1]
            first[kind] = (session[0], source, mine)
        elif way is Route.SELF:
            first[kind] = (identities[kind].session, source, mine)
        else:
            first[kind], rest[kind] = (identities[kind].session, source, mine[:1]), mine[1:]
    return first, rest


def assembled(groups: Mapping[str, Sequence[SimulationBatch]], outcomes: Mapping[str, Outcome],
              ) -> tuple[dict[RequestKey, SimulationResult], str, dict[str, str]] | Verdict:
    """All identities' answers in one table and who simulated them ("self" when no one else did); the credential's
    own failure is the check's verdict, a control-plane role's failure leaves its questions undecided (role -> why)."""
    results: dict[RequestKey, SimulationResult] = {}
    by: list[str] = []
    unasked: dict[str, str] = {}
    for kind in groups:
        outcome = outcomes[kind]
        if isinstance(outcome, Verdict):
            if role_of(kind) is None:
                return outcome
            unasked[kind] = (f"the control-plane role {role_of(kind)} could not be simulated ({outcome.reason}: "
                             f"{outcome.message[:300]}); what the cloud-controller-manager may do as that role is "
                             "neither missing nor verified")
            continue
        results.update(outcome[0])
        by.append(outcome[1])
    return results, ", ".join(dict.fromkeys(by)) or "self", unasked


def undecided(requirements: Sequence[Requirement], unasked: Mapping[str, str]) -> list[Requirement]:
    """The requirements of a role that could not be simulated, marked undecided with the reason."""
    return [replace(r, undecided_because=unasked[r.principal]) if r.principal in unasked else r
            for r in requirements]
