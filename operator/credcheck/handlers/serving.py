"""/metrics and /readyz on the metrics port (kopf serves /healthz for liveness on the health port)."""

from typing import Any

import kopf
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from credcheck import metrics
from credcheck.supervise import Health


def _app(memo: kopf.Memo) -> web.Application:
    async def serve_metrics(_: web.Request) -> web.Response:
        metrics.CHECKS.set(len(memo.schedule))
        return web.Response(body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def ready(_: web.Request) -> web.Response:
        if not memo.get("ready"):
            return web.Response(status=503, text="starting")
        health: Health = memo.health
        if not health.ok():
            return web.Response(status=503, text="not running: " + ", ".join(health.down()))
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.get("/metrics", serve_metrics), web.get("/readyz", ready)])
    return app


@kopf.on.startup()
async def start_serving(memo: kopf.Memo, logger: Any, **_: Any) -> None:
    runner = web.AppRunner(_app(memo), access_log=None)
    await runner.setup()
    port = memo.runtime.settings.metrics_port
    await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - scraped from inside the cluster
    memo.web_runner = runner
    memo.ready = True
    logger.info("serving /metrics and /readyz on port %s", port)


@kopf.on.cleanup()
async def stop_serving(memo: kopf.Memo, **_: Any) -> None:
    runner = memo.get("web_runner")
    if runner is not None:
        await runner.cleanup()
