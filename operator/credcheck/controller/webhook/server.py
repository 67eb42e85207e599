"""Admission: AWSCredentialChecks act only with their maker's rights; KKP credential Secrets and Presets are warned
about (or denied) when malformed.

An HTTPS server of its own (aiohttp, not kopf's admission machinery), started before leader election so that every
replica serves it, the standby included. Who may call it: with --webhook-client-ca the TLS handshake requires a
client certificate signed by that CA (the kube-apiserver presents one from its AdmissionConfiguration kubeconfig),
and --webhook-client-names narrows the accepted common names; without it, callers are not authenticated (the chart
can add a NetworkPolicy) and live checks are refused at start.

What it judges (admission_rules): a CREATE, or an UPDATE that changes a check's spec, a Secret's data or a Preset's
spec.aws, of an object not being deleted; everything else passes untouched. For a check, the requester (the
review's userInfo) must be allowed to `get` what the check reads — its Secret or Preset and the Cluster whose
external ID it uses — asked of the apiserver with a SubjectAccessReview. Live checks (--webhook-live) run with the
written keys alone (no Cluster's role, external ID or settings from the indexes), never for a dry run, at most
--webhook-live-concurrency at once in a pool of their own, and stop making AWS calls at the budget.
"""

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from credcheck.controller.admission import (
    judged,
    own_username,
    ownership_problem,
    preset_problems,
    required_access,
    secret_data,
    secret_problems,
    spec_problems,
)
from credcheck.controller.discovery.desired import spec_for_secret
from credcheck.controller.discovery.kkp import SECRET_PREFIX, is_kkp_copy
from credcheck.controller.metrics import REGISTRY
from credcheck.controller.reconcile import verdict_for
from credcheck.controller.runtime import Runtime
from credcheck.controller.settings import Settings
from credcheck.controller.webhook.cluster_delete import delete_warnings
from credcheck.controller.webhook.pool import (
    HEAD_BYTES,
    MAX_REVIEW_BYTES,
    RECEIVED,
    Gate,
    TooLate,
    busy_answer,
    review_client,
    turned_away,
)
from credcheck.controller.webhook.tls import Contexts
from credcheck.engine.aws.session import run_before
from credcheck.engine.credential import ACCESS_KEY_ID_KEY, SECRET_ACCESS_KEY_KEY
from credcheck.engine.model import Status
from credcheck.engine.requirements.profiles import BUILTIN
from credcheck.kube.contract import parse_duration
from credcheck.kube.ports import AccessReviewer
from credcheck.kube.spec import parse_spec

LOG = logging.getLogger("credcheck.webhook")
CERT_CHECK_PERIOD = 10.0
REVIEWS = Counter("credcheck_webhook_reviews_total", "admission reviews answered, by webhook and result",
                  ["webhook", "result"], registry=REGISTRY)


@dataclass(frozen=True)
class Review:
    uid: str
    operation: str
    user: Mapping[str, Any]
    dry_run: bool
    obj: Mapping[str, Any]
    old: Mapping[str, Any]

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> "Review":
        request = body.get("request")
        if not isinstance(request, Mapping) or not request.get("uid"):
            raise ValueError("not an AdmissionReview request")
        return cls(str(request["uid"]), str(request.get("operation", "")), request.get("userInfo") or {},
                   bool(request.get("dryRun")), request.get("object") or {}, request.get("oldObject") or {})

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")


@dataclass
class Answer:
    allowed: bool = True
    message: str = ""
    code: int = 200
    warnings: list[str] = field(default_factory=list)
    result: str = "allowed"  # for the metric: allowed | skipped | denied | refused

    def deny(self, message: str, code: int, result: str = "denied") -> "Answer":
        self.allowed, self.message, self.code, self.result = False, message, code, result
        return self


def response(uid: str, answer: Answer) -> dict[str, Any]:
    body: dict[str, Any] = {"uid": uid, "allowed": answer.allowed}
    if answer.warnings:
        body["warnings"] = answer.warnings
    if not answer.allowed:
        body["status"] = {"code": answer.code, "message": answer.message}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": body}


