"""The local workspace in a browser: the page, its state feed and what a person can do there.

Routes, on the emulator's own server: `GET /` (the page), `GET /web/…` (its scripts and styles),
`GET /ui/state` (long-polled snapshot of one person's view), and `POST /ui/<action>` for what
people do: post a message or a `/command`, click a button (in a message, an ephemeral, a modal or
the App Home), type into a modal's search list (external_select), submit or close a modal, open the App Home or the agent DM (its Messages tab, where
suggested prompts appear), dismiss an ephemeral. Every action goes
through the same emulator methods the tests use, so the app receives exactly what Slack would send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from slack_emulator.demo import bot_handle
from slack_emulator.records import EmulatorError
from slack_emulator.state import Workspace
from slack_emulator.ui_state import Feed, snapshot

if TYPE_CHECKING:
    from slack_emulator.server import SlackEmulator

WEB_DIR = Path(__file__).with_name("web")
POLL_SECONDS = 25.0  # below common proxy idle timeouts; the page simply asks again
HANDLE = re.compile(r"(?<![\w<@])@([a-z0-9][a-z0-9._-]*)", re.IGNORECASE)
Action = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class BrowserUi:
    """Serves the page for one emulator; built by `SlackEmulator.start()`."""

    def __init__(self, emulator: SlackEmulator, workspace: Workspace, feed: Feed) -> None:
        self._emu = emulator
        self._ws = workspace
        self._feed = feed
        self._actions: dict[str, Action] = {
            "post": self._post, "click": self._click, "submit": self._submit, "suggest": self._suggest, "close": self._close,
            "home": self._home, "dismiss": self._dismiss,
        }

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._page)
        app.router.add_static("/web/", WEB_DIR)
        app.router.add_get("/ui/state", self._state)
        app.router.add_post("/ui/{action}", self._act)

    async def _page(self, _request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-store"})

    def _foreign(self, request: web.Request, *, writes: bool) -> web.Response | None:
        """A refusal for requests another web site could make through the visitor's browser.

        The page has no login, so it must only answer itself: the Host must be this server's (a
        page on another name that resolves here, DNS rebinding, cannot read the state), and an
        action must be same-origin JSON (a cross-site form or no-cors fetch cannot send that
        content type without a CORS check, which this server never grants)."""
        host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in {"127.0.0.1", "localhost", "::1", self._emu.config.host.lower()}:
            return _refused(f"this page answers only at {self._emu.config.host}", status=403)
        if writes:
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                return _refused("actions are only taken from this page itself", status=403)
            if request.content_type != "application/json":
                return _refused("actions are sent as application/json", status=415)
        return None

    async def _state(self, request: web.Request) -> web.Response:
        if (refused := self._foreign(request, writes=False)) is not None:
            return refused
        try:
            user = self._emu.user(request.query.get("user") or self._first_person()).id
        except EmulatorError as exc:
            return _refused(str(exc))
        try:
            after = int(request.query.get("after") or -1)
        except ValueError:
            return _refused("after must be a version number, as the last state carried")
        version = await self._feed.wait_past(after, POLL_SECONDS)
        state = snapshot(self._ws, user, version=version, connected=self._emu.connected > 0,
                         bot_handle=self.handle)
        return web.json_response(state, headers={"Cache-Control": "no-store"})

    async def _act(self, request: web.Request) -> web.Response:
        if (refused := self._foreign(request, writes=True)) is not None:
            return refused
        action = self._actions.get(request.match_info["action"])
        if action is None:
            return _refused(f"unknown action {request.match_info['action']!r}", status=404)
        try:
            body = json.loads(await request.text())
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            self._emu.user(str(body.get("user") or ""))  # an unknown person is refused before anything happens
            return web.json_response({"ok": True, **await action(body)})
        except KeyError as exc:
            return _refused(f"missing field {exc}")
        except (EmulatorError, ValueError) as exc:
            return _refused(str(exc))

    def _first_person(self) -> str:
        """Whom the page shows when it names nobody: the first person of the workspace."""
        with self._ws.lock:
            return next((u.id for u in self._ws.users.values() if not u.is_bot), "")

    @property
    def handle(self) -> str:
        return bot_handle(self._emu.config.bot_name)

    def mentions(self, text: str) -> str:
        """`@bob` and `@crm-copilot` typed in the box become Slack's `<@U…>` mentions."""
        with self._ws.lock:
            ids = {u.name.lower(): u.id for u in self._ws.users.values()}
        ids[self.handle] = self._emu.config.bot_user_id
        return HANDLE.sub(lambda m: f"<@{ids[m.group(1).lower()]}>" if m.group(1).lower() in ids else m.group(0), text)

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        text = str(body.get("text") or "").strip()
        if not text:
            raise ValueError("write something first")
        user, channel = body["user"], body["channel"]
        if text.startswith("/"):
            command, _, rest = text.partition(" ")
            if command != "/crm":
                raise ValueError(f"{command} is not a command of this workspace; try /crm help")
            delivery = await self._emu.slash_command(user, channel, self.mentions(rest.strip()), command=command)
            return {"acked": delivery.acked}
        posted = await self._emu.user_message(user, channel, self.mentions(text), thread_ts=body.get("thread_ts") or None)
        return {"ts": posted.ts}

    async def _click(self, body: dict[str, Any]) -> dict[str, Any]:
        user, where = body["user"], body.get("where")
        common = {"action_id": body["action_id"], "value": body.get("value"), "block_id": body.get("block_id")}
        if where == "message":
            delivery = await self._emu.click(user, channel=body["channel"], message_ts=body["ts"], **common)
        elif where == "ephemeral":
            delivery = await self._emu.click_in_ephemeral(user, message_ts=body["ts"], **common)
        elif where == "home":
            delivery = await self._emu.click_in_home(user, **common)
        elif where == "view":
            delivery = await self._emu.click_in_view(user, body["view_id"], **common)
        else:
            raise ValueError(f"where must be message, ephemeral, home or view, not {where!r}")
        return {"acked": delivery.acked}

    async def _submit(self, body: dict[str, Any]) -> dict[str, Any]:
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise ValueError("values must be {block_id: {action_id: value}}")
        delivery = await self._emu.submit_view(body["user"], body["view_id"], values)
        return {"acked": delivery.acked}

    async def _suggest(self, body: dict[str, Any]) -> dict[str, Any]:
        options = await self._emu.suggest(body["user"], body["view_id"], str(body["block_id"]), str(body.get("value") or ""))
        return {"options": options}

    async def _close(self, body: dict[str, Any]) -> dict[str, Any]:
        await self._emu.close_view(body["user"], body["view_id"])
        return {}

    async def _home(self, body: dict[str, Any]) -> dict[str, Any]:
        tab = body.get("tab") or "home"
        if tab not in ("home", "messages"):
            raise ValueError("tab must be home or messages")
        delivery = await self._emu.home_opened(body["user"], tab=tab)
        return {"acked": delivery.acked}

    async def _dismiss(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self._emu.user(body["user"]).id
        return {"dismissed": self._ws.messages.delete_ephemeral(user, str(body.get("ts") or ""))}


def _refused(message: str, *, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)
