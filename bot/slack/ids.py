"""Conversation ids of Slack threads: `slack:<channel>:<thread ts>`, and back."""

from __future__ import annotations

PREFIX = "slack:"


def conversation_id(channel: str, thread_ts: str) -> str:
    return f"{PREFIX}{channel}:{thread_ts}"


def thread_of(conversation: str | None) -> tuple[str, str] | None:
    """(channel, thread ts) of a Slack thread's conversation id; None for other conversations."""
    if not conversation or not conversation.startswith(PREFIX):
        return None
    channel, _, ts = conversation[len(PREFIX):].partition(":")
    return (channel, ts) if channel and ts else None
