"""The listeners and the global middleware, called as Bolt calls them, with fakes: no network, no Bolt app.

Each listener is a module-level function of Bolt's arguments (ack, body, respond, client, context…);
its dependencies come from `context["deps"]`, here a SlackDeps of fakes that record what they were asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

import pytest

from bot.actions.service import Decision
from bot.slack.blocks import messages
from bot.slack.blocks.edit_form import CURRENCIES, EDIT_VIEW, RECORD, VALUE
from bot.slack.blocks.modals import REJECT_VIEW
from bot.slack.listeners import actions, commands, events
from bot.slack.middleware import only_people
from tests.slack.fakes import BOT_USER_ID, PENDING, Bench, Calls

def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def click(value: str, *, user: str = "U01ALICE", home: bool = False) -> dict[str, Any]:
    container = {"type": "view"} if home else {"type": "message", "channel_id": "C0SALES", "message_ts": "2.0"}
    return {"type": "block_actions", "user": {"id": user}, "actions": [{"value": value}], "container": container,
            "trigger_id": "t1"}


# -- buttons and modals --------------------------------------------------------------------------


@pytest.mark.parametrize("home", [False, True])
def test_an_approve_click_is_acknowledged_before_the_approval_runs(bench: Bench, home: bool) -> None:
    ack, respond = Calls(), Calls()
    run(actions.on_approve(ack=ack, body=click("p1", home=home), respond=respond, context=bench.context))
    assert ack.calls == [{}] and [name for name, _ in bench.runner.jobs] == ["approve p1"]
    assert bench.decisions.calls == []  # nothing decided inside Slack's 3 seconds
    run(bench.runner.run_all())
    # From a card, the click's response_url can answer the clicker; from the App Home it cannot.
    assert bench.decisions.calls == [("approve", "p1", "U01ALICE", None if home else respond)]
    assert len(bench.slack.made("views.publish")) == (1 if home else 0)  # the App Home is redrawn


def test_approve_all_decides_on_at_most_twenty(bench: Bench) -> None:
    ack = Calls()
    ids = ",".join(f"p{i}" for i in range(30))
    run(actions.on_approve_all(ack=ack, body=click(ids), respond=Calls(), context=bench.context))
    run(bench.runner.run_all())
    assert ack.calls == [{}]
    assert bench.decisions.calls == [("approve_all", [f"p{i}" for i in range(20)], "U01ALICE")]


def test_reject_opens_the_modal_for_a_pending_proposal(bench: Bench) -> None:
    ack = Calls()
    run(actions.on_reject(ack=ack, body=click("p1"), client=bench.slack, respond=Calls(), context=bench.context))
    assert ack.calls == [{}]
    [opened] = bench.slack.made("views.open")
    assert opened["trigger_id"] == "t1" and opened["view"]["callback_id"] == REJECT_VIEW
    assert opened["view"]["private_metadata"] == "p1"


@pytest.mark.parametrize("proposals", [{}, {"p1": replace(PENDING, status="executed")}])
def test_reject_on_a_decided_or_missing_proposal_redraws_the_card(bench: Bench, proposals: dict[str, Any]) -> None:
    bench.approvals.proposals = proposals
    run(actions.on_reject(ack=Calls(), body=click("p1"), client=bench.slack, respond=Calls(), context=bench.context))
    assert bench.slack.made("views.open") == [] and bench.decisions.calls == [("refresh", "p1")]


LONG_EMAIL = replace(PENDING, id="p9", tool="send_email", risk="high", record_kind=None, record_id=None,
                    args={"to": "zoe@acme.example", "subject": "Renewal",
                          "body": "\n".join(f"paragraph {i}: " + "words " * 20 for i in range(60))})


@pytest.mark.parametrize("status", ["pending", "executed"])
def test_view_email_opens_the_whole_email_in_a_modal(bench: Bench, status: str) -> None:
    bench.approvals.proposals = {"p9": replace(LONG_EMAIL, status=status)}
    ack = Calls()
    run(actions.on_view_email(ack=ack, body=click("p9"), client=bench.slack, respond=Calls(), context=bench.context))
    assert ack.calls == [{}] and bench.decisions.calls == []
    [opened] = bench.slack.made("views.open")
    assert opened["trigger_id"] == "t1" and opened["view"]["private_metadata"] == "p9"
    shown = " ".join(b["text"]["text"] for b in opened["view"]["blocks"] if b["type"] == "section")
    assert "paragraph 0:" in shown and "paragraph 59:" in shown


@pytest.mark.parametrize("proposals", [{}, {"p9": replace(LONG_EMAIL, tool="update_deal")}])
def test_view_email_on_a_missing_proposal_or_no_email_redraws_the_card(bench: Bench,
                                                                        proposals: dict[str, Any]) -> None:
    bench.approvals.proposals = proposals
    run(actions.on_view_email(ack=Calls(), body=click("p9"), client=bench.slack, respond=Calls(),
                              context=bench.context))
    assert bench.slack.made("views.open") == [] and bench.decisions.calls == [("refresh", "p9")]


def test_a_rejection_submitted_runs_in_the_background_with_its_reason(bench: Bench) -> None:
    ack = Calls()
    view = {"callback_id": REJECT_VIEW, "private_metadata": "p1",
            "state": {"values": {"reason": {VALUE: {"value": "  wrong deal "}}}}}
    run(actions.on_reject_submitted(ack=ack, body={"user": {"id": "U01ALICE"}}, view=view, context=bench.context))
    assert ack.calls == [{}] and bench.decisions.calls == []
    run(bench.runner.run_all())
    assert bench.decisions.calls == [("reject", "p1", "U01ALICE", "wrong deal")]


def edit_view(**values: str) -> dict[str, Any]:
    return {"callback_id": EDIT_VIEW, "private_metadata": "p1",
            "state": {"values": {name: {VALUE: {"value": value}} for name, value in values.items()}}}


STAGES = "Choose one of: Lead, Qualified, Proposal, Negotiation, Closed won, Closed lost."


@pytest.mark.parametrize(("proposals", "decision", "values", "error"), [
    ({}, None, {"stage": "closed_won"}, {"stage": "This proposal no longer exists."}),
    (None, None, {"stage": "negotiation"}, {"stage": "Change at least one field, or cancel."}),
    # the form's own checks, each saying the expected form (never a raw pydantic message)
    (None, None, {"stage": "nonsense"}, {"stage": STAGES}),
    (None, None, {"amount": "-5"},
     {"amount": "Enter an amount of 0 or more, with at most two decimals, such as 24000 or 24000.50."}),
    (None, None, {"amount": "12.345"},
     {"amount": "Enter an amount of 0 or more, with at most two decimals, such as 24000 or 24000.50."}),
    (None, None, {"close_date": "2026-13-45"},
     {"close_date": "Pick a date from the calendar (or type it as 2026-12-31)."}),
    (None, None, {"contact_id": "Henry"},
     {"contact_id": "Choose a contact from the list (type part of its name to search)."}),
    (None, None, {"owner": "U09ZED"},
     {"owner": "Zed Zimmer has no CRM user (none with their e-mail), so cannot own records."}),
    (None, None, {"currency": "euro"}, {"currency": "Choose one of: " + ", ".join(CURRENCIES) + "."}),
    # what the planner refuses, on the field it names, in the form's words
    (None, Decision("invalid", "invalid arguments for update_deal: close_date: expected an ISO 8601 date"),
     {"close_date": "2027-01-05"}, {"close_date": "Expected an ISO 8601 date."}),
    (None, Decision("invalid", "contact 99 does not exist"), {"contact_id": "99"},
     {"contact_id": "Choose another contact: that one is not there, or not yours to see."}),
    (None, Decision("refused", "You asked for this change, so someone else must approve it."), {"stage": "closed_won"},
     {"stage": "You asked for this change, so someone else must approve it."}),
])
def test_an_edit_that_cannot_be_made_is_answered_in_the_modal(
        bench: Bench, proposals: dict[str, Any] | None, decision: Decision | None, values: dict[str, str],
        error: dict[str, str]) -> None:
    if proposals is not None:
        bench.approvals.proposals = proposals
    if decision is not None:
        bench.approvals.edit_decision = decision
    ack = Calls()
    run(actions.on_edit_submitted(ack=ack, body={"user": {"id": "U01ALICE"}}, view=edit_view(**values),
                                  context=bench.context))
    assert ack.calls == [{"response_action": "errors", "errors": error}]
    assert bench.runner.jobs == []


@pytest.mark.parametrize(("state", "changes"), [
    ({"close_date": {VALUE: {"type": "datepicker", "selected_date": "2027-02-15"}}}, {"close_date": "2027-02-15"}),
    ({"stage": {VALUE: {"type": "static_select", "selected_option": {"value": "closed_won"}}}},
     {"stage": "closed_won"}),
    ({"owner": {VALUE: {"type": "users_select", "selected_user": "U01ALICE"}}}, {"owner": "alice"}),
    ({"contact_id": {RECORD: {"type": "external_select", "selected_option": {"value": "3"}}}}, {"contact_id": 3}),
    ({"amount": {VALUE: {"type": "number_input", "value": "24000"}}}, {"amount": "24000"}),
])
def test_each_input_is_read_in_its_own_shape(bench: Bench, state: dict[str, Any], changes: dict[str, Any]) -> None:
    ack = Calls()
    view = {"callback_id": EDIT_VIEW, "private_metadata": "p1", "state": {"values": state}}
    run(actions.on_edit_submitted(ack=ack, body={"user": {"id": "U01ALICE"}}, view=view, context=bench.context))
    assert ack.calls == [{}]
    assert bench.approvals.edits == [{"id": "p1", "user": "U01ALICE", "changes": changes}]


def test_the_record_search_offers_what_the_decisions_found(bench: Bench) -> None:
    ack = Calls()
    body = {"type": "block_suggestion", "user": {"id": "U01ALICE"}, "block_id": "contact_id", "action_id": RECORD,
            "value": "hen"}
    run(actions.on_record_options(ack=ack, body=body, context=bench.context))
    assert ack.calls == [{"options": [{"text": {"type": "plain_text", "text": "Henry Bennett · Acme"}, "value": "3"}]}]
    assert bench.decisions.calls == [("record_options", "U01ALICE", "contact", "hen")]
    ack = Calls()
    run(actions.on_record_options(ack=ack, body={**body, "block_id": "stage"}, context=bench.context))
    assert ack.calls == [{"options": []}]  # not a record field: nothing offered


def test_an_edit_made_closes_the_modal_and_posts_the_new_card(bench: Bench) -> None:
    ack = Calls()
    run(actions.on_edit_submitted(ack=ack, body={"user": {"id": "U01ALICE"}}, view=edit_view(stage="closed_won"),
                                  context=bench.context))
    assert ack.calls == [{}]
    assert bench.approvals.edits == [{"id": "p1", "user": "U01ALICE", "changes": {"stage": "closed_won"}}]
    run(bench.runner.run_all())
    assert bench.decisions.calls == [("after_edit", "p1", "edited", "U01ALICE")]


# -- events ---------------------------------------------------------------------------------------


def message(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C0SALES", "user": "U02BOB", "text": text, "ts": "5.0", **extra}


def test_a_mention_is_accepted_as_a_question_in_its_thread(bench: Bench) -> None:
    event = message(f"<@{BOT_USER_ID}> status of the Acme deal?", type="app_mention")
    run(events.on_mention(event=event, body={"event_id": "Ev1"}, context=bench.context))
    [request] = bench.conversations.accepted
    assert (request.key, request.kind, request.user, request.text) == (
        "C0SALES:5.0", "mention", "U02BOB", "status of the Acme deal?")
    assert (request.thread_ts, request.event_id, request.conversation_id) == ("5.0", "Ev1", "slack:C0SALES:5.0")


def test_a_bare_mention_is_a_greeting(bench: Bench) -> None:
    run(events.on_mention(event=message(f"<@{BOT_USER_ID}>"), body={}, context=bench.context))
    assert [r.text for r in bench.conversations.accepted] == ["hello"]


@pytest.mark.parametrize(("event", "known", "kind"), [
    (message("hi", channel_type="im", channel="D1"), set(), "dm"),
    (message("and the next step?", thread_ts="1.0"), {"slack:C0SALES:1.0"}, "thread"),
    (message("and the next step?", thread_ts="1.0"), set(), None),  # a thread the bot is not part of
    (message("just chatting"), set(), None),
    (message(f"<@{BOT_USER_ID}> hi", thread_ts="1.0"), {"slack:C0SALES:1.0"}, None),  # on_mention's
])
def test_which_messages_are_for_the_bot(bench: Bench, event: dict[str, Any], known: set[str], kind: str | None) -> None:
    bench.conversations.known = known
    run(events.on_message(event=event, body={}, context=bench.context))
    assert [r.kind for r in bench.conversations.accepted] == ([kind] if kind else [])


@pytest.mark.parametrize(("event", "passes"), [
    (message("hi"), True),
    (message("hi", type="app_mention"), True),
    (message("shared", subtype="file_share"), True),
    (message("hi", bot_id="B2"), False),  # another bot
    (message("hi", user=BOT_USER_ID), False),  # the bot itself
    (message("hi", subtype="message_changed"), False),
    (message("", subtype="message_deleted"), False),
    ({"type": "message", "channel": "C0SALES", "ts": "5.0", "text": "no user"}, False),
    ({"type": "app_home_opened", "user": "U02BOB", "tab": "home"}, True),  # not a message: not filtered
])
def test_only_what_people_write_reaches_the_listeners(bench: Bench, event: dict[str, Any], passes: bool) -> None:
    ack, nexts = Calls(), Calls()

    async def next_() -> None:
        await nexts()

    run(only_people(body={"type": "event_callback", "event": event}, context=bench.context, ack=ack, next=next_))
    assert (len(nexts.calls), len(ack.calls)) == ((1, 0) if passes else (0, 1))


def test_opening_the_app_home_publishes_it(bench: Bench) -> None:
    run(events.on_home_opened(event={"type": "app_home_opened", "user": "U01ALICE", "tab": "home"},
                              context=bench.context))
    assert [name for name, _ in bench.runner.jobs] == ["home U01ALICE"]
    run(bench.runner.run_all())
    [published] = bench.slack.made("views.publish")
    assert published["user_id"] == "U01ALICE" and published["view"]["type"] == "home"
    assert "Update deal 7" in str(published["view"])  # Bob's proposal awaits Alice


def test_the_messages_tab_publishes_nothing(bench: Bench) -> None:
    run(events.on_home_opened(event={"type": "app_home_opened", "user": "U01ALICE", "tab": "messages"},
                              context=bench.context))
    assert bench.runner.jobs == []


# -- /crm -------------------------------------------------------------------------------------------


def command(text: str) -> dict[str, Any]:
    return {"command": "/crm", "text": text, "user_id": "U02BOB", "channel_id": "C0SALES", "trigger_id": "t9"}


@pytest.mark.parametrize(("text", "answer"), [("", "*Ask me about"), ("help", "*Ask me about"),
                                              ("HELP", "*Ask me about")])
def test_help_is_the_acknowledgement_itself(bench: Bench, text: str, answer: str) -> None:
    ack = Calls()
    run(commands.on_crm(ack=ack, command=command(text), respond=Calls(), context=bench.context))
    [acked] = ack.calls
    assert acked["text"].startswith(answer) and acked["response_type"] == "ephemeral"
    assert bench.runner.jobs == []


@pytest.mark.parametrize("sub", ["find", "pending", "usage", "digest", "failed", "help"])
def test_the_help_names_every_subcommand(sub: str) -> None:
    assert f"`/crm {sub}" in messages.HELP


@pytest.mark.parametrize(("text", "job"), [("find acme", "crm find"), ("pending", "crm pending"),
                                           ("digest list", "crm digest"), ("who owns Acme?", "crm question"),
                                           # one word, or a subcommand's word starting a question: the agent's
                                           ("Acme", "crm question"), ("pipeline", "crm question"),
                                           ("frobnicate", "crm question"), ("help me with Acme", "crm question"),
                                           ("pending deals at Acme?", "crm question"), ("find", "crm find"),
                                           ("usage", "crm usage"), ("failed", "crm failed"),
                                           ("failed retry 12", "crm failed"),
                                           ("failed deals last quarter?", "crm question")])
def test_other_commands_are_acknowledged_then_run_in_the_background(bench: Bench, text: str, job: str) -> None:
    ack = Calls()
    run(commands.on_crm(ack=ack, command=command(text), respond=Calls(), context=bench.context))
    assert ack.calls == [{}] and [name for name, _ in bench.runner.jobs] == [job]


@pytest.mark.parametrize("listener, proposal", [
    (actions.on_view_email, LONG_EMAIL), (actions.on_edit, PENDING), (actions.on_reject, PENDING)])
def test_a_modal_shows_a_proposal_only_to_people_of_its_conversation(bench: Bench, listener: Any,
                                                                      proposal: Any) -> None:
    bench.approvals.proposals = {proposal.id: proposal}
    bench.decisions.outsiders = frozenset({"U01ALICE"})  # a click with a copied id, from outside
    respond = Calls()
    run(listener(ack=Calls(), body=click(proposal.id), client=bench.slack, respond=respond, context=bench.context))
    assert bench.slack.made("views.open") == []
    assert "Only people in the conversation" in respond.calls[0]["text"]
