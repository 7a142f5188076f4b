"""The shapes shared across bot/slack: Bolt's `ack` and `respond`, and a message to post."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Ack = Callable[..., Awaitable[Any]]  # Bolt's ack(): answers Slack's request within its 3 seconds
Respond = Callable[..., Awaitable[Any]]  # Bolt's respond(): replies through the payload's response_url
SlackMessage = tuple[str, list[dict[str, Any]]]  # (fallback text, Block Kit blocks)
