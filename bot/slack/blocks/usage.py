"""A person's usage and limits, for `/crm usage` and the App Home (pure functions of the numbers)."""

from __future__ import annotations

from typing import Any

from bot.limits.service import Usage, at
from bot.slack.blocks.messages import context, section


def _of(used: int, limit: int, unit: str) -> str:
    return f"{used:,} of {limit:,} {unit}" if limit else f"{used:,} {unit} (no limit)"


def usage_lines(usage: Usage) -> list[str]:
    """One line per limit: what is used, the limit, and when it starts again."""
    if usage.requests_per_minute:
        minute = f"{_of(usage.requests_this_minute, usage.requests_per_minute, 'requests')} this minute"
        if usage.requests_this_minute:
            minute += f" (a new minute starts {at(usage.minute_resets_at, usage.as_of)})"
    else:
        minute = "Requests: no limit per minute"
    day = f"resets {at(usage.day_resets_at, usage.as_of)}"
    return [f"• {minute[0].upper()}{minute[1:]}",
            f"• Model tokens today: {_of(usage.tokens_today, usage.tokens_per_day, 'tokens')} ({day})",
            f"• The whole workspace today: {_of(usage.workspace_tokens_today, usage.workspace_tokens_per_day, 'tokens')}"]


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
