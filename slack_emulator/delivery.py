"""Getting a payload to the app the way Slack does, by Socket Mode or signed HTTP, with retries.

Every attempt is recorded as a `Delivery`. An event the app does not acknowledge in time (or
answers with a non-2xx status) is sent again with the same `event_id` and a higher retry number,
up to `max_retries` times, in the background, as Slack does; commands and interactions are never
retried. The caller waits for the first attempt only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from slack_emulator.http_delivery import HttpSender
from slack_emulator.records import Delivery, EmulatorError
from slack_emulator.socket_mode import NotConnected, SocketHub
from slack_emulator.state import Workspace

MODES = ("socket", "http")


def event_type(kind: str, payload: dict[str, Any]) -> str | None:
    if kind == "events_api":
        return (payload.get("event") or {}).get("type")
    if kind == "slash_commands":
        return payload.get("command")
    return payload.get("type")


class Deliverer:
    """Routes payloads to the app; `http_target` and `default_mode` may be changed at any time."""

    def __init__(self, workspace: Workspace, hub: SocketHub, sender: HttpSender) -> None:
        self._ws = workspace
        self._hub = hub
        self._http = sender
        self.http_target: str | None = None
        self.default_mode = "socket"
        self._tasks: set[asyncio.Task[Any]] = set()

    async def deliver(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        mode: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        signature: str | None = None,
        timestamp_offset: float = 0.0,
        retries: bool = True,
        trigger_id: str | None = None,
        response_url: str | None = None,
        on_ack: Callable[[dict[str, Any] | None], None] | None = None,
        target: str | None = None,
    ) -> Delivery:
        """One attempt; schedules the next one when an unacknowledged event may be retried.

        `on_ack(ack_body)` applies what Slack does with a timely acknowledgement, at the moment it
        arrives, so it is ordered before whatever the app does next.
        """
        mode = mode or self.default_mode
        if mode not in MODES:
            raise EmulatorError(f"mode must be one of {MODES}, not {mode!r}")
        cfg = self._ws.config
        attempt = Delivery(
            kind=kind, mode=mode, payload=payload, event_id=payload.get("event_id") if kind == "events_api" else None,
            event_type=event_type(kind, payload), retry_attempt=retry_attempt, retry_reason=retry_reason,
            trigger_id=trigger_id, response_url=response_url,
        )
        if mode == "socket":
            envelope_id = self._ws.envelope_id()
            envelope: dict[str, Any] = {
                "envelope_id": envelope_id,
                "type": kind,
                "accepts_response_payload": kind != "events_api" and payload.get("type") != "block_actions",
                "payload": payload,
            }
            if kind == "events_api":
                envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
            try:
                got = await self._hub.exchange(
                    envelope, event_id=attempt.event_id, connect_timeout=cfg.connect_timeout, ack_timeout=cfg.ack_timeout, on_ack=on_ack,
                )
            except NotConnected:
                self._ws.record("deliveries", replace(attempt, envelope_id=envelope_id, error="not_connected"))
                raise EmulatorError(f"no Socket Mode client connected within {cfg.connect_timeout} s to receive {attempt.event_type}") from None
            delivery = replace(attempt, envelope_id=envelope_id, acked=got.acked, latency=got.latency, ack_body=got.payload, error=got.error)
        else:
            url = target or self.http_target
            if not url:
                raise EmulatorError("mode='http' needs http_target (the app's request URL) to be set")
            answer = await self._http.post(
                url, kind, payload, timeout=cfg.ack_timeout, retry_attempt=retry_attempt,
                retry_reason=retry_reason, signature=signature, timestamp_offset=timestamp_offset,
            )
            delivery = replace(
                attempt, acked=answer.error is None, latency=answer.latency, http_status=answer.status,
                ack_body=answer.body, error=answer.error,
            )
            if delivery.acked and on_ack is not None:
                on_ack(delivery.ack_body)
        self._ws.record("deliveries", delivery)
        if retries and not delivery.acked and kind == "events_api" and retry_attempt < cfg.max_retries:
            self._spawn(self._retry(
                kind, payload, mode=mode, retry_attempt=retry_attempt + 1, retry_reason=delivery.error or "",
                signature=signature, timestamp_offset=timestamp_offset,
            ))
        return delivery

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """The same payload (same event_id) again, marked as a retry: a duplicate, as Slack can send."""
        reason = "timeout" if delivery.mode == "socket" else "http_timeout"
        return await self.deliver(
            delivery.kind, delivery.payload, mode=delivery.mode, retry_attempt=delivery.retry_attempt + 1,
            retry_reason=reason, retries=False, trigger_id=delivery.trigger_id, response_url=delivery.response_url,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _retry(self, kind: str, payload: dict[str, Any], **options: Any) -> None:
        try:
            await self.deliver(kind, payload, **options)
        except EmulatorError:
            pass  # recorded as a not_connected delivery; nothing more Slack would do

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
