"""Read-only Web API methods (auth, conversations, users) and the Socket Mode URL handout."""

from __future__ import annotations

from typing import Any

from slack_emulator.api_common import ApiError, channel_info, conversation, page
from slack_emulator.state import Workspace


def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    cfg = ws.config
    return {
        "url": f"https://{cfg.team_domain}.slack.com/",
        "team": "Emulator",
        "user": cfg.bot_name,
        "team_id": cfg.team_id,
        "user_id": cfg.bot_user_id,
        "bot_id": cfg.bot_id,
        "is_enterprise_install": False,
    }


def connections_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    ws_base = "ws" + ws.base_url.removeprefix("http")
    return {"url": f"{ws_base}/link/?ticket={ws.issue_ticket()}&app_id={ws.config.app_id}"}


def conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"channel": channel_info(ws, conversation(ws, args, need_bot=False))}


def conversations_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """The bot's DM with one person (`users`); group DMs are not emulated."""
    users = [u for u in str(args.get("users") or "").split(",") if u]
    if len(users) != 1 or ws.users.get(users[0]) is None:
        raise ApiError("user_not_found" if len(users) == 1 else "not_implemented")
    dm = ws.dm_of(users[0])
    if dm is None:
        raise ApiError("channel_not_found")
    return {"channel": {"id": dm.id}, "no_op": True, "already_open": True}


def conversations_members(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args, need_bot=False)
    members, meta = page(list(channel.members), args)
    return {"members": members, "response_metadata": meta}


def conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    messages = [m for m in ws.messages.history(channel.id) if _within(m["ts"], args)]
    shown, meta = page(messages, args)
    return {"messages": shown, "has_more": bool(meta["next_cursor"]), "pin_count": 0, "response_metadata": meta}


def conversations_replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    ts = args.get("ts") or ""
    found = ws.messages.get(channel.id, ts)
    if found is None:
        raise ApiError("thread_not_found")
    is_reply = found.get("thread_ts") not in (None, ts)
    messages = [found] if is_reply else ws.messages.thread(channel.id, ts)
    messages = [m for m in messages if _within(m["ts"], args)]
    shown, meta = page(messages, args, default_limit=1000)
    return {"messages": shown, "has_more": bool(meta["next_cursor"]), "response_metadata": meta}


def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("user") == ws.config.bot_user_id:  # the app's own bot user
        cfg = ws.config
        return {"user": {"id": cfg.bot_user_id, "team_id": cfg.team_id, "name": cfg.bot_name, "deleted": False,
                         "is_bot": True, "is_app_user": False, "profile": {"bot_id": cfg.bot_id,
                                                                           "real_name": cfg.bot_name}}}
    user = ws.users.get(args.get("user") or "")
    if user is None:
        raise ApiError("user_not_found")
    profile = {"real_name": user.real_name or user.name, "display_name": user.name, "email": user.email}
    return {
        "user": {
            "id": user.id,
            "team_id": user.team_id or ws.config.team_id,
            "name": user.name,
            "real_name": user.real_name or user.name,
            "deleted": user.deleted,
            "is_bot": user.is_bot,
            "is_admin": False,
            "is_restricted": user.is_restricted or user.is_ultra_restricted,
            "is_ultra_restricted": user.is_ultra_restricted,
            "is_stranger": user.is_stranger,
            "tz": user.tz,
            "profile": profile,
        }
    }


def usergroups_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    return {"usergroups": [{"id": group_id, "handle": handle, "name": handle, "team_id": ws.config.team_id,
                            "user_count": len(members)} for handle, (group_id, members) in ws.usergroups.items()]}


def usergroups_users_list(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    wanted = args.get("usergroup") or ""
    for group_id, members in ws.usergroups.values():
        if group_id == wanted:
            return {"users": list(members)}
    raise ApiError("no_such_subteam")


def _within(ts: str, args: dict[str, Any]) -> bool:
    """Slack's `oldest`/`latest` bounds (exclusive unless `inclusive`)."""
    value = float(ts)
    inclusive = bool(args.get("inclusive"))
    oldest, latest = args.get("oldest"), args.get("latest")
    after_oldest = not oldest or value > float(oldest) or (inclusive and value == float(oldest))
    before_latest = not latest or value < float(latest) or (inclusive and value == float(latest))
    return bool(after_oldest and before_latest)


METHODS = {
    "auth.test": auth_test,
    "apps.connections.open": connections_open,
    "conversations.info": conversations_info,
    "conversations.members": conversations_members,
    "conversations.open": conversations_open,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
}
