"""chat.* methods: the bot posting, updating, deleting and whispering, within Slack's rules.

The rules are the point: the bot must be in the conversation, may only change its own messages,
must send text or blocks, and its blocks must fit Slack's limits.
"""

from __future__ import annotations

from typing import Any

from slack_emulator import limits
from slack_emulator.api_common import ApiError, conversation
from slack_emulator.config import EmulatorConfig
from slack_emulator.state import Workspace


def bot_message(cfg: EmulatorConfig, *, ts: str, text: str, blocks: list[Any] | None, thread_ts: str | None = None) -> dict[str, Any]:
    """A message by the app's bot user, as Slack stores it."""
    msg: dict[str, Any] = {
        "type": "message",
        "user": cfg.bot_user_id,
        "bot_id": cfg.bot_id,
        "app_id": cfg.app_id,
        "text": text,
        "ts": ts,
        "team": cfg.team_id,
        "bot_profile": {"id": cfg.bot_id, "app_id": cfg.app_id, "name": cfg.bot_name, "team_id": cfg.team_id, "deleted": False},
    }
    if blocks:
        msg["blocks"] = blocks
    if thread_ts:
        msg["thread_ts"] = thread_ts
    return msg


def content(args: dict[str, Any], *, required: bool = True) -> tuple[str | None, list[Any] | None]:
    """(text, blocks) of a call, truncated and checked against Slack's limits."""
    text = args.get("text")
    blocks = args.get("blocks")
    if required and not text and not blocks and not args.get("attachments"):
        raise ApiError("no_text")
    if blocks is not None:
        problems = limits.block_problems(blocks)
        if problems:
            raise ApiError("invalid_blocks", errors=problems, response_metadata={"messages": problems})
    if isinstance(text, str):
        text = limits.truncate_text(text)
    return text, blocks


def post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    text, blocks = content(args)
    thread_ts = args.get("thread_ts") or None
    msg = bot_message(ws.config, ts=ws.next_ts(), text=text or "", blocks=blocks, thread_ts=thread_ts)
    if isinstance(args.get("metadata"), dict):
        msg["metadata"] = args["metadata"]
    stored = ws.messages.add(channel.id, msg, unfurl_links=args.get("unfurl_links"), unfurl_media=args.get("unfurl_media"))
    ws.surfaces.clear_status(channel.id, thread_ts)  # the app replied: Slack clears the thread's status
    return {"channel": channel.id, "ts": msg["ts"], "message": stored}


def update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    ts = args.get("ts") or ""
    current = ws.messages.get(channel.id, ts)
    if current is None:
        raise ApiError("message_not_found")
    if current.get("bot_id") != ws.config.bot_id:
        raise ApiError("cant_update_message")
    text, blocks = content(args, required=False)
    changes: dict[str, Any] = {"edited": {"user": ws.config.bot_user_id, "ts": ws.next_ts()}}
    if text is not None:
        changes["text"] = text
    if blocks is not None:  # left out, the blocks stay, as in Slack
        changes["blocks"] = blocks
    updated = ws.messages.update(channel.id, ts, changes)
    if ws.surfaces.stream(channel.id, ts) is not None:  # a streamed message replaced: an ordinary message now
        ws.surfaces.drop(channel.id, ts)
        ws.surfaces.clear_status(channel.id, current.get("thread_ts"))
    return {"channel": channel.id, "ts": ts, "text": updated.get("text", ""), "message": updated}


def delete(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    ts = args.get("ts") or ""
    current = ws.messages.get(channel.id, ts)
    if current is None:
        raise ApiError("message_not_found")
    if current.get("bot_id") != ws.config.bot_id:
        raise ApiError("cant_delete_message")
    ws.messages.delete(channel.id, ts)
    return {"channel": channel.id, "ts": ts}


def post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = conversation(ws, args)
    user = args.get("user") or ""
    if user not in ws.users:
        raise ApiError("user_not_found")
    if user not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks = content(args)
    ts = ws.messages.add_ephemeral(user, channel.id, text or "", blocks or [], thread_ts=args.get("thread_ts") or None, source="api")
    return {"message_ts": ts}


def get_permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """A message's permalink in Slack's form; a thread reply's carries its thread (the page opens it)."""
    channel = conversation(ws, args)
    ts = str(args.get("message_ts") or "")
    found = ws.messages.get(channel.id, ts)
    if found is None:
        raise ApiError("message_not_found")
    url = f"https://{ws.config.team_domain}.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"
    thread = found.get("thread_ts")
    if thread and thread != ts:
        url += f"?thread_ts={thread}&cid={channel.id}"
    return {"channel": channel.id, "permalink": url}


METHODS = {
    "chat.getPermalink": get_permalink,
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
    "chat.postEphemeral": post_ephemeral,
}
