"""Outcomes told: the requester hears every end state once, in the thread where they asked (by DM
when there is none), never of their own decision; clicks are answered where they happened; the
"Approve all" message follows its proposals. The real approval service, a recording Slack client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from bot.agent.scripted import ScriptedModel
from bot.slack.blocks.links import Links
from bot.slack.decisions import CardDecisions
from bot.slack.members import Members
from bot.slack.notices import Place
from bot.slack.poster import Poster
from bot.store.tables import Proposal
from bot.wiring import build_access
from tests.slack.fakes import FakeSlack
from tests.world import World, make_world

THREAD = "1.0"


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


@pytest.fixture
def slack() -> FakeSlack:
    return FakeSlack({"C0SALES": ["U01ALICE", "U02BOB", "U03CAROL"]})


@pytest.fixture
def decisions(world: World, slack: FakeSlack) -> CardDecisions:
    access = build_access(world.services.components.settings, world.crm)
    return CardDecisions(world.services.approvals, Poster(slack), Members(slack), Links(), access)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def posted(world: World, decisions: CardDecisions, tool: str, args: dict[str, Any], *, requester: str = "U02BOB",
           card: bool = True) -> str:
    """A proposal made in a #sales thread, its card posted there (or shown privately: card=False)."""
    proposal = world.services.approvals.propose_call(tool, args, requester=requester, channel="C0SALES",
                                                     conversation_id=None)
    with Session(world.engine) as session, session.begin():  # the conversation of the thread it was asked in
        session.execute(update(Proposal).where(Proposal.id == proposal.id).values(conversation_id=None))
    if card:
        world.services.approvals.card_posted(proposal.id, channel="C0SALES", message_ts="5.0", thread_ts=THREAD)
    return proposal.id


def told(slack: FakeSlack, channel: str = "C0SALES") -> list[dict[str, Any]]:
    """Messages posted (not cards) to a channel."""
    return [m for m in slack.made("chat.postMessage") if m["channel"] == channel]


def tamper(world: World, pid: str) -> None:
    with Session(world.engine) as session, session.begin():
        session.execute(update(Proposal).where(Proposal.id == pid).values(args={"deal_id": 1, "stage": "lead"}))


def outside_change(world: World, pid: str) -> None:
    world.crm.update("deal", world.ids["deal"], {"stage": "qualified"}, expected_version=1, idempotency_key="x")


async def expire(world: World, decisions: CardDecisions, pid: str) -> None:
    world.clock.advance(hours=25)
    for proposal in world.services.approvals.expire_due():
        await decisions.refresh(proposal.id)


END_STATES: list[tuple[str, Callable[..., Any] | None, Callable[[CardDecisions, str], Awaitable[Any]], list[str]]] = [
    ("executed", None, lambda d, pid: d.approve(pid, "U01ALICE"), ["<@U01ALICE> approved", "done"]),
    ("rejected", None, lambda d, pid: d.reject(pid, "U01ALICE", "wrong deal"), ["<@U01ALICE> rejected", "wrong deal"]),
    ("stale", outside_change, lambda d, pid: d.approve(pid, "U01ALICE"),
     ["not applied", "*stage* changed from Proposal to Qualified", "proposal_propose_again"]),
    ("failed", tamper, lambda d, pid: d.approve(pid, "U01ALICE"), ["failed", "does not match"]),
]


@pytest.mark.parametrize("status, before, decide, expected", END_STATES, ids=[s[0] for s in END_STATES])
def test_the_requester_is_told_each_end_state_once_in_the_thread(world: World, decisions: CardDecisions,
                                                                 slack: FakeSlack, status: str, before: Any,
                                                                 decide: Any, expected: list[str]) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    if before:
        before(world, pid)
    decision = run(decide(decisions, pid))
    assert decision.outcome == status
    run(decisions.refresh(pid))  # another replica, or the sweep, redraws the card: told once only
    [message] = told(slack)
    dump = json.dumps(message, ensure_ascii=False)
    assert message["thread_ts"] == THREAD and "<@U02BOB>" in dump
    for part in expected:
        assert part in dump, part


