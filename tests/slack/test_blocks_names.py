"""People are named as people read them: a Slack user as a mention only in mrkdwn (where Slack shows
their name), a CRM owner by name; never a raw id in plain text, a header or a fallback text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.actions.service import Decision
from bot.records import Digest, Line, Section
from bot.slack.blocks import messages
from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.outcomes import group_done, outcome_message
from bot.slack.blocks.digest import render
from bot.slack.blocks.home import home_view
from bot.slack.decisions import _for_clicker
from tests.slack.test_blocks import LINKS, NOW, proposal

USER_IDS = ("U01ALICE", "U02BOB")
OWNER_IDS = ("alice", "bob")
NAMES = {"alice": "Alice Archer", "bob": "Bob Baker"}
MENTION = re.compile(r"<@U[A-Z0-9]+>")
OWNER_CHANGE = [{"field": "owner", "before": "alice", "after": "bob"}]


def texts(value: Any, kind: str = "mrkdwn") -> Iterator[tuple[str, str]]:
    """(kind, text) of every text object in blocks, a view or a message."""
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
            yield value["type"], value["text"]
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def no_raw_ids(fallback: str, blocks: Any) -> None:
    for kind, text in [("fallback", fallback), *texts(blocks)]:
        bare = MENTION.sub("", text) if kind == "mrkdwn" else text
        leaked = [i for i in (*USER_IDS, *OWNER_IDS) if re.search(rf"\b{i}\b", bare)]
        assert not leaked, f"{kind} text names {leaked} by id: {text!r}"


def _card(**changes: Any) -> tuple[str, Any]:
    return proposal_card(proposal(**changes), LINKS, owner_name=lambda o: NAMES.get(o, o))


def _digest() -> tuple[str, Any]:
    lines = tuple(Line(f"Deal {n}, 1,000 EUR at proposal", ("deal", n), ("follow_up",), "Bob Baker")
                  for n in range(12))
    sections = (Section("stale_deals", "Stale deals", lines, 12),)
    digest = Digest("sales", "C0SALES", NOW, NOW - timedelta(days=1), sections)
    (fallback, blocks), replies = render(digest, LINKS, lines_per_section=5)
    return fallback, [blocks, *(r[1] for r in replies)]


def _home() -> tuple[str, Any]:
    return "", home_view("Bot", [proposal(diff=OWNER_CHANGE)], [], LINKS)


def _clicker() -> tuple[str, Any]:
    decision = Decision("already_decided", "this proposal is already executed by <@U01ALICE> at 2026-11-21 09:00 UTC")
    text = _for_clicker(decision)
    assert "<@U01ALICE>" in text  # a mention Slack renders, not an escaped one printed as is
    return "", {"type": "mrkdwn", "text": text}


BUILDERS: list[tuple[str, Callable[[], tuple[str, Any]]]] = [
    ("pending card", lambda: _card()),
    ("owner change", lambda: _card(diff=OWNER_CHANGE)),
    ("executed card", lambda: _card(status="executed", decided_by="U01ALICE", decided_at=NOW)),
    ("rejected card", lambda: _card(status="rejected", decided_by="U01ALICE", decided_at=NOW, reason="no")),
    ("stale card", lambda: _card(status="stale", decided_by="U02BOB", decided_at=NOW, diff=OWNER_CHANGE,
                                 result={"current": {"owner": "alice"}})),
    ("pending list", lambda: messages.pending_list([proposal()], LINKS)),
    ("approve all", lambda: group_done([(proposal(), "this proposal is already executed by <@U01ALICE>")])),
    ("told rejected", lambda: outcome_message(proposal(status="rejected", decided_by="U01ALICE", reason="no"), LINKS)),
    ("digest", _digest),
    ("home", _home),
    ("decision message", _clicker),
]


@pytest.mark.parametrize(("name", "build"), BUILDERS, ids=[n for n, _ in BUILDERS])
def test_people_are_named_never_shown_by_raw_id(name: str, build: Callable[[], tuple[str, Any]]) -> None:
    fallback, blocks = build()
    no_raw_ids(fallback, blocks)


def test_owners_are_shown_by_name_and_unknown_owners_by_id() -> None:
    _, blocks = _card(diff=OWNER_CHANGE)
    assert "Alice Archer → Bob Baker" in str(blocks)
    _, blocks = proposal_card(proposal(diff=[{"field": "owner", "before": None, "after": "zed"}]), LINKS,
                              owner_name=lambda o: NAMES.get(o, o))
    assert "_none_ → zed" in str(blocks)
    _, digest = _digest()
    assert "Bob Baker" in str(digest)


def test_the_checker_catches_a_raw_id() -> None:
    with pytest.raises(AssertionError):
        no_raw_ids("", [{"type": "plain_text", "text": "approved by U01ALICE"}])
    with pytest.raises(AssertionError):
        no_raw_ids("", [{"type": "mrkdwn", "text": "owner: bob"}])
    with pytest.raises(AssertionError):
        no_raw_ids("by <@U01ALICE>", [])
