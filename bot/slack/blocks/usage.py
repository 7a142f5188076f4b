"""A person's usage and limits, for `/crm usage` and the App Home (pure functions of the numbers)."""

from __future__ import annotations

from typing import Any

from bot.limits.service import Usage, at
from bot.slack.blocks.messages import context, section


def _of(used: int, limit: int) -> str:
    return f"{used:,} of {limit:,}" if limit else f"{used:,} (no limit)"


def usage_lines(usage: Usage) -> list[str]:
    """One line per limit: what is used, the limit, and when the count starts again."""
    if not usage.requests_per_minute:
        minute = "• Requests this minute: no limit"
    else:
        minute = f"• Requests this minute: {_of(usage.requests_this_minute, usage.requests_per_minute)}"
        if usage.requests_this_minute:
            minute += f"; the count starts again {at(usage.minute_resets_at, usage.as_of)}"
    return [minute,
            f"• Model tokens today: {_of(usage.tokens_today, usage.tokens_per_day)}; "
            f"the count starts again {at(usage.day_resets_at, usage.as_of)}",
            f"• The whole workspace's model tokens today: "
            f"{_of(usage.workspace_tokens_today, usage.workspace_tokens_per_day)}"]


def usage_text(usage: Usage) -> str:
    """The answer to `/crm usage`."""
    return "*Your usage*\n" + "\n".join(usage_lines(usage))


def usage_home_blocks(usage: Usage | None) -> list[dict[str, Any]]:
    """The "Your usage" part of the Home view; None when the counters cannot be read just now."""
    blocks: list[dict[str, Any]] = [{"type": "divider"},
                                    {"type": "header", "text": {"type": "plain_text", "text": "Your usage"}}]
    if usage is None:
        return [*blocks, context("Usage cannot be read just now.")]
    return [*blocks, section("\n".join(usage_lines(usage)))]