def is_credential_write(namespace: str, name: str, data: Mapping[str, bytes]) -> bool:
    """A Secret the webhook judges: named credential-aws-*, or holding one of KKP's AWS key names (the webhook
    configuration sends only these; KKP's per-cluster copies never)."""
    if is_kkp_copy(namespace, name):
        return False
    return name.startswith(SECRET_PREFIX) or ACCESS_KEY_ID_KEY in data or SECRET_ACCESS_KEY_KEY in data


def _requester(user: Mapping[str, Any]) -> str:
    return str(user.get("username") or "an unnamed user")


class _Deadline(Executor):
    """The live pool, with every task run under a deadline: past it, the check's AWS calls are not sent."""

    def __init__(self, pool: ThreadPoolExecutor, deadline: float) -> None:
        self._pool, self._deadline = pool, deadline

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future[Any]":
        return self._pool.submit(run_before, self._deadline, lambda: fn(*args, **kwargs))


class Admission:
    """The three validators; one per process, shared by every request."""

    def __init__(self, runtime: Runtime, sar: AccessReviewer | None = None) -> None:
        self.runtime = runtime
        self.sar = sar or runtime.kube  # the webhook's own client (pool.review_client) when served
        self.gate = Gate()  # reviews' places and threads (pool.py)
        settings = runtime.settings
        self.slots = asyncio.Semaphore(settings.webhook_live_concurrency)
        self.pool = ThreadPoolExecutor(settings.webhook_live_concurrency, thread_name_prefix="live-check")
        self.budget = parse_duration(settings.webhook_live_budget)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def _respond(self, answer: Answer, problems: list[str], what: str) -> None:
        if not problems:
            return
        if self.settings.webhook_mode == "enforce":
            answer.deny(f"{what}: " + "; ".join(problems), 422)
        else:
            answer.warnings.extend(f"credcheck: {what}: {p}" for p in problems)

    async def check(self, review: Review) -> Answer:
        answer = Answer()
        owner = ownership_problem(review.operation, review.obj, review.old, str(review.user.get("username") or ""),
                                  own_username(self.settings.operator_namespace))
        if owner:
            return answer.deny(owner, 403)
        if not judged(review.operation, review.obj, review.old, "spec", deleting_too=True):
            answer.result = "skipped"
            return answer
        raw = review.obj.get("spec") or {}
        problems = spec_problems(raw, review.old.get("spec") if review.operation == "UPDATE" else None)
        if problems:
            return answer.deny("; ".join(problems), 422)
        spec = parse_spec(raw, BUILTIN)
        if isinstance(spec, list):
            return answer  # problems the stored spec had already (ratcheted): such a check reads nothing
        for access in required_access(review.namespace, spec):
            try:
                allowed = await self.gate.run(partial(self.sar.may, review.user, "get", access.group,
                                                      access.resource, name=access.name, namespace=access.namespace))
            except TooLate:
                raise  # answered as busy where the review arrived
            except Exception as err:  # fail closed: a check must never act beyond its maker's rights
                LOG.warning("SubjectAccessReview failed (%s): refusing the check %s/%s", err, review.namespace,
                            review.name)
                return answer.deny(f"credcheck could not ask whether {_requester(review.user)} may get "
                                   f"{access.what}; try again", 503)
            if not allowed:
                return answer.deny(
                    f"{_requester(review.user)} may not get {access.what}: a check reads it with credcheck's rights "
                    "on behalf of whoever writes the check's spec, so only those who may read it may point a check "
                    "at it", 403)
        return answer

    async def secret(self, review: Review) -> Answer:
        answer = Answer()
        settings = self.settings
        data = secret_data(review.obj)
        if (settings.webhook_mode == "off" or review.namespace not in settings.namespaces
                or not judged(review.operation, review.obj, review.old, "data")
                or (review.operation == "UPDATE" and data == secret_data(review.old))
                or not is_credential_write(review.namespace, review.name, data)):
            answer.result = "skipped"
            return answer
        what = f"Secret {review.namespace}/{review.name}"
        problems = secret_problems(data)
        self._respond(answer, problems, what)
        if settings.webhook_live and not problems and answer.allowed:
            await self._live(review, data, answer, what)
        return answer

    async def preset(self, review: Review) -> Answer:
        answer = Answer()
        if (self.settings.webhook_mode == "off" or not self.settings.presets
                or not judged(review.operation, review.obj, review.old, "spec.aws")):
            answer.result = "skipped"
            return answer
        self._respond(answer, preset_problems(review.obj), f"Preset {review.name}")
        return answer

    async def _live(self, review: Review, data: Mapping[str, bytes], answer: Answer, what: str) -> None:
        """The permission check of the written keys alone, within the budget; past it (or when the slots are
        taken, or for a dry run) the write is allowed and the operator's own check reports."""
        if review.dry_run:
            answer.warnings.append(f"credcheck: {what}: a dry run is not checked against AWS")
            return
        if self.slots.locked():
            running = self.settings.webhook_live_concurrency
            answer.warnings.append(f"credcheck: {what}: not checked against AWS now ({running} live checks are "
                                   "running); the operator's check will report")
            return
        await self.slots.acquire()
        started = time.monotonic()
        deadline = started + self.budget
        # nothing from the indexes: no Cluster's role, external ID or settings rides along with unstored keys
        task = asyncio.ensure_future(verdict_for(self.runtime, review.namespace, spec_for_secret(review.name), data,
                                                 pool=_Deadline(self.pool, deadline), share=False))

        def ended(_: object) -> None:
            self.slots.release()
            took = time.monotonic() - started
            LOG.info("live check of %s ended after %.1f s%s", what, took,
                     " (past its budget: no AWS call was sent after it)" if took > self.budget else "")

        task.add_done_callback(ended)
        try:
            verdict, _ = await asyncio.wait_for(asyncio.shield(task), timeout=self.budget)
        except TimeoutError:
            answer.warnings.append(f"credcheck: {what}: the check against AWS did not finish within "
                                   f"{self.settings.webhook_live_budget}; the operator's check will report")
            return
        except Exception:
            LOG.exception("the live check of %s failed", what)
            return
        if verdict.status in (Status.INSUFFICIENT, Status.INVALID):
            # the verdict's message names the KKP features that would break and what each lacks
            answer.warnings.append(f"credcheck: {what}: {verdict.message} (the keys alone, as for a Secret no "
                                   "Cluster uses yet)")

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.gate.close()


