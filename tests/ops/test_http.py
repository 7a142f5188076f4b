"""The ops port: /healthz, /readyz (503 with the reason of each failing check), /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from bot.ops.health import Health
from bot.ops.http import OpsServer, OpsUnavailable
from bot.ops.metrics import PREFIX, Metrics


async def fine() -> str | None:
    return None


async def down() -> str | None:
    return "the Socket Mode connection is down"


async def broken() -> str | None:
    raise ConnectionRefusedError("bob@example.com refused")


async def hung() -> str | None:
    await asyncio.Event().wait()
    return None


async def fetch(server: OpsServer, path: str) -> tuple[int, str, dict[str, Any] | None]:
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{server.port}{path}") as response:
        body = await response.text()
        data = await response.json() if response.content_type == "application/json" else None
        return response.status, body, data


def serve(health: Health, metrics: Metrics | None, *paths: str) -> list[tuple[int, str, dict[str, Any] | None]]:
    async def main() -> list[tuple[int, str, dict[str, Any] | None]]:
        server = OpsServer(health, metrics, host="127.0.0.1", port=0)
        await server.start()
        try:
            return [await fetch(server, path) for path in paths]
        finally:
            await server.stop()

    return asyncio.run(main())


def test_ready_when_every_check_passes() -> None:
    metrics = Metrics()
    metrics.request("mention", "answered")
    health = Health([("database", fine), ("schema", fine)], details=lambda: {"mode": "socket"})
    (alive, _, body), (ready, _, checks), (scraped, text, _) = serve(health, metrics, "/healthz", "/readyz", "/metrics")
    assert (alive, body) == (200, {"ok": True, "mode": "socket"})
    assert (ready, checks) == (200, {"ready": True, "checks": {"database": "ok", "schema": "ok"}})
    assert scraped == 200 and f'{PREFIX}requests_total{{kind="mention",outcome="answered"}} 1.0' in text


def test_not_ready_names_each_failing_check_and_never_hangs() -> None:
    health = Health([("database", broken), ("slack", down), ("schema", fine)], timeout=0.05)
    health.add("model breaker", hung)
    [(status, _, body)] = serve(health, None, "/readyz")
    assert status == 503 and body == {"ready": False, "checks": {
        "database": "failed (ConnectionRefusedError)", "slack": "the Socket Mode connection is down",
        "schema": "ok", "model breaker": "no answer within 0.05 s"}}


def test_metrics_off_is_404() -> None:
    [(status, text, _)] = serve(Health(), None, "/metrics")
    assert status == 404 and "bot.metrics = false" in text


def test_a_port_in_use_is_one_line_saying_so() -> None:
    async def main() -> None:
        first = OpsServer(Health(), None, host="127.0.0.1", port=0)
        await first.start()
        try:
            with pytest.raises(OpsUnavailable, match=rf"cannot listen on 127.0.0.1:{first.port} .*--ops-port"):
                await OpsServer(Health(), None, host="127.0.0.1", port=first.port).start()
        finally:
            await first.stop()

    asyncio.run(main())
