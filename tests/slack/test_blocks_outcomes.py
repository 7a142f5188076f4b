"""Outcome builders: what the requester is told of each end state, a stale card's "what changed",
Revert within its window, the "Approve all" message by name, and the App Home's outcome per request."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.describe import Facts
from bot.slack.blocks.home import home_view
from bot.slack.blocks.outcomes import (
    PROPOSE_AGAIN,
    REVERT,
    followup_blocks,
    group_done,
    group_message,
    outcome_message,
    request_outcomes,
)
from bot.store.requests import RequestView
from tests.slack.test_blocks import LINKS, NOW, buttons, proposal

STALE = dict(status="stale", decided_by="U01ALICE", decided_at=NOW, diff=[
    {"field": "close_date", "before": "2026-11-30", "after": "2027-01-26"}],
    result={"current": {"close_date": "2027-02-10"}, "current_version": 4,
            "moved": [{"field": "close_date", "planned": "2026-11-30", "now": "2027-02-10"}]})
EXECUTED = dict(status="executed", decided_by="U01ALICE", decided_at=NOW,
                result={"record": "deal:7", "version": 4, "changed": ["stage"], "replayed": False})


def text_of(message: tuple[str, list[dict[str, Any]]]) -> str:
    return json.dumps(message, ensure_ascii=False)


@pytest.mark.parametrize("changes, expected, absent", [
    (EXECUTED, ["✅", "<@U02BOB>", "<@U01ALICE> approved", "It is done",
                "<https://crm.example.com/deals/7|deal 7>"], []),
    (dict(status="rejected", decided_by="U01ALICE", decided_at=NOW, reason="wrong deal"),
     ["🚫", "<@U01ALICE> rejected", "Reason: wrong deal"], []),
    (dict(status="rejected", decided_by="U01ALICE", decided_at=NOW, reason=None), ["No reason was given"], []),
    (STALE, ["⚠️", "not applied", "*close date* changed from Mon 30 Nov 2026 to Wed 10 Feb 2027", PROPOSE_AGAIN,
             "Propose again with current values"], []),
    (dict(status="failed", decided_by="U01ALICE", decided_at=NOW, error="the CRM is not reachable",
          result={"retryable": True}), ["❌", "failed", "the CRM is not reachable", "Retry"], []),
    (dict(status="expired", decided_at=NOW), ["⌛", "expired", "nobody decided"], ["approved"]),
    (dict(status="executed", tool="send_email", decided_by="U01ALICE", decided_at=NOW,
          args={"to": "z@acme.example", "subject": "Hi", "body": "Hello"}, result={"email": 3, "status": "queued"}),
     ["📤", "approved your e-mail", "queued"], ["done"]),
])
def test_the_requester_is_told_every_end_state(changes: dict[str, Any], expected: list[str], absent: list[str]) -> None:
    message = outcome_message(proposal(**changes), LINKS)
    dump = text_of(message)
    for part in expected:
        assert part in dump, part
    for part in absent:
        assert part not in dump, part
    shown = [b["text"]["text"] for b in message[1] if b["type"] == "section"] + [message[0]]
    assert not any("p1" in text for text in shown)  # named by summary, never by id
    assert "Update deal 7 (Acme renewal)" in dump


def test_a_stale_card_names_the_field_from_what_to_what_and_offers_to_propose_again() -> None:
    stale = proposal(**STALE)
    _, blocks = proposal_card(stale, LINKS, followups=followup_blocks(stale, now=NOW, revert_until=None))
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "*close date* changed from Mon 30 Nov 2026 to Wed 10 Feb 2027" in dump
    assert [b["action_id"] for b in buttons(blocks)] == [PROPOSE_AGAIN] and buttons(blocks)[0]["value"] == "p1"


@pytest.mark.parametrize("minutes, shown", [(0, True), (60, True), (61, False)])
def test_revert_is_offered_within_the_window_only(minutes: int, shown: bool) -> None:
    done = proposal(**EXECUTED)
    blocks = followup_blocks(done, now=NOW + timedelta(minutes=minutes), revert_until=NOW + timedelta(minutes=60))
    assert [b["action_id"] for b in buttons(blocks)] == ([REVERT] if shown else [])


def test_a_create_says_it_is_not_reverted_and_an_email_says_queued_or_sent() -> None:
    created = proposal(tool="create_task", record_kind=None, record_id=None, **{**EXECUTED, "result": {
        "record": "activity:9", "version": 1}})
    assert "archive it in the CRM" in json.dumps(followup_blocks(created, now=NOW, revert_until=None))
    for status, word in (("queued", "Queued"), ("sent", "Sent"), ("failed", "Not delivered")):
        email = proposal(tool="send_email", args={"to": "z@acme.example", "subject": "Hi", "body": "Hello"},
                         status="executed", decided_by="U01ALICE", decided_at=NOW, result={"email": 1, "status": status})
        _, blocks = proposal_card(email, LINKS)
        dump = json.dumps(blocks, ensure_ascii=False)
        assert f"*{word}*" in dump and "Executed" not in dump


def test_approve_all_lists_what_it_covers_by_name_and_drops_its_button_when_decided() -> None:
    a = proposal(id="a", summary="Move deal Acme renewal to negotiation")
    b = proposal(id="b", summary="Log a call with Henry Bennett", risk="low")
    _, blocks = group_message([a, b])  # type: ignore[misc]
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "Move deal Acme renewal to negotiation" in dump and "Log a call with Henry Bennett" in dump
    assert buttons(blocks)[0]["text"]["text"] == "Approve all 2"
    _, blocks = group_message([replace(a, status="executed"), replace(b, status="rejected")])  # type: ignore[misc]
    dump = json.dumps(blocks, ensure_ascii=False)
    assert buttons(blocks) == [] and "All decided" in dump and "done" in dump and "rejected" in dump
    summary = text_of(group_done([(a, "done"), (b, "this proposal is already rejected")]))
    assert "Move deal Acme renewal to negotiation: done" in summary and "`a`" not in summary


def request(key: str, proposals: int, at: int, conversation: str = "slack:C0SALES:1.0") -> RequestView:
    return RequestView(key, "mention", "U02BOB", "C0SALES", "1.0", conversation, "q", "answered", proposals, None,
                       NOW + timedelta(minutes=at), NOW + timedelta(minutes=at, seconds=5))


def test_the_app_home_shows_each_requests_real_outcome() -> None:
    first = proposal(id="a", created_at=NOW + timedelta(seconds=1), status="rejected", decided_by="U01ALICE")
    stale = proposal(id="b", created_at=NOW + timedelta(minutes=5, seconds=1), status="stale")
    again = proposal(id="c", created_at=NOW + timedelta(minutes=9), supersedes_id="b", status="executed",
                     decided_by="U01ALICE")
    pending = proposal(id="d", created_at=NOW + timedelta(minutes=10, seconds=1))
    done = proposal(id="e", created_at=NOW + timedelta(minutes=10, seconds=2), status="executed")
    requests = [request("r1", 1, 0), request("r2", 1, 5), request("r3", 2, 10), request("r4", 0, 20)]
    outcomes = request_outcomes(requests, [first, stale, again, pending, done])
    assert outcomes == {"r1": "1 proposal: rejected by <@U01ALICE>", "r2": "1 proposal: done by <@U01ALICE>",
                        "r3": "2 proposals: 1 waiting for a decision, 1 done"}
    view = json.dumps(home_view("Bot", [], requests, LINKS, outcomes=outcomes), ensure_ascii=False)
    assert "rejected by <@U01ALICE>" in view and "answered · 1 proposal\\n" not in view


def test_the_requester_reads_the_cards_own_title_and_the_record_by_name() -> None:
    """Told with the card's names, the message calls the change what its card calls it, not the
    stored summary with its raw field and stage names."""
    done = proposal(**EXECUTED)
    facts = Facts(LINKS, records={("deal", 7): "Acme renewal 2027"})
    dump = text_of(outcome_message(done, LINKS, facts))
    card_title = json.loads(json.dumps(proposal_card(done, LINKS, facts=facts)[1][0]))["text"]["text"]
    assert card_title in dump and "|Acme renewal 2027>" in dump
    assert done.summary not in dump
