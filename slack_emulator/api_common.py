"""What the Web API methods share: Slack's error answers, conversation lookup, cursor pagination."""

from __future__ import annotations

import base64
from typing import Any

from slack_emulator.config import Channel
from slack_emulator.state import Workspace


class ApiError(Exception):
    """A Web API refusal: `{"ok": false, "error": error, **extra}`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def conversation(ws: Workspace, args: dict[str, Any], *, key: str = "channel", need_bot: bool = True) -> Channel:
    """The conversation named by `args[key]` (id, #name, or a user id for their DM)."""
    ref = args.get(key)
    if not isinstance(ref, str) or not ref:
        raise ApiError("channel_not_found")
    channel = ws.find_channel(ref)
    if channel is None:
        raise ApiError("channel_not_found")
    if need_bot and ws.config.bot_user_id not in channel.members:
        raise ApiError("not_in_channel")
    return channel


def channel_info(ws: Workspace, channel: Channel) -> dict[str, Any]:
    """A conversation object as conversations.info shows it."""
    info: dict[str, Any] = {
        "id": channel.id,
        "created": 1700000000,
        "is_archived": False,
        "is_member": ws.config.bot_user_id in channel.members,
        "context_team_id": ws.config.team_id,
        "is_ext_shared": channel.is_ext_shared,
        "is_shared": channel.is_ext_shared,
    }
    if channel.is_im:
        info.update(is_im=True, is_channel=False, is_group=False, is_private=True, user=channel.user, is_open=True)
    else:
        info.update(
            name=channel.name,
            name_normalized=channel.name,
            is_channel=not channel.is_private,
            is_group=channel.is_private,
            is_im=False,
            is_private=channel.is_private,
            is_general=channel.name == "general",
            num_members=len(channel.members),
        )
    return info


def page(items: list[Any], args: dict[str, Any], *, default_limit: int = 100) -> tuple[list[Any], dict[str, Any]]:
    """One page of `items` by Slack's `limit`/`cursor`, and the `response_metadata` to return."""
    try:
        limit = int(args.get("limit") or default_limit)
    except (TypeError, ValueError):
        raise ApiError("invalid_limit") from None
    limit = max(1, min(limit, 1000))
    start = 0
    cursor = args.get("cursor")
    if cursor:
        try:
            kind, _, offset = base64.b64decode(cursor).decode().partition(":")
            start = int(offset)
            if kind != "offset" or start < 0:
                raise ValueError(cursor)
        except ValueError:  # includes base64's binascii.Error and bad UTF-8
            raise ApiError("invalid_cursor") from None
    end = start + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[start:end], {"next_cursor": next_cursor}
