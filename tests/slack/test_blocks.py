"""Block Kit builders: cards per state, Slack's limits, buttons that carry nothing but ids."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.records import ProposalView
from bot.slack.blocks import messages
from bot.slack.blocks.cards import APPROVE, APPROVE_ALL, EDIT, REJECT, RETRY, proposal_card
from bot.slack.blocks.outcomes import group_message
from bot.slack.blocks.home import home_view
from bot.slack.blocks.links import Links
from bot.slack.blocks.edit_form import FormField, changed_fields, edit_modal, submitted
from bot.slack.blocks.modals import reject_modal
from bot.store.requests import RequestView

def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
LINKS = Links.from_settings("https://crm.example.com/{kind}s/{id}", "", ())


def proposal(**changes: Any) -> ProposalView:
    base = ProposalView(
        id="p1", conversation_id="slack:C0SALES:1.0", tool="update_deal", args={"deal_id": 7, "stage": "negotiation"},
        payload_hash="h" * 64, summary="Update deal 7 (Acme renewal): stage proposal -> negotiation",
        diff=[{"field": "stage", "before": "proposal", "after": "negotiation"}], risk="medium", requester="U02BOB",
        record_kind="deal", record_id=7, record_version=3, status="pending", created_at=NOW,
        expires_at=NOW + timedelta(hours=24), decided_by=None, decided_at=None, reason=None, result=None, error=None,
        supersedes_id=None, channel="C0SALES", message_ts="2.0")
    return replace(base, **changes)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_pending_card_shows_the_change_and_carries_only_the_id() -> None:
    text, blocks = proposal_card(proposal(), LINKS)
    dump = dumps(blocks)
    assert "Proposal → Negotiation" in dump and "<https://crm.example.com/deals/7|the deal>" in dump
    assert "<@U02BOB>" in dump and "Medium risk" in dump and "<!date^" in dump
    assert [b["action_id"] for b in buttons(blocks)] == [APPROVE, REJECT, EDIT]
    assert {b["value"] for b in buttons(blocks)} == {"p1"}
    assert "confirm" not in buttons(blocks)[0]


def test_high_risk_approve_asks_for_confirmation() -> None:
    _, blocks = proposal_card(proposal(risk="high", tool="send_email"), LINKS)
    assert buttons(blocks)[0]["confirm"]["confirm"]["text"] == "Approve"


@pytest.mark.parametrize(("changes", "expected", "actions"), [
    ({"status": "executed", "decided_by": "U01ALICE", "decided_at": NOW, "result": {"record": "deal:7"}},
     "Executed", []),
    ({"status": "rejected", "decided_by": "U01ALICE", "decided_at": NOW, "reason": "not <!here> yet"},
     "Rejected", []),
    ({"status": "expired", "decided_at": NOW}, "Expired", []),
    ({"status": "superseded", "decided_by": "U02BOB", "decided_at": NOW}, "replaced by the new version", []),
    ({"status": "stale", "decided_by": "U01ALICE", "decided_at": NOW, "result": {"current": {"stage": "won"}}},
     "nothing was written", []),
    ({"status": "failed", "error": "SMTP server timed out", "result": {"retryable": True}}, "Failed", [RETRY]),
    ({"status": "failed", "error": "bad address", "result": {"retryable": False}}, "Failed", []),
])
def test_decided_cards_say_what_happened(changes: dict[str, Any], expected: str, actions: list[str]) -> None:
    _, blocks = proposal_card(proposal(**changes), LINKS)
    dump = dumps(blocks)
    assert expected in dump
    assert [b["action_id"] for b in buttons(blocks)] == actions
    assert "<!here>" not in dump
    if changes["status"] == "executed":
        assert "<@U01ALICE>" in dump and "crm.example.com/deals/7" in dump
    if changes["status"] == "stale":
        assert "(now Won)" in dump


def test_card_values_are_escaped_and_within_limits() -> None:
    long = "x" * 5000
    p = proposal(summary="<!channel> " + long, diff=[{"field": f"f{i}", "before": long, "after": "<@U1>"}
                                                     for i in range(60)])
    text, blocks = proposal_card(p, LINKS)
    assert len(blocks) <= 50 and len(text) <= 300
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
    assert "<!channel>" not in dumps(blocks) and "<@U1>" not in dumps(blocks)


def test_approve_all_covers_the_pending_ones_it_lists() -> None:
    ps = [proposal(id="a", risk="low"), proposal(id="b", risk="medium"), proposal(id="d", risk="low", status="executed")]
    _, blocks = group_message(ps)  # type: ignore[misc]
    assert buttons(blocks)[0]["action_id"] == APPROVE_ALL and buttons(blocks)[0]["value"] == "a,b"
    assert group_message([proposal(id="a")]) is None


def test_edit_modal_is_prefilled_and_only_real_changes_count() -> None:
    p = proposal(args={"deal_id": 7, "stage": "negotiation", "amount": "1200.00"})
    fields = [FormField("stage", "choice", ("proposal", "negotiation")), FormField("amount", "amount"),
              FormField("close_date", "date")]
    view = edit_modal(p, fields)
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["stage"]["element"]["initial_option"]["value"] == "negotiation"
    assert "initial_date" not in inputs["close_date"]["element"] and view["private_metadata"] == "p1"
    assert len(view["title"]["text"]) <= 24
    state = {"stage": {"value": {"type": "static_select", "selected_option": {"value": "negotiation"}}},
             "amount": {"value": {"type": "number_input", "value": " 1500 "}},
             "close_date": {"value": {"type": "datepicker", "selected_date": None}}}
    assert changed_fields(p, submitted(state), fields) == {"amount": "1500"}


def test_an_untouched_long_field_is_no_change_although_the_form_showed_only_its_start() -> None:
    body = "\n".join(f"paragraph {i}: " + "words " * 30 for i in range(40))  # about 7,600 characters
    p = proposal(tool="send_email", args={"to": "zoe@acme.example", "subject": "Renewal", "body": body})
    view = edit_modal(p, [FormField("to", "email"), FormField("subject"), FormField("body", "long")])
    shown = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
    state = {name: {"value": {"type": "plain_text_input", "value": value}} for name, value in shown.items()}
    state["subject"]["value"]["value"] = "Renewal 2027"
    assert changed_fields(p, submitted(state)) == {"subject": "Renewal 2027"}  # the body stays whole


def test_reject_modal_has_an_optional_reason() -> None:
    view = reject_modal(proposal())
    assert view["blocks"][-1]["optional"] is True and view["private_metadata"] == "p1"
    assert view["blocks"][-1]["label"]["text"] == "Reason"  # Slack adds "(optional)" itself


def test_answers_are_split_into_messages_with_sources_last() -> None:
    text = "para\n\n" * 8000 + "See [pricing.md#discounts] and deal 7."
    parts = messages.answer(text, ["pricing.md#discounts", "deal:7"], LINKS, note="1 proposal below")
    assert len(parts) > 1
    for _, blocks in parts:
        assert len(blocks) <= 50
        assert sum(len(b["text"]["text"]) for b in blocks if b["type"] == "section") <= 40_000
    footer = dumps(parts[-1][1][-1])
    assert "pricing.md › discounts" in footer and "crm.example.com/deals/7" in footer and "1 proposal" in footer


def test_home_view_stays_within_limits() -> None:
    requests = [RequestView(f"k{i}", "mention", "U01ALICE", "C0SALES", None, None, "q <!here>", "answered", 1, None,
                            NOW, NOW) for i in range(40)]
    view = home_view("Bot", [proposal(id=f"p{i}") for i in range(40)], requests, LINKS)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    assert "<!here>" not in dumps(view) and "… and 20 more" in dumps(view)


def test_a_request_in_progress_is_not_quoted_empty_on_the_home_tab() -> None:
    running = RequestView("k1", "dm", "U01ALICE", "D01ALICE", None, None, "", "running", 0, None, NOW, None)
    shown = dumps(home_view("Bot", [], [running], LINKS))
    assert "“”" not in shown and "(your question is being read)" in shown
