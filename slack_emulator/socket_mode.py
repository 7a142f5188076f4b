"""Slack's Socket Mode server side: the `/link/` websocket, envelopes out, acks in.

The app connects with a URL from `apps.connections.open`, gets a `hello`, then receives envelopes
and answers each with `{"envelope_id": ...}`. Faults a real connection suffers (an abrupt drop, a
`disconnect` asking for a refresh) can be caused on demand; envelopes sent while nobody is
connected wait for the next connection, within a bound.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from slack_emulator.records import Ack, Connection
from slack_emulator.state import Workspace


@dataclass
class _Conn:
    id: int
    ws: web.WebSocketResponse
    request: web.Request
    accepting: bool = True  # False once told to disconnect: no new envelopes go there
    end: str | None = None


@dataclass
class _Pending:
    kind: str
    retry_attempt: int
    event_id: str | None
    sent_at: float
    future: asyncio.Future[dict[str, Any] | None] = field(repr=False)
    on_ack: Callable[[dict[str, Any] | None], None] | None = None
    given_up: bool = False


@dataclass(frozen=True)
class SocketResult:
    acked: bool
    payload: dict[str, Any] | None
    latency: float | None
    error: str | None


class NotConnected(Exception):
    """No Socket Mode client connected within the wait."""


class SocketHub:
    """The open websocket sessions and the envelopes awaiting an ack."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        # Replaced, never mutated, so other threads can read it (see `connected`) without a lock.
        self._conns: tuple[_Conn, ...] = ()
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._cond: asyncio.Condition | None = None

    @property
    def connected(self) -> int:
        return sum(1 for c in self._conns if c.accepting and not c.ws.closed)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The `/link/` route: refuse unknown tickets, then serve one session until it ends."""
        if request.query.get("ticket") not in self._ws.tickets:
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings, as Slack does
        await ws.prepare(request)
        conn = _Conn(next(self._ids), ws, request)
        self._conns = (*self._conns, conn)
        self._ws.record("connections", Connection(conn.id, time.time(), None, None))
        await self._notify()
        try:
            await ws.send_json(self._hello())
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
        except ConnectionError:
            pass  # the peer vanished; the finally below records how the session ended
        finally:
            self._conns = tuple(c for c in self._conns if c is not conn)
            self._closed(conn.id, conn.end or "closed_by_client")
            await self._notify()
        return ws

    async def exchange(
        self, envelope: dict[str, Any], *, event_id: str | None, connect_timeout: float, ack_timeout: float,
        on_ack: Callable[[dict[str, Any] | None], None] | None = None,
    ) -> SocketResult:
        """Send one envelope on the newest session and wait for its ack (or give up).

        `on_ack` runs with the ack's payload as soon as a timely ack frame is read, not when this
        coroutine next gets to run, so what Slack does with the ack is not reordered after
        requests the app made meanwhile.
        """
        deadline = time.monotonic() + connect_timeout
        while True:
            conn = await self._accepting(deadline - time.monotonic())
            future = asyncio.get_running_loop().create_future()
            pending = _Pending(envelope["type"], envelope.get("retry_attempt", 0), event_id, time.monotonic(), future, on_ack)
            self._pending[envelope["envelope_id"]] = pending
            try:
                await conn.ws.send_str(json.dumps(envelope))
                break
            except ConnectionError:
                self._pending.pop(envelope["envelope_id"], None)
                conn.accepting = False  # a session that cannot be written to is gone; try the next
        try:
            payload = await asyncio.wait_for(asyncio.shield(pending.future), ack_timeout)
        except TimeoutError:
            pending.given_up = True
            return SocketResult(False, None, None, "timeout")
        return SocketResult(True, payload, time.monotonic() - pending.sent_at, None)

    async def drop(self) -> int:
        """Cut every session's TCP connection without a close frame, as a network failure would."""
        dropped = 0
        for conn in list(self._conns):
            transport = conn.request.transport
            if transport is not None:
                conn.end, conn.accepting = "dropped", False
                transport.abort()
                dropped += 1
        await self._notify()
        return dropped

    async def disconnect(self, reason: str) -> int:
        """Ask every session to reconnect; they get no new envelopes from now on."""
        told = 0
        for conn in [c for c in self._conns if c.accepting]:
            conn.accepting, conn.end = False, "disconnect_sent"
            await conn.ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-emulator"}})
            told += 1
        await self._notify()
        return told

    async def close(self) -> None:
        for conn in list(self._conns):
            conn.end, conn.accepting = conn.end or "server_stopped", False
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopped")
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.cancel()

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": self.connected,
            "debug_info": {"host": "applink-emulator", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self._ws.config.app_id},
        }

    def _on_text(self, data: str) -> None:
        try:
            body = json.loads(data)
        except ValueError:
            return
        envelope_id = body.get("envelope_id") if isinstance(body, dict) else None
        if not envelope_id:
            return
        pending = self._pending.pop(envelope_id, None)
        ack = Ack(
            envelope_id=envelope_id,
            payload=body.get("payload"),
            latency=time.monotonic() - pending.sent_at if pending else None,
            kind=pending.kind if pending else None,
            retry_attempt=pending.retry_attempt if pending else 0,
            event_id=pending.event_id if pending else None,
            late=bool(pending and pending.given_up),
        )
        self._ws.record("acks", ack)
        if pending and not pending.future.done():
            if pending.on_ack is not None:
                pending.on_ack(body.get("payload"))
            pending.future.set_result(body.get("payload"))

    async def _accepting(self, timeout: float) -> _Conn:
        cond = self._condition()
        try:
            if self.connected == 0:
                async with cond:
                    await asyncio.wait_for(cond.wait_for(lambda: self.connected > 0), max(timeout, 0.001))
        except TimeoutError:
            raise NotConnected("no Socket Mode client is connected") from None
        return [c for c in self._conns if c.accepting and not c.ws.closed][-1]

    async def _notify(self) -> None:
        """Wake deliveries waiting for a session, and anyone waiting on the workspace."""
        with self._ws.changing():
            pass
        cond = self._condition()
        async with cond:
            cond.notify_all()

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    def _closed(self, conn_id: int, end: str) -> None:
        with self._ws.changing():
            for i, rec in enumerate(self._ws.connections):
                if rec.id == conn_id and rec.closed_at is None:
                    self._ws.connections[i] = dataclasses.replace(rec, closed_at=time.time(), end=end)
