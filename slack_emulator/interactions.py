"""Slash commands, button clicks and modal submissions, and what Slack does with the app's ack.

Slack acts on some acknowledgements itself: a command's ack text becomes an ephemeral (or a
channel message), a command nobody acknowledged shows the person an error, and a view
submission's `response_action` keeps the modal open with errors, replaces it, pushes another, or
closes it. The emulator does the same so tests see the person's side of the exchange.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_emulator import payloads
from slack_emulator.api_chat import bot_message
from slack_emulator.config import EmulatorConfig, User
from slack_emulator.delivery import Deliverer
from slack_emulator.modals import ViewError
from slack_emulator.records import Delivery, EmulatorError, View
from slack_emulator.state import Workspace


class Interactions:
    """Mixin for `SlackEmulator`: person-side actions that produce commands and interactions."""

    _state: Workspace
    _deliverer: Deliverer
    config: EmulatorConfig

    async def slash_command(
        self, user: str, channel: str, text: str, *, command: str = "/crm",
        mode: str | None = None, signature: str | None = None, timestamp_offset: float = 0.0,
    ) -> Delivery:
        """`user` types `{command} {text}` in `channel`; returns the delivery with the ack body."""
        ws = self._state
        u, c = ws.user(user), ws.channel(channel)
        trigger_id = ws.issue_trigger(u.id)
        response_url = ws.issue_response_url(u.id, c.id)
        payload = payloads.command(self.config, user=u, channel=c, command=command, text=text, trigger_id=trigger_id, response_url=response_url)
        delivery = await self._deliverer.deliver(
            "slash_commands", payload, mode=mode, signature=signature, timestamp_offset=timestamp_offset,
            trigger_id=trigger_id, response_url=response_url, on_ack=lambda body: self._apply_command_ack(u, c.id, body),
        )
        if not delivery.acked:
            error = "dispatch_failed" if delivery.error in ("http_error", "connection_failed") else "operation_timeout"
            ws.messages.add_ephemeral(u.id, c.id, f'{command} failed with the error "{error}"', [], thread_ts=None, source="slack")
        return delivery

    async def click(
        self, user: str, *, channel: str, message_ts: str, action_id: str, value: str | None = None,
        mode: str | None = None, signature: str | None = None, timestamp_offset: float = 0.0,
        target: str | None = None, block_id: str | None = None,
    ) -> Delivery:
        """`user` clicks the button `action_id` of a message; `value` overrides the button's own.

        `target` sends this one click to another request URL than `http_target` (one of several
        replicas, say); `block_id` picks the button when several blocks have one with that id."""
        ws = self._state
        u, c = ws.user(user), ws.channel(channel)
        if u.id not in c.members:
            raise EmulatorError(f"{u.name} cannot see {c.id}, so cannot click in it")
        message = ws.messages.get(c.id, message_ts)
        if message is None:
            raise EmulatorError(f"no message {message_ts} in {c.id}")
        action = payloads.button_action(message.get("blocks") or [], action_id, value, ws.next_ts(), f"message {message_ts} of {c.id}", block_id)
        trigger_id = ws.issue_trigger(u.id)
        response_url = ws.issue_response_url(u.id, c.id, message_ts)
        container = {"type": "message", "message_ts": message_ts, "channel_id": c.id, "is_ephemeral": False}
        payload = payloads.block_actions(
            self.config, user=u, container=container, action=action, trigger_id=trigger_id,
            channel=c, message=message, response_url=response_url,
        )
        return await self._interact(payload, mode, signature, timestamp_offset, trigger_id, response_url, target=target)

    async def click_in_ephemeral(
        self, user: str, *, message_ts: str, action_id: str, value: str | None = None, mode: str | None = None,
        block_id: str | None = None,
    ) -> Delivery:
        """`user` clicks a button in an ephemeral message they were shown."""
        ws = self._state
        u = ws.user(user)
        eph = ws.messages.find_ephemeral(u.id, message_ts)
        if eph is None:
            raise EmulatorError(f"{u.name} has no ephemeral message {message_ts}")
        c = ws.channel(eph.channel)
        action = payloads.button_action(eph.blocks, action_id, value, ws.next_ts(), f"ephemeral {message_ts}", block_id)
        trigger_id = ws.issue_trigger(u.id)
        response_url = ws.issue_response_url(u.id, c.id, message_ts, ephemeral=True)
        container = {"type": "message", "message_ts": message_ts, "channel_id": c.id, "is_ephemeral": True}
        payload = payloads.block_actions(
            self.config, user=u, container=container, action=action, trigger_id=trigger_id, channel=c, response_url=response_url,
        )
        return await self._interact(payload, mode, None, 0.0, trigger_id, response_url)

    async def click_in_home(
        self, user: str, action_id: str, value: str | None = None, *, mode: str | None = None, block_id: str | None = None,
    ) -> Delivery:
        """`user` clicks a button on the app's Home tab (as last published for them)."""
        u = self._state.user(user)
        home = self._state.views.home(u.id)
        if home is None:
            raise EmulatorError(f"no Home tab was published for {u.name}")
        return await self._click_view(u, home, action_id, value, mode, block_id)

    async def click_in_view(
        self, user: str, view_id: str, action_id: str, value: str | None = None, *, mode: str | None = None,
        block_id: str | None = None,
    ) -> Delivery:
        """`user` clicks a button inside an open modal."""
        u = self._state.user(user)
        return await self._click_view(u, self._open_view(u, view_id), action_id, value, mode, block_id)

    async def submit_view(
        self, user: str, view_id: str, values: dict[str, dict[str, Any]] | None = None, *,
        mode: str | None = None, signature: str | None = None, timestamp_offset: float = 0.0,
    ) -> Delivery:
        """`user` submits an open modal with `values` ({block_id: {action_id: value}}); applies the ack."""
        ws = self._state
        u = ws.user(user)
        view = self._open_view(u, view_id)
        trigger_id = ws.issue_trigger(u.id)
        payload = payloads.view_submission(self.config, user=u, view=view.raw, values=values or {}, trigger_id=trigger_id,
                                           offered=self._state.views.offered(view_id))
        problems: list[str] = []
        delivery = await self._interact(
            payload, mode, signature, timestamp_offset, trigger_id, None,
            on_ack=lambda body: problems.extend(self._apply_submission_ack(u, view_id, body or {})),
        )
        if problems:
            raise EmulatorError(f"the app's answer to the submission would fail in Slack: {problems[0]}")
        return delivery

    async def suggest(self, user: str, view_id: str, block_id: str, text: str, *, mode: str | None = None) -> list[dict[str, Any]]:
        """`user` types `text` into the external_select of block `block_id` of an open modal; returns
        the options the app answered with (an app that does not answer in time offers nothing)."""
        u = self._state.user(user)
        view = self._open_view(u, view_id)
        block = next((b for b in view.blocks if b.get("block_id") == block_id and b.get("type") == "input"), None)
        element = (block or {}).get("element") or {}
        if element.get("type") not in ("external_select", "multi_external_select"):
            raise EmulatorError(f"block {block_id!r} of modal {view_id} has no external_select")
        payload = payloads.block_suggestion(self.config, user=u, view=view.raw, block_id=block_id,
                                            action_id=element.get("action_id", ""), value=text)
        delivery = await self._interact(payload, mode, None, 0.0, None, None)
        body = delivery.ack_body if delivery.acked and isinstance(delivery.ack_body, dict) else {}
        options = list(body.get("options") or [])
        for group in body.get("option_groups") or []:
            options.extend(group.get("options") or [])
        self._state.views.offer(view_id, block_id, options)
        return options

    async def close_view(self, user: str, view_id: str, *, mode: str | None = None) -> Delivery | None:
        """`user` closes an open modal; `view_closed` is delivered only if the view asked for it."""
        u = self._state.user(user)
        view = self._open_view(u, view_id)
        clear = bool(view.raw.get("clear_on_close"))
        self._state.views.close(u.id, view_id, clear=clear)
        if not view.raw.get("notify_on_close"):
            return None
        payload = payloads.view_closed(self.config, user=u, view=view.raw, cleared=clear)
        return await self._interact(payload, mode, None, 0.0, None, None)

    def _apply_command_ack(self, u: User, channel: str, body: dict[str, Any] | None) -> None:
        """Slack shows a command's ack text to the person, or in the channel for `in_channel`."""
        ws = self._state
        body = body or {}
        if not (body.get("text") or body.get("blocks")):
            return
        if body.get("response_type") == "in_channel":
            ws.messages.add(channel, bot_message(self.config, ts=ws.next_ts(), text=body.get("text") or "", blocks=body.get("blocks")))
        else:
            ws.messages.add_ephemeral(u.id, channel, body.get("text") or "", body.get("blocks") or [], thread_ts=None, source="command_ack")

    def _apply_submission_ack(self, u: User, view_id: str, body: dict[str, Any]) -> list[str]:
        """Do what Slack does with a submission's `response_action`; returns problems, if any."""
        views = self._state.views
        action = body.get("response_action")
        try:
            if action == "errors":
                views.set_errors(view_id, body.get("errors") or {})
            elif action == "update":
                views.replace(view_id, body.get("view") or {})
            elif action == "push":
                views.push(u.id, body.get("view") or {})
            else:
                views.close(u.id, view_id, clear=action == "clear")
        except ViewError as exc:
            return [f"response_action {action!r}: {exc}"]
        return []

    def _open_view(self, u: User, view_id: str) -> View:
        view = self._state.views.get(view_id)
        if view is None or view.user != u.id or view.type != "modal":
            raise EmulatorError(f"{u.name} has no modal {view_id}")
        if not view.is_open:
            raise EmulatorError(f"modal {view_id} of {u.name} is closed")
        return view

    async def _click_view(
        self, u: User, view: View, action_id: str, value: str | None, mode: str | None, block_id: str | None = None,
    ) -> Delivery:
        ws = self._state
        action = payloads.button_action(view.blocks, action_id, value, ws.next_ts(), f"view {view.id}", block_id)
        trigger_id = ws.issue_trigger(u.id)
        container = {"type": "view", "view_id": view.id}
        payload = payloads.block_actions(self.config, user=u, container=container, action=action, trigger_id=trigger_id, view=view.raw)
        return await self._interact(payload, mode, None, 0.0, trigger_id, None)

    async def _interact(
        self, payload: dict[str, Any], mode: str | None, signature: str | None, offset: float,
        trigger_id: str | None, response_url: str | None, on_ack: Callable[[dict[str, Any] | None], None] | None = None,
        target: str | None = None,
    ) -> Delivery:
        return await self._deliverer.deliver(
            "interactive", payload, mode=mode, signature=signature, timestamp_offset=offset,
            trigger_id=trigger_id, response_url=response_url, on_ack=on_ack, target=target,
        )
