"""Cards in business language: every write and every state, read as a sales team reads it.

Each card must say what it does as a person would write it, list only what a person set or what
changes, by label, with amounts as the digests print them, records and owners by name, the risk
and why, and who may approve in words: never a tool name, a column name, a raw id or `->`.
The Edit form's inputs are the ones each field calls for.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from bot.actions.operations import operations
from bot.formats import money
from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.describe import Facts
from bot.slack.blocks.edit_form import edit_modal
from bot.slack.decisions import editable_fields
from tests.slack.test_blocks import LINKS, NOW, proposal
from tests.slack.test_blocks_names import no_raw_ids

RULES = {"low": (("requester", "channel_members"), True), "medium": (("record_owner", "group:managers"), False),
         "high": (("group:managers",), False)}
NAMES = {("deal", 7): "Acme renewal", ("company", 1): "Acme Corp", ("contact", 3): "Henry Bennett"}
COLUMNS = ("update_", "create_", "log_activity", "send_email", "_id", "close_date", "due_at", "due_date",
           "occurred_at", "lifecycle_stage", "done:", "kind:", "company 1", "contact 3", "deal 7", "->", "None")


def facts(risk: str = "medium", **changes: Any) -> Facts:
    return replace(Facts(LINKS, {"alice": "Alice Archer", "bob": "Bob Baker"}, NAMES, {7: "GBP"}, RULES[risk],
                         None, "Europe/London"), **changes)


def change(field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"field": field, "before": before, "after": after}


def new(tool: str, args: dict[str, Any], risk: str = "low", kind: str = "activity", **extra: Any) -> dict[str, Any]:
    diff = [change(k, None, v) for k, v in args.items()]
    return {"tool": tool, "args": args, "diff": diff, "risk": risk, "record_kind": kind, "record_id": None,
            "record_version": None, **extra}


def deal(args: dict[str, Any], *diff: dict[str, Any], risk: str = "medium") -> dict[str, Any]:
    return {"tool": "update_deal", "args": {"deal_id": 7, **args}, "diff": list(diff), "risk": risk}


CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("stage", deal({"stage": "negotiation"}, change("stage", "proposal", "negotiation")),
     "Move deal Acme renewal to Negotiation", ("*Stage*: Proposal → Negotiation", "it changes a deal in the pipeline",
                                              "Needs the deal's owner or a manager (not <@U02BOB>, who asked)")),
    ("won", deal({"stage": "closed_won"}, change("stage", "negotiation", "closed_won"), risk="high"),
     "Mark deal Acme renewal as won", ("High risk: it closes the deal", "Needs a manager")),
    ("amount", deal({"amount": "24000"}, change("amount", "22800.00", "24000")),
     "Change the amount of deal Acme renewal to 24,000 GBP", ("*Amount*: 22,800 GBP → 24,000 GBP",)),
    ("large amount", deal({"amount": "240000.50"}, change("amount", "22800.00", "240000.50"), risk="high"),
     "Change the amount of deal Acme renewal to 240,000.50 GBP", ("more than the approval threshold",)),
    ("close date", deal({"close_date": "2027-01-26"}, change("close_date", "2026-11-30", "2027-01-26")),
     "Move the close date of deal Acme renewal to Tue 26 Jan 2027",
     ("*Close date*: Mon 30 Nov 2026 → Tue 26 Jan 2027",)),
    ("owner", deal({"owner": "alice"}, change("owner", "bob", "alice")),
     "Hand deal Acme renewal over to Alice Archer", ("*Owner*: Bob Baker → Alice Archer",)),
    ("contact", {"tool": "update_contact", "args": {"contact_id": 3, "email": "h@acme.example", "title": "CFO"},
                 "diff": [change("email", None, "h@acme.example"), change("title", "CEO", "CFO")],
                 "record_kind": "contact", "record_id": 3},
     "Update contact Henry Bennett: e-mail, job title", ("*E-mail*: _none_ → h@acme.example", "*Job title*: CEO → CFO",
                                                         "contacts/3|Henry Bennett")),
    ("lead", new("create_lead", {"first_name": "Jane", "last_name": "Doe", "company_id": 1, "owner": "bob",
                                 "lifecycle_stage": "lead"}, kind="contact"),
     "Add Jane Doe as a new lead at Acme Corp", ("*Owner*: Bob Baker", "*Company:* <https://crm.example.com/companys/1|Acme Corp>")),
    ("new deal", new("create_deal", {"name": "Expansion", "company_id": 1, "amount": "120000", "currency": "EUR",
                                     "stage": "lead", "close_date": "2027-03-31"}, risk="medium", kind="deal"),
     "Create deal Expansion for Acme Corp (120,000 EUR)", ("*Stage*: Lead", "*Close date*: Wed 31 Mar 2027",
                                                           "it adds a deal to the pipeline")),
    ("call", new("log_activity", {"kind": "call", "subject": "Renewal call", "body": "Agreed on 24k.\nSends PO Friday.",
                                  "contact_id": 3, "company_id": 1, "occurred_at": "2026-11-20T14:30:00+00:00"}),
     "Log a call with Henry Bennett", ("*Notes*: \\n>Agreed on 24k.\\n>Sends PO Friday.", "<!date^1795185000^",
                                       "|Fri 20 Nov 2026 14:30 GMT>", "*Subject*: Renewal call",
                                       "Needs the person who asked or anyone in the channel")),
    ("note", new("log_activity", {"kind": "note", "subject": "Budget", "deal_id": 7}),
     "Add a note to Acme renewal", ("it only adds to the record's history",)),
    ("task", {**new("create_task", {"subject": "Send the quote", "due_date": "2026-12-11", "contact_id": 3}),
              "diff": [change("kind", None, "task"), change("done", None, False),
                       change("due_at", None, "2026-12-11T09:00:00+00:00"), change("company_id", None, 1)]},
     "Add a task: Send the quote, due Fri 11 Dec 2026", ("*Contact:*",)),
    ("ticket", new("create_ticket", {"subject": "Export fails", "company_id": 1, "priority": "high"}, kind="ticket"),
     "Open a high-priority ticket for Acme Corp: Export fails", ("it only opens a support ticket",)),
    ("e-mail", {**new("send_email", {"to": "henry@acme.example", "subject": "Quote", "body": "Hi Henry,\n\nThe quote.",
                                     "contact_id": 3}, risk="high", kind="contact"), "record_id": 3},
     "Send an e-mail to Henry Bennett", ("Hi Henry,\\n\\nThe quote.", "cannot be called back")),
]


@pytest.mark.parametrize(("name", "changes", "title", "phrases"), CASES, ids=[c[0] for c in CASES])
def test_every_write_reads_in_business_language(name: str, changes: dict[str, Any], title: str,
                                                phrases: tuple[str, ...]) -> None:
    p = proposal(**changes)
    text, blocks = proposal_card(p, LINKS, facts=facts(p.risk))
    dump = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == title
    assert text.startswith(title)
    for phrase in phrases:
        assert phrase in dump, f"{phrase!r} not on the card: {dump}"
    words = " ".join(t for t in re.findall(r'"text": "((?:[^"\\]|\\.)*)"', dump))
    shown = re.sub(r"<[^>]*>", "", words)  # mentions, dates and links are Slack's markup, not what is read
    assert not [c for c in COLUMNS if c in shown], shown
    assert not re.search(r"\b\d{5,}(?:\.\d+)?\b", shown.replace("ref `p1`", "")), f"an unformatted amount: {shown}"
    no_raw_ids(text, blocks)


STATES: list[tuple[dict[str, Any], str]] = [
    ({"status": "pending"}, "Approve"),
    ({"status": "executing", "decided_by": "U01ALICE", "decided_at": NOW}, "Executing"),
    ({"status": "executed", "decided_by": "U01ALICE", "decided_at": NOW, "result": {"record": "deal:7"}}, "Executed"),
    ({"status": "rejected", "decided_by": "U01ALICE", "decided_at": NOW, "reason": "not yet"}, "Rejected"),
    ({"status": "expired", "decided_at": NOW}, "Expired"),
    ({"status": "superseded", "decided_by": "U01ALICE", "decided_at": NOW}, "Edited"),
    ({"status": "stale", "decided_by": "U01ALICE", "decided_at": NOW,
      "result": {"current": {"amount": "23000.00"}}}, "(now 23,000 GBP)"),
    ({"status": "failed", "error": "the CRM is not reachable", "result": {"retryable": True}}, "Retry"),
]


@pytest.mark.parametrize(("changes", "expected"), STATES, ids=[s[0]["status"] for s in STATES])
def test_every_state_keeps_the_business_language(changes: dict[str, Any], expected: str) -> None:
    p = proposal(**deal({"amount": "24000"}, change("amount", "22800.00", "24000")), **changes)
    text, blocks = proposal_card(p, LINKS, facts=facts())
    dump = json.dumps(blocks, ensure_ascii=False)
    assert blocks[0]["text"]["text"] == "Change the amount of deal Acme renewal to 24,000 GBP"
    assert expected in dump and "22,800 GBP → 24,000 GBP" in dump
    assert ("Needs the deal's owner" in dump) == (changes["status"] == "pending")  # the rule, while it matters
    assert "update_deal" not in dump and "->" not in dump and "deal 7" not in dump
    if changes["status"] == "executed":
        assert "<https://crm.example.com/deals/7|Acme renewal>" in dump
    no_raw_ids(text, blocks)


def test_an_edited_card_shows_what_the_editor_changed_and_the_change_to_the_record() -> None:
    old = proposal(**deal({"close_date": "2027-01-29"}, change("close_date", "2026-11-30", "2027-01-29")))
    edited = proposal(id="p2", supersedes_id="p1", requester="U01ALICE",
                      **deal({"close_date": "2027-02-15", "amount": "52000"},
                             change("close_date", "2026-11-30", "2027-02-15"), change("amount", "48500.00", "52000")))
    _, blocks = proposal_card(edited, LINKS, facts=facts(replaced=old))
    dump = json.dumps(blocks, ensure_ascii=False)
    assert "*Close date*: Mon 30 Nov 2026 → Mon 15 Feb 2027" in dump  # against the record
    assert "*Edited* by <@U01ALICE> (first proposed by <@U02BOB>)" in dump
    assert "*Close date*: Fri 29 Jan 2027 → Mon 15 Feb 2027" in dump  # against the first proposal
    assert "*Amount*: 52,000 GBP _(added)_" in dump


def test_amounts_read_as_the_digests_print_them() -> None:
    assert money("24000", "GBP") == "24,000 GBP" and money("22800.00", "GBP") == "22,800 GBP"
    assert money("1234.5", "EUR") == "1,234.50 EUR" and money(0) == "0"


class _Approvals:
    def argument_model(self, tool: str) -> Any:
        return operations()[tool].args


@pytest.mark.parametrize(("changes", "inputs"), [
    (deal({"stage": "negotiation"}), {"name": "plain_text_input", "stage": "static_select", "amount": "number_input",
                                      "currency": "static_select", "close_date": "datepicker",
                                      "contact_id": "external_select", "owner": "users_select"}),
    (new("log_activity", {"kind": "call", "subject": "Call", "contact_id": 3,
                          "occurred_at": "2026-11-20T14:30:00+00:00"}),
     {"kind": "static_select", "subject": "plain_text_input", "body": "plain_text_input",
      "occurred_at": "datetimepicker", "company_id": "external_select", "contact_id": "external_select",
      "deal_id": "external_select"}),
    (new("create_ticket", {"subject": "Export", "company_id": 1, "priority": "high"}, kind="ticket"),
     {"priority": "static_select", "company_id": "external_select"}),
])
def test_the_edit_form_gives_each_field_its_input(changes: dict[str, Any], inputs: dict[str, str]) -> None:
    p = proposal(**changes)
    now = {"stage": "proposal", "amount": "48500.00", "owner": "bob", "name": "Acme renewal"}
    view = edit_modal(p, editable_fields(_Approvals(), p), facts(current=now))  # type: ignore[arg-type]
    elements = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert {name: elements[name]["type"] for name in inputs} == inputs
    assert "deal_id" not in elements or p.tool != "update_deal"  # which record it changes is not editable
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert not [label for label in labels if "_" in label]  # labels, not column names
    if "occurred_at" in elements:
        assert elements["occurred_at"]["initial_date_time"] == 1795185000
        assert elements["contact_id"]["initial_option"] == {"text": {"type": "plain_text", "text": "Henry Bennett"},
                                                            "value": "3"}
        assert [o["value"] for o in elements["kind"]["options"]] == ["note", "call", "meeting", "email"]
    if "stage" in elements:
        assert elements["stage"]["initial_option"]["text"]["text"] == "Negotiation"
        hints = {b["block_id"]: b.get("hint", {}).get("text", "") for b in view["blocks"] if b["type"] == "input"}
        assert hints["amount"] == "Now: 48,500 GBP. Leave empty to keep it. In GBP, e.g. 24000 or 24000.50"
        assert hints["owner"] == "Now: Bob Baker. Leave empty to keep it. The owner needs a CRM user with the same e-mail."
        assert "Now" not in hints["stage"]  # what the proposal changes is prefilled instead
        assert len(view["blocks"]) <= 100 and len(json.dumps(view)) < 30_000
