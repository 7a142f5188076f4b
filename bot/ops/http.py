"""The operator's endpoints: `/healthz`, `/readyz` and `/metrics`, on any aiohttp application.

`add_health` puts the two health routes on an application (the Slack port in HTTP mode);
`OpsServer` serves all three on a port of their own (127.0.0.1:9464 by default), in every mode.
`/metrics` answers 404 when metrics are off. Nothing here reads a request's body or logs one.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.ops.health import Health
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)


class OpsUnavailable(Exception):
    """The ops port could not be opened; the message says which and why."""


def add_health(app: web.Application, health: Health) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response(health.details())

    async def readyz(_request: web.Request) -> web.Response:
        readiness = await health.readiness()
        return web.json_response(readiness.as_json(), status=200 if readiness.ready else 503)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def add_metrics(app: web.Application, metrics: Metrics | None) -> None:
    async def scrape(_request: web.Request) -> web.Response:
        if metrics is None:
            return web.Response(status=404, text="metrics are off (bot.metrics = false)\n")
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    app.router.add_get("/metrics", scrape)


class OpsServer:
    """/healthz, /readyz and /metrics on host:port (port 0: any free port, see `port` once started)."""

    def __init__(self, health: Health, metrics: Metrics | None, *, host: str, port: int) -> None:
        self.health, self.metrics = health, metrics
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        add_health(app, self.health)
        add_metrics(app, self.metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OpsUnavailable(f"cannot listen on {self.host}:{self.port} for /healthz, /readyz and /metrics "
                                 f"({exc.strerror or exc}); pass another --ops-port (0 picks a free one)") from None
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("serving /healthz, /readyz and /metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