def test_an_expired_proposal_is_told_by_the_sweep(world: World, decisions: CardDecisions, slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    run(expire(world, decisions, pid))
    [message] = told(slack)
    assert "expired" in message["text"] and message["thread_ts"] == THREAD


def test_without_a_thread_the_requester_is_told_by_dm(world: World, decisions: CardDecisions,
                                                      slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"}, card=False)
    run(decisions.reject(pid, "U01ALICE", None))
    assert [c["users"] for c in slack.made("conversations.open")] == ["U02BOB"]
    [message] = told(slack, "DU02BOB")
    assert "rejected" in message["text"] and not told(slack)


def test_nobody_is_told_of_their_own_decision(world: World, decisions: CardDecisions, slack: FakeSlack) -> None:
    pid = posted(world, decisions, "create_task", {"subject": "Call back", "due_date": "2026-11-10",
                                                   "deal_id": world.ids["deal"]})
    assert run(decisions.approve(pid, "U02BOB")).outcome == "executed"
    assert told(slack) == [] and len(slack.made("chat.update")) == 1


def test_a_refusal_answers_in_the_thread_where_the_click_happened(world: World, decisions: CardDecisions,
                                                                   slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    decision = run(decisions.approve(pid, "U03CAROL", place=Place("C0SALES", THREAD)))
    assert decision.outcome == "refused"
    [ephemeral] = slack.made("chat.postEphemeral")
    assert ephemeral["user"] == "U03CAROL" and ephemeral["thread_ts"] == THREAD and told(slack) == []


def test_a_decision_on_the_app_home_is_answered_by_dm(world: World, decisions: CardDecisions,
                                                      slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    assert run(decisions.approve(pid, "U01ALICE", place=Place(home=True))).outcome == "executed"
    [to_alice] = told(slack, "DU01ALICE")
    assert "✅" in to_alice["blocks"][0]["text"]["text"] and "Update deal" in to_alice["blocks"][0]["text"]["text"]
    assert len(told(slack)) == 1  # and Bob hears it in his thread


def test_approve_all_lists_its_proposals_and_follows_their_fate(world: World, decisions: CardDecisions,
                                                                 slack: FakeSlack) -> None:
    approvals = world.services.approvals
    made = [approvals.propose_call("create_task", {"subject": s, "due_date": "2026-11-10", "deal_id": world.ids["deal"]},
                                   requester="U02BOB", channel="C0SALES") for s in ("Call back", "Send the offer")]
    run(decisions.post_cards("C0SALES", THREAD, made))
    group = told(slack)[-1]
    assert "Call back" in json.dumps(group) and "Send the offer" in json.dumps(group) and "Approve all 2" in json.dumps(group)
    summary = run(decisions.approve_all([p.id for p in made], "U02BOB", place=Place("C0SALES", THREAD)))
    assert [line.split(" due ")[0] for line in summary] == ['Create task "Call back"', 'Create task "Send the offer"']
    [answer] = slack.made("chat.postEphemeral")
    assert answer["thread_ts"] == THREAD and "Send the offer" in json.dumps(answer) and "`" not in answer["blocks"][0]["text"]["text"]
    redrawn = [u for u in slack.made("chat.update") if "All decided" in json.dumps(u)]
    assert redrawn and "Approve all" not in json.dumps(redrawn[-1]["blocks"])


def test_the_edit_form_does_not_offer_the_owner_the_plan_fills_in(world: World) -> None:
    from bot.slack.decisions import editable_fields

    proposal = world.services.approvals.propose_call("log_activity", {"kind": "call", "subject": "Intro",
                                                                      "deal_id": world.ids["deal"]},
                                                     requester="U02BOB", owner="U02BOB")
    names = [field.name for field in editable_fields(world.services.approvals, proposal)]
    assert "owner" not in names and "subject" in names


def test_the_revert_button_goes_once_its_time_is_over(world: World, decisions: CardDecisions,
                                                       slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    run(decisions.approve(pid, "U01ALICE"))
    assert "proposal_revert" in json.dumps(slack.made("chat.update")[-1]["blocks"])
    world.clock.advance(minutes=61)
    run(decisions.refresh(pid))
    assert "proposal_revert" not in json.dumps(slack.made("chat.update")[-1]["blocks"])
    revert = run(decisions.follow_up("revert", pid, "U02BOB", place=Place("C0SALES", THREAD)))
    assert revert is None
    [answer] = slack.made("chat.postEphemeral")
    assert "time to revert this change has passed" in answer["text"] and answer["thread_ts"] == THREAD
