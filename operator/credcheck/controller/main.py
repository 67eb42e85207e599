"""`credcheck run`: the operator (kopf), with the settings from flags and CREDCHECK_* variables.

Every replica serves /metrics, /readyz, /healthz and the admission webhook from its start; only the one holding the
Lease (credcheck.controller.leader) runs kopf's handlers, and it exits when it loses the Lease.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from credcheck.controller import (
    handlers,  # noqa: F401 - registers the operator's handlers with kopf on import
    serving,
)
from credcheck.controller.leader import LeaderElector, default_identity, lease_client
from credcheck.controller.runtime import Runtime
from credcheck.controller.schedule import Schedule
from credcheck.controller.settings import Settings, add_arguments, from_arguments
from credcheck.controller.supervise import Health
from credcheck.controller.webhook import server as webhook_server
from credcheck.engine.aws.session import AWSClients
from credcheck.kube.client import THREADS, Kube
from credcheck.kube.contract import parse_duration

LOG = logging.getLogger("credcheck.controller.main")


class JSONFormatter(logging.Formatter):
    """One JSON object per line; an exception's traceback goes with it (kopf's handler failures included)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": self.formatTime(record), "level": record.levelname,
                                 "logger": record.name, "message": record.getMessage()}
        obj = getattr(record, "k8s_ref", None)
        if isinstance(obj, dict):
            entry["object"] = f"{obj.get('namespace', '')}/{obj.get('name', '')}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry)


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)  # their debug output can carry request bodies


def _log_endpoints(aws: AWSClients) -> None:
    """Where the checks' AWS requests go, as the runtime's clients were built (--dev-endpoints or not)."""
    where = ", ".join(f"{service} {url}" for service, url in aws.endpoints_in_use().items())
    if aws.honour_configured_endpoints:
        LOG.warning("development endpoints (--dev-endpoints): AWS_ENDPOINT_URL* and the AWS config's endpoint_url "
                    "are honoured; AWS requests go to: %s", where)
        return
    ignored = aws.ignored_overrides()
    LOG.info("AWS requests go over https to AWS hosts only (from us-east-1: %s)%s", where,
             f"; ignored endpoint overrides: {', '.join(ignored)}" if ignored else "")


def main(argv: Sequence[str] | None = None) -> int:
    """`credcheck run`: the operator, one flag per setting (credcheck.entry routes `run` here)."""
    parser = argparse.ArgumentParser(prog="credcheck run",
                                     description="run the operator (flags also read from CREDCHECK_<FLAG> variables)")
    add_arguments(parser)
    return run_operator(parser.parse_args(argv))


def run_operator(args: argparse.Namespace) -> int:
    settings = from_arguments(args)
    configure_logging(settings)
    runtime = Runtime.create(settings, Kube())
    _log_endpoints(runtime.aws)
    memo = kopf.Memo(runtime=runtime, schedule=Schedule(), health=Health())
    return asyncio.run(_main(settings, runtime, memo))


def _step_down() -> None:
    """Another replica may take over once the lease expires: stop acting now (kopf, discovery, the scheduler, any
    AWS call not yet sent), not after a graceful stop. Called from the event loop or from the Lease's guard."""
    LOG.error("lost the leadership: exiting so that only the new leader acts")
    logging.shutdown()
    os._exit(1)


async def _main(settings: Settings, runtime: Runtime, memo: kopf.Memo) -> int:
    """Servers first (metrics, health, the webhook: every replica serves them), then the Lease, then kopf."""
    loop = asyncio.get_running_loop()
    # asyncio.to_thread's pool is for Kubernetes calls only: AWS checks have their own (Runtime.checks), and askers
    # waiting for a check in flight are coroutines, so these threads only ever wait on the API server
    loop.set_default_executor(ThreadPoolExecutor(THREADS, thread_name_prefix="kube"))
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # until kopf runs and takes them over
        loop.add_signal_handler(sig, stop.set)
    runners = await serving.start(memo, LOG)
    webhook = await webhook_server.start(runtime)
    elector = (LeaderElector(lease_client(parse_duration(settings.leader_renew_deadline)),
                             settings.operator_namespace, settings.leader_lease_name,
                             settings.leader_identity or default_identity(),
                             lease_duration=parse_duration(settings.leader_lease_duration),
                             renew_deadline=parse_duration(settings.leader_renew_deadline),
                             retry_period=parse_duration(settings.leader_retry_period))
               if settings.leader_election else None)
    memo.leader, memo.stop = elector, stop
    hold: asyncio.Task[None] | None = None
    try:
        if elector is not None and not await elector.acquire(stop):
            return 0  # stopped while standing by
        if elector is not None:
            hold = asyncio.create_task(elector.hold())
            elector.guard(_step_down)
        namespaces = sorted(set(settings.namespaces) | {settings.operator_namespace})
        running = asyncio.create_task(kopf.operator(standalone=True, namespaces=namespaces, memo=memo,
                                                    stop_flag=stop))
        done, _ = await asyncio.wait({t for t in (hold, running) if t is not None},
                                     return_when=asyncio.FIRST_COMPLETED)
        if hold is not None and hold in done:
            _step_down()
        await running
        return 0
    finally:
        if hold is not None:
            hold.cancel()
            await asyncio.gather(hold, return_exceptions=True)
        if elector is not None:
            await elector.release()
        if webhook is not None:
            await webhook.stop()
        for runner in runners:
            await runner.cleanup()
