"""Modal stacks and Home tabs per user, with the ids and hashes Slack uses to address them.

A user has at most one modal stack (views.open starts a new one, views.push adds to it, at most
three deep) and one Home tab per app. Every change gets a new `hash`, so a `views.update` that
passes a stale hash is refused with `hash_conflict`, as in Slack.
"""

from __future__ import annotations

import copy
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_emulator.records import View

if TYPE_CHECKING:
    from slack_emulator.state import Workspace

MAX_STACK = 3


class ViewError(Exception):
    """A view operation Slack would refuse; the message is Slack's error code."""


@dataclass
class _View:
    user: str
    raw: dict[str, Any]
    is_open: bool = True
    updates: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    offered: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # block_id -> options the app gave


class ViewStore:
    """Every view ever opened or published, by id; guarded by the workspace lock."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._views: dict[str, _View] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}

    def open(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        """Start a new modal stack for `user` (closing any open one); returns the stored view."""
        with self._ws.changing():
            for view_id in self._stacks.pop(user, []):
                self._views[view_id].is_open = False
            raw = self._new(user, view, root=None, previous=None)
            self._stacks[user] = [raw["id"]]
            return copy.deepcopy(raw)

    def push(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        with self._ws.changing():
            stack = self._stacks.get(user) or []
            if not stack:
                raise ViewError("not_found")
            if len(stack) >= MAX_STACK:
                raise ViewError("push_limit_reached")
            raw = self._new(user, view, root=stack[0], previous=stack[-1])
            stack.append(raw["id"])
            return copy.deepcopy(raw)

    def publish(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        """Set `user`'s Home tab, keeping its id across publishes as Slack does."""
        with self._ws.changing():
            home_id = self._homes.get(user)
            if home_id is None:
                raw = self._new(user, view, root=None, previous=None)
                self._homes[user] = raw["id"]
                return copy.deepcopy(raw)
            return self._replace(home_id, view)

    def update(self, view_id: str | None, external_id: str | None, view: dict[str, Any], hash_: str | None) -> dict[str, Any]:
        with self._ws.changing():
            found = self._find(view_id, external_id)
            if found is None:
                raise ViewError("not_found")
            if hash_ and hash_ != found.raw["hash"]:
                raise ViewError("hash_conflict")
            return self._replace(found.raw["id"], view)

    def set_errors(self, view_id: str, errors: dict[str, str]) -> None:
        with self._ws.changing():
            self._views[view_id].errors = dict(errors)

    def offer(self, view_id: str, block_id: str, options: list[dict[str, Any]]) -> None:
        """Remember what the app offered for an external_select, so only those can be submitted."""
        with self._ws.changing():
            found = self._views[view_id]
            known = {o.get("value") for o in found.offered.get(block_id, [])}
            found.offered.setdefault(block_id, []).extend(o for o in options if o.get("value") not in known)

    def offered(self, view_id: str) -> dict[str, list[dict[str, Any]]]:
        with self._ws.lock:
            return copy.deepcopy(self._views[view_id].offered)

    def replace(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        with self._ws.changing():
            return self._replace(view_id, view)

    def close(self, user: str, view_id: str, *, clear: bool = False) -> None:
        """Close `view_id` (and the views above it), or the whole stack when `clear`."""
        with self._ws.changing():
            stack = self._stacks.get(user, [])
            if view_id not in stack:
                return
            cut = 0 if clear else stack.index(view_id)
            for closed in stack[cut:]:
                self._views[closed].is_open = False
            del stack[cut:]

    def raw(self, view_id: str) -> dict[str, Any] | None:
        with self._ws.lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found.raw) if found else None

    def get(self, view_id: str) -> View | None:
        with self._ws.lock:
            found = self._views.get(view_id)
            return _record(found) if found else None

    def of(self, user: str) -> list[View]:
        """Every modal `user` was shown, oldest first (Home excluded)."""
        with self._ws.lock:
            return [_record(v) for v in self._views.values() if v.user == user and v.raw["type"] == "modal"]

    def open_stack(self, user: str) -> list[View]:
        with self._ws.lock:
            return [_record(self._views[i]) for i in self._stacks.get(user, [])]

    def home(self, user: str) -> View | None:
        with self._ws.lock:
            home_id = self._homes.get(user)
            return _record(self._views[home_id]) if home_id else None

    def _find(self, view_id: str | None, external_id: str | None) -> _View | None:
        if view_id:
            return self._views.get(view_id)
        if external_id:
            return next((v for v in self._views.values() if v.raw.get("external_id") == external_id), None)
        return None

    def _new(self, user: str, view: dict[str, Any], *, root: str | None, previous: str | None) -> dict[str, Any]:
        external_id = view.get("external_id", "")
        if external_id and any(v.raw.get("external_id") == external_id for v in self._views.values()):
            raise ViewError("duplicate_external_id")
        view_id = self._ws.next_id("V")
        cfg = self._ws.config
        raw = {
            "id": view_id,
            "team_id": cfg.team_id,
            "type": view.get("type", "modal"),
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": "",
            "title": None,
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": previous,
            "root_view_id": root or view_id,
            "app_id": cfg.app_id,
            "external_id": external_id,
            "app_installed_team_id": cfg.team_id,
            "bot_id": cfg.bot_id,
        }
        self._views[view_id] = _View(user, raw)
        self._apply(raw, view)
        return raw

    def _replace(self, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
        found = self._views[view_id]
        self._apply(found.raw, view)
        found.updates += 1
        found.errors = {}
        return copy.deepcopy(found.raw)

    def _apply(self, raw: dict[str, Any], view: dict[str, Any]) -> None:
        keep = {"id", "team_id", "previous_view_id", "root_view_id", "app_id", "app_installed_team_id", "bot_id", "hash", "state"}
        for key, value in view.items():
            if key not in keep:
                raw[key] = copy.deepcopy(value)
        raw["state"] = {"values": {}}
        raw["hash"] = f"{int(self._ws.clock())}.{secrets.token_hex(4)}"


def _record(v: _View) -> View:
    raw = copy.deepcopy(v.raw)
    return View(
        id=raw["id"],
        user=v.user,
        type=raw["type"],
        callback_id=raw.get("callback_id") or "",
        external_id=raw.get("external_id") or "",
        private_metadata=raw.get("private_metadata") or "",
        title=(raw.get("title") or {}).get("text", ""),
        blocks=raw.get("blocks") or [],
        hash=raw["hash"],
        is_open=v.is_open,
        updates=v.updates,
        errors=dict(v.errors),
        root_view_id=raw["root_view_id"],
        previous_view_id=raw.get("previous_view_id"),
        raw=raw,
    )