def _common_name(peer: Any) -> str | None:
    for rdn in (peer or {}).get("subject") or ():
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def app(admission: Admission) -> web.Application:
    async def cluster_delete(review: Review) -> Answer:  # issue 34: a warning, never a refusal
        def read_check(namespace: str, name: str) -> Awaitable[Any]:  # in the webhook's threads (issue 33)
            return admission.gate.run(admission.runtime.kube.get_check, namespace, name)

        warnings = await delete_warnings(read_check, review.operation, review.old)
        return Answer(warnings=warnings, result="allowed" if warnings else "skipped")

    validators = {"/validate-check": ("check", admission.check), "/validate-secret": ("secret", admission.secret),
                  "/validate-preset": ("preset", admission.preset),
                  "/validate-cluster-delete": ("cluster-delete", cluster_delete)}
    names = set(admission.settings.webhook_client_names)

    async def serve(request: web.Request) -> web.Response:
        hook, validate = validators[request.path]
        if names:
            cn = _common_name(request.transport.get_extra_info("peercert") if request.transport else None)
            if cn not in names:
                REVIEWS.labels(hook, "refused").inc()
                LOG.warning("refused a %s review from a client certificate named %r", hook, cn)
                return web.Response(status=403, text="this client may not call the webhook")
        if not admission.gate.enter():
            REVIEWS.labels(hook, "busy").inc()
            return await turned_away(request, hook, admission.gate)
        RECEIVED.set(time.monotonic())
        body = b""
        try:
            try:
                body = await request.read()
                review = Review.of(await admission.gate.parse(body))
                answer = await validate(review)
            except (ValueError, TypeError) as err:
                REVIEWS.labels(hook, "refused").inc()
                return web.Response(status=400, text=str(err))
            except TooLate:  # waited too long for a thread: a fast "busy" beats the apiserver's timeout
                REVIEWS.labels(hook, "busy").inc()
                late = busy_answer(hook, body[:HEAD_BYTES], admission.gate.in_flight)
                return (web.json_response(late) if late is not None
                        else web.Response(status=429, text="the webhook is busy", headers={"Retry-After": "1"}))
        finally:
            admission.gate.leave()
        REVIEWS.labels(hook, answer.result).inc()
        return web.json_response(response(review.uid, answer))

    application = web.Application(client_max_size=MAX_REVIEW_BYTES)
    application.add_routes([web.post(path, serve) for path in validators])
    return application


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS only; with a client CA, the handshake fails for a caller without a certificate it signed."""
    assert settings.webhook_cert_dir
    certs = Path(settings.webhook_cert_dir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certs / "tls.crt", certs / "tls.key")
    if settings.webhook_client_ca:
        context.load_verify_locations(cafile=settings.webhook_client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass
class Server:
    runner: web.AppRunner
    admission: Admission
    watcher: "asyncio.Task[None]"

    async def stop(self) -> None:
        self.watcher.cancel()
        await asyncio.gather(self.watcher, return_exceptions=True)
        await self.runner.cleanup()
        self.admission.close()


async def _reload_certificates(settings: Settings, contexts: Contexts) -> None:
    """Rotated certificates (cert-manager, a re-issued client CA) apply to new connections without a restart."""
    assert settings.webhook_cert_dir
    certs = Path(settings.webhook_cert_dir)
    files = [certs / "tls.crt", certs / "tls.key"] + ([Path(settings.webhook_client_ca)]
                                                      if settings.webhook_client_ca else [])

    def stamp() -> list[float]:
        return [f.stat().st_mtime if f.exists() else 0.0 for f in files]

    seen = stamp()
    while True:
        await asyncio.sleep(CERT_CHECK_PERIOD)
        now = stamp()
        if now == seen:
            continue
        try:
            contexts.reload()  # a fresh context: a client CA removed from the file is no longer trusted (#33)
            seen = now
            LOG.info("webhook certificates reloaded")
        except (OSError, ssl.SSLError) as err:  # mid-rotation: try again next round
            LOG.warning("webhook certificates not reloaded yet (%s)", err)


async def start(runtime: Runtime) -> Server | None:
    """Serve the webhook when a certificate folder is configured. --webhook-mode off silences the credential
    warnings only: the check webhook (its maker's rights) is served whatever the mode, as its configuration fails
    closed."""
    settings = runtime.settings
    if not settings.webhook_cert_dir:
        return None
    if settings.webhook_live and not settings.webhook_client_ca:
        raise ValueError("--webhook-live needs --webhook-client-ca: live checks spend AWS calls on the keys in a "
                         "review, so only the kube-apiserver may ask for them")
    if not settings.webhook_client_ca:
        LOG.warning("the webhook does not authenticate its callers (no --webhook-client-ca): any pod that reaches "
                    "port %s may post reviews; restrict it with a NetworkPolicy or give the apiserver a client "
                    "certificate", settings.webhook_port)
    contexts = Contexts(lambda: ssl_context(settings))
    admission = Admission(runtime, review_client())
    runner = web.AppRunner(app(admission), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_address, settings.webhook_port, ssl_context=contexts.server).start()
    LOG.info("serving the admission webhook on https://%s:%s (client certificates: %s)", settings.webhook_address,
             settings.webhook_port, "required, " + (", ".join(settings.webhook_client_names) or "any name")
             if settings.webhook_client_ca else "not required")
    return Server(runner, admission, asyncio.create_task(_reload_certificates(settings, contexts)))

