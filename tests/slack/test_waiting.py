"""Honest waiting: what a waiting request says, by phase, with an injected clock."""

from __future__ import annotations

from bot.slack.waiting import Waiting


async def _silent(text: str) -> None:
    return None


def test_a_waiting_request_says_what_it_waits_for_and_how_long() -> None:
    now = [100.0]
    waiting = Waiting(_silent, every=20, clock=lambda: now[0])
    waiting.queued(2)
    now[0] += 40
    assert waiting.text() == "Still queued, 40 s: 2 requests ahead of yours…"
    waiting.queued(0)
    assert waiting.text() == "Still queued, 40 s: yours is next…"
    waiting.running()
    now[0] += 20
    assert waiting.text() == "Still waiting for the model, 60 s…"
    waiting.tool(True)
    assert waiting.text() == "Still reading the CRM, 60 s…"
    waiting.tool(False)
    assert waiting.text() == "Still waiting for the model, 60 s…"
    assert "narrow" not in waiting.text()
