"""/metrics and /readyz on the metrics port, /healthz on the health port: served from the process' start, before
leader election, so that a standby is live, ready (it serves the admission webhook) and scraped too.

/readyz: a standby is ready once started; the leader once kopf's startup handlers ran and while every supervised
background loop runs. /healthz: the process' event loop answers.
"""

from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from credcheck.controller import metrics
from credcheck.controller.supervise import Health


def _app(memo: Any) -> web.Application:  # kopf's Memo (controller/main.py): runtime, schedule, health, leader
    async def serve_metrics(_: web.Request) -> web.Response:
        metrics.CHECKS.set(len(memo.schedule))
        return web.Response(body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def ready(_: web.Request) -> web.Response:
        leader = memo.get("leader")
        if leader is not None and not leader.leading:
            return web.Response(text="ok (standby: serving the webhook, not the handlers)")
        health: Health = memo.health
        if not health.started:
            return web.Response(status=503, text="starting")
        if not health.ok():
            return web.Response(status=503, text="not running: " + ", ".join(health.down()))
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.get("/metrics", serve_metrics), web.get("/readyz", ready)])
    return app


def _health() -> web.Application:
    async def alive(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.get("/healthz", alive)])
    return app


async def start(memo: Any, logger: Any) -> list[web.AppRunner]:
    """The metrics and health servers, before anything else runs."""
    settings = memo.runtime.settings
    runners = []
    for app, port in ((_app(memo), settings.metrics_port), (_health(), settings.health_port)):
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - scraped and probed from the cluster
        runners.append(runner)
    logger.info("serving /metrics and /readyz on port %s, /healthz on port %s", settings.metrics_port,
                settings.health_port)
    return runners
