"""views.* methods: modals need a fresh trigger, Home tabs a user; both must fit Slack's limits."""

from __future__ import annotations

from typing import Any

from slack_emulator import limits
from slack_emulator.api_common import ApiError
from slack_emulator.modals import ViewError
from slack_emulator.state import TriggerError, Workspace


def _view(args: dict[str, Any], *, kind: str | None = None) -> dict[str, Any]:
    view = args.get("view")
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing required field: view"]})
    problems = limits.view_problems(view)
    if kind and view.get("type") != kind:
        problems.append(f"[ERROR] must be a {kind} view [json-pointer:/view/type]")
    if problems:
        raise ApiError("invalid_arguments", response_metadata={"messages": problems})
    return view


def _trigger_user(ws: Workspace, args: dict[str, Any]) -> str:
    try:
        return ws.use_trigger(args.get("trigger_id") or args.get("interactivity_pointer") or "").user
    except TriggerError as exc:
        raise ApiError(str(exc)) from None


def views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _view(args, kind="modal")
    user = _trigger_user(ws, args)
    try:
        return {"view": ws.views.open(user, view)}
    except ViewError as exc:
        raise ApiError(str(exc)) from None


def views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _view(args, kind="modal")
    user = _trigger_user(ws, args)
    try:
        return {"view": ws.views.push(user, view)}
    except ViewError as exc:
        raise ApiError(str(exc)) from None


def views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _view(args)
    try:
        return {"view": ws.views.update(args.get("view_id"), args.get("external_id"), view, args.get("hash"))}
    except ViewError as exc:
        raise ApiError(str(exc)) from None


def views_publish(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    view = _view(args, kind="home")
    user = args.get("user_id") or ""
    if user not in ws.users:
        raise ApiError("user_not_found")
    home = ws.views.home(user)
    if home is not None and args.get("hash") and args["hash"] != home.hash:
        raise ApiError("hash_conflict")
    return {"view": ws.views.publish(user, view)}


METHODS = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
