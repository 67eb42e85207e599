"""Benchmark: AWS calls, wall and CPU time per check, per profile, against the local endpoint.

kkp is asked for one Cluster (eu-central-1, Kubernetes 1.34: the CCM assumes the control-plane role, so one GetRole
reads its trust policy); the upgrade case judges kkp-2.30 (Kubernetes 1.32: direct-mode CCM) and kkp-2.31 from one
simulation; kkp-docs is the documented policy's ~830 actions, for comparison. CPU is credcheck's own process time
(the endpoint runs in another process; its own CPU per check is printed too: on one machine the two share the cores,
which bounds how many checks a second a benchmark of the whole seed can see).

Under each case, where its CPU goes (bench/phases.py: parsing, signing, HTTP, planning, …): shares of a separate,
profiled run of the same check with clients of its own (made, with their threads, before measuring), times the
unprofiled CPU median. The AWS calls per case are the check's own count (Verdict.aws_calls): the same before and after
a change that only makes a check cheaper.

Starts its own AWS endpoint (moto + simulation) on 127.0.0.1; prints numbers, never fails.
Run: .venv/bin/python bench/check.py (or `make bench`).
"""

import json
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from credcheck.engine.aws.accesskeys import AccessKeyFacts
from credcheck.engine.aws.auditor import AuditorCache
from credcheck.engine.aws.session import AWSClients
from credcheck.engine.check import CheckOptions, run_check
from credcheck.engine.model import Credential
from credcheck.engine.requirements.profiles import load_profile
from credcheck.engine.target import Target
from credcheck.engine.verdict import grant_policy
from credcheck_testground import aws
from credcheck_testground.processes import stop_all
from phases import PhaseClock, shares

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
PROFILED_ROUNDS = 10


def phases(credential: Credential, options: CheckOptions, cpu_ms: float) -> str:
    """Where one check's CPU goes: `options`' check with clients and threads of its own, measured by phase."""
    clock = PhaseClock()
    clock.install()
    own = AWSClients(honour_configured_endpoints=True)
    try:
        profiled = replace(options, aws=own, auditor_cache=AuditorCache())
        run_check(credential, profiled)  # clients made, threads started: not measured (the operator does it once)
        clock.reset()
        for _ in range(PROFILED_ROUNDS):
            run_check(credential, profiled)
        seconds = clock.total()
    finally:
        clock.uninstall()
        own.simulations.shutdown()
    missing = f" (not timed, not found: {', '.join(clock.missing)})" if clock.missing else ""
    return ", ".join(f"{phase} {share * 100:.0f}% ({share * cpu_ms:.1f} ms)"
                     for phase, share in shares(seconds)) + missing


def cpu_seconds(pid: int) -> float:
    """A process' user + system CPU time so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(rounds: int = 10) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        try:
            endpoint = aws.start(state)
            os.environ["AWS_ENDPOINT_URL"] = endpoint.url
            docs = json.loads((DATA / "kkp-documented-policy-2.31.json").read_text()
                              .replace("YOUR_ACCOUNT_ID", aws.ACCOUNT))
            doc = grant_policy(load_profile("kkp").requirements(aws.ACCOUNT, region="*"))
            for policy in (doc, docs):
                policy["Statement"].append(  # type: ignore[attr-defined]
                    {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "*"})
            doc["Statement"].append({"Effect": "Allow", "Resource": "*",  # type: ignore[attr-defined]
                                     "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"]})
            _, keys = endpoint.create_user(policies=[doc, docs])
            credential = Credential(keys.access_key_id, keys.secret_access_key)
            cluster = Target(cluster="bench", region="eu-central-1", kubernetes_version="1.34.2")
            second = Target(cluster="bench-2", region="us-east-1", kubernetes_version="1.33.1")
            old = Target(cluster="bench", region="eu-central-1", kubernetes_version="1.32.9")  # direct-mode CCM on 2.30
            # what the operator's runtime holds: one set of clients (the local endpoint: development) for every check
            clients, memory = AWSClients(honour_configured_endpoints=True), AuditorCache()
            cases = {"kkp": CheckOptions(load_profile("kkp"), region="eu-central-1", targets=(cluster,), aws=clients,
                                         auditor_cache=memory),
                     "kkp, two Clusters (as bench/load.py --clusters makes)": CheckOptions(
                         load_profile("kkp"), region="eu-central-1", targets=(cluster, second), aws=clients,
                         auditor_cache=memory),
                     "kkp-2.30 (1.32) + upgrade to kkp-2.31": CheckOptions(
                         load_profile("kkp-2.30"), region="eu-central-1", targets=(old,),
                         target_profile=load_profile("kkp-2.31"), aws=clients, auditor_cache=memory),
                     "kkp-docs": CheckOptions(load_profile("kkp-docs"), region="eu-central-1", aws=clients,
                                              auditor_cache=memory),
                     # the operator's defaults: excess questions and key facts (read every time here: ttl 0)
                     "kkp + excess questions + key facts (uncached)": CheckOptions(
                         load_profile("kkp"), region="eu-central-1", targets=(cluster,), aws=clients,
                         auditor_cache=memory, excess_permissions=True, key_facts=AccessKeyFacts(ttl=0))}
            server = int((state / "aws.pid").read_text())
            for name, options in cases.items():
                times, cpu, verdict = [], [], None
                server_start = cpu_seconds(server)
                for _ in range(rounds):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    verdict = run_check(credential, options)
                    times.append((time.perf_counter() - start) * 1000)
                    cpu.append((time.process_time() - start_cpu) * 1000)
                assert verdict is not None
                served = (cpu_seconds(server) - server_start) / rounds * 1000
                print(f"check[{name}]: {len(verdict.results)} actions, {verdict.status.value}, "
                      f"AWS calls {sum(verdict.aws_calls.values())} {verdict.aws_calls}, "
                      f"wall median {statistics.median(times):.0f} ms, CPU median {statistics.median(cpu):.0f} ms, "
                      f"the local endpoint's CPU {served:.0f} ms a check")
                print(f"  where the CPU goes: {phases(credential, options, statistics.median(cpu))}")
        finally:
            stop_all(state)


if __name__ == "__main__":
    main()
