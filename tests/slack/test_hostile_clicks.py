"""Attacks on the buttons around a proposal, by people who should get nothing from them: an
outsider clicking Approve, Approve all or Revert with an id copied from elsewhere learns nothing
of the proposal (its summary names a record); Revert and Propose again clicked twice make one
proposal. The real approval service, a recording Slack client."""

from __future__ import annotations

import json

from bot.slack.decisions import CardDecisions
from bot.slack.notices import Place
from tests.slack.fakes import FakeSlack
from tests.slack.test_notices import THREAD, decisions, outside_change, posted, run, slack, world  # noqa: F401
from tests.world import World

EVE = "U09EVE"  # a member of the workspace, in none of the channels where the proposal is
ELSEWHERE = Place("C0OTHER", "9.0")


def _shown_to(slack: FakeSlack, user: str) -> str:
    return json.dumps([m for m in slack.made("chat.postEphemeral") if m["user"] == user]
                      + [m for m in slack.made("chat.postMessage") if m["channel"] == f"D{user}"], ensure_ascii=False)


def test_an_outsiders_approve_with_a_copied_id_does_not_name_the_proposal(world: World, decisions: CardDecisions,
                                                                         slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    decision = run(decisions.approve(pid, EVE, place=ELSEWHERE))
    assert decision.outcome == "refused" and decision.proposal is None
    shown = _shown_to(slack, EVE)
    assert "only people in the conversation" in shown
    assert "Acme" not in shown and "negotiation" not in shown, shown
    assert world.services.approvals.get(pid).status == "pending"


def test_an_outsiders_approve_all_with_copied_ids_does_not_name_the_proposals(world: World,
                                                                             decisions: CardDecisions,
                                                                             slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    summary = run(decisions.approve_all([pid], EVE, place=ELSEWHERE))
    shown = _shown_to(slack, EVE) + json.dumps(summary)
    assert "only people in the conversation" in shown
    assert "Acme" not in shown and "negotiation" not in shown, shown
    assert world.services.approvals.get(pid).status == "pending"


def test_an_outsiders_revert_is_refused_without_naming_the_change(world: World, decisions: CardDecisions,
                                                                 slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    assert run(decisions.approve(pid, "U01ALICE")).outcome == "executed"
    assert run(decisions.follow_up("revert", pid, EVE, place=ELSEWHERE)) is None
    shown = _shown_to(slack, EVE)
    assert "only people in the conversation" in shown and "Acme" not in shown
    assert world.services.approvals.pending() == []


def test_revert_clicked_twice_makes_one_revert(world: World, decisions: CardDecisions, slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    assert run(decisions.approve(pid, "U01ALICE")).outcome == "executed"
    first = run(decisions.follow_up("revert", pid, "U02BOB", place=Place("C0SALES", THREAD)))
    second = run(decisions.follow_up("revert", pid, "U02BOB", place=Place("C0SALES", THREAD)))
    assert first is not None and second is None
    assert [p.id for p in world.services.approvals.pending()] == [first.id]
    assert "already pending" in _shown_to(slack, "U02BOB")


def test_propose_again_clicked_twice_makes_one_new_proposal(world: World, decisions: CardDecisions,
                                                            slack: FakeSlack) -> None:
    pid = posted(world, decisions, "update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"})
    outside_change(world, pid)
    assert run(decisions.approve(pid, "U01ALICE")).outcome == "stale"
    first = run(decisions.follow_up("again", pid, "U02BOB", place=Place("C0SALES", THREAD)))
    second = run(decisions.follow_up("again", pid, "U01ALICE", place=Place("C0SALES", THREAD)))
    assert first is not None and second is None
    assert [p.id for p in world.services.approvals.pending()] == [first.id]
    assert "already proposed again" in _shown_to(slack, "U01ALICE")
