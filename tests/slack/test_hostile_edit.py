"""Attacks through the Edit form: its record search and a forged submission. Carol's role sees only
her own records (she owns none), Bob owns the Acme deal and its contact. What she cannot see is
neither offered by the search nor accepted from a forged value, and is answered exactly like a
record that does not exist; an owner picked must be someone with a CRM identity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.agent.scripted import ScriptedModel
from bot.slack.blocks.links import Links
from bot.slack.decisions import CardDecisions
from bot.slack.members import Members
from bot.slack.poster import Poster
from bot.wiring import build_access
from tests.slack.fakes import FakeSlack
from tests.slack.test_notices import run
from tests.world import World, make_world, settings_for

CAROL = "U03CAROL"


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]),
                      settings=settings_for(tmp_path, access__roles__rep__see="own"))


@pytest.fixture
def decisions(world: World) -> CardDecisions:
    slack = FakeSlack({"C0SALES": ["U01ALICE", "U02BOB", CAROL, "UBOT"]})  # the bot is a member, not a reader
    access = build_access(world.services.components.settings, world.crm)
    return CardDecisions(world.services.approvals, Poster(slack), Members(slack), Links(), access, crm=world.crm,
                         bot_user_id="UBOT")


@pytest.mark.parametrize(("kind", "typed"), [("deal", "Acme"), ("contact", "Zo"), ("contact", "Müller")])
def test_the_record_search_offers_only_records_the_typist_may_see(decisions: CardDecisions, kind: str,
                                                                  typed: str) -> None:
    assert run(decisions.record_options("U02BOB", kind, typed))  # the owner finds it: the search works
    assert run(decisions.record_options(CAROL, kind, typed)) == []
    assert run(decisions.record_options("U09EVE", kind, typed)) == []  # no CRM identity: sees no owned record


@pytest.mark.parametrize(("field", "hidden_key"), [("deal_id", "deal"), ("contact_id", "zoe")])
def test_a_forged_record_in_an_edit_is_answered_like_a_missing_one(world: World, decisions: CardDecisions,
                                                                   field: str, hidden_key: str) -> None:
    proposal = world.services.approvals.propose_call(
        "create_task", {"subject": "Call back", "due_date": "2026-11-10", "company_id": world.ids["globex"]},
        requester="U01ALICE", channel="C0SALES")
    hidden = run(decisions.edit(proposal, CAROL, {field: world.ids[hidden_key]}))
    missing = run(decisions.edit(proposal, CAROL, {field: 987654}))
    assert hidden.outcome == missing.outcome == "invalid"
    assert hidden.message.replace(str(world.ids[hidden_key]), "N") == missing.message.replace("987654", "N")
    assert world.services.approvals.get(proposal.id).status == "pending"  # nothing replaced it


@pytest.mark.parametrize("picked", ["U09EVE", "UNOBODY00"])
def test_an_owner_without_a_crm_identity_is_refused(decisions: CardDecisions, picked: str) -> None:
    owner, why = run(decisions.owner_for(picked))
    assert owner is None and "cannot own records" in why
    assert run(decisions.owner_for("U02BOB"))[0] == "U02BOB"


def test_pending_lists_name_no_proposal_on_a_record_the_viewer_may_not_see(world: World,
                                                                           decisions: CardDecisions) -> None:
    """`/crm pending` and the App Home list what `awaiting` gives: Bob's change to his own deal is
    not among Carol's, though she is in the channel where it was proposed; Alice (a manager) has it."""
    world.services.approvals.propose_call("update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"},
                                          requester="U02BOB", channel="C0SALES")
    assert [p.record_id for p in run(decisions.awaiting("U01ALICE"))] == [world.ids["deal"]]
    assert run(decisions.awaiting(CAROL)) == []


def _cards_in(decisions: CardDecisions, channel: str) -> str:
    slack = decisions._poster.client  # the FakeSlack the fixture built
    return json.dumps([m for m in slack.made("chat.postMessage") if m["channel"] == channel], ensure_ascii=False)


@pytest.mark.parametrize(("target", "in_channel"), [("deal", False), ("globex", True)])
def test_an_edit_linking_a_record_not_everyone_in_the_channel_may_see_is_shown_to_the_editor_alone(
        world: World, decisions: CardDecisions, target: str, in_channel: bool) -> None:
    """The attack: Alice (who sees everything) edits a task proposed in #sales to link it to Bob's
    deal, which Carol, a member of #sales, may not see. The new card names the deal, so it is not
    posted in #sales: Alice alone is shown it. Linking a record everyone there sees stays in the thread."""
    approvals = world.services.approvals
    proposal = approvals.propose_call("create_task", {"subject": "Call back", "due_date": "2026-11-10",
                                                      "company_id": world.ids["globex"]},
                                      requester="U01ALICE", channel="C0SALES")
    approvals.card_posted(proposal.id, channel="C0SALES", message_ts="5.0", thread_ts="1.0")
    proposal = approvals.get(proposal.id)
    field = "deal_id" if target == "deal" else "company_id"
    changes = {field: world.ids[target]} if target == "deal" else {"subject": "Call back soon"}
    decision = run(decisions.edit(proposal, "U01ALICE", changes))
    assert decision.outcome == "edited"
    run(decisions.after_edit(proposal, decision, "U01ALICE"))
    slack = decisions._poster.client
    new_cards = [m for m in slack.made("chat.postMessage") if "Call back" in json.dumps(m)]
    shown_privately = [m for m in slack.made("chat.postEphemeral") if m["user"] == "U01ALICE"]
    assert "Acme renewal" not in _cards_in(decisions, "C0SALES")
    if in_channel:
        assert new_cards and not shown_privately
    else:
        assert not new_cards and shown_privately and "Acme renewal" in json.dumps(shown_privately)


def test_revert_of_someone_elses_change_to_a_record_one_may_not_see_is_refused(world: World,
                                                                               decisions: CardDecisions) -> None:
    """Carol is in #sales but may not see Bob's deal: she cannot revert Alice's approved change to it
    (nor learn its values); Bob, its requester, can."""
    from bot.slack.notices import Place

    approvals = world.services.approvals
    proposal = approvals.propose_call("update_deal", {"deal_id": world.ids["deal"], "stage": "negotiation"},
                                      requester="U02BOB", channel="C0SALES")
    approvals.card_posted(proposal.id, channel="C0SALES", message_ts="5.0", thread_ts="1.0")
    assert run(decisions.approve(proposal.id, "U01ALICE")).outcome == "executed"
    assert run(decisions.follow_up("revert", proposal.id, CAROL, place=Place("C0SALES", "1.0"))) is None
    slack = decisions._poster.client
    [refusal] = [m for m in slack.made("chat.postEphemeral") if m["user"] == CAROL]
    assert "only the requester or someone who may approve" in refusal["text"] and "Acme" not in json.dumps(refusal)
    assert approvals.pending() == []
    posted_before = len(slack.made("chat.postMessage"))
    assert run(decisions.follow_up("revert", proposal.id, "U02BOB", place=Place("C0SALES", "1.0"))) is not None
    # The revert's card names Bob's deal, which Carol (in #sales) may not see: Bob alone is shown it.
    assert "Revert" not in json.dumps(slack.made("chat.postMessage")[posted_before:])
    assert any("Acme" in json.dumps(m, ensure_ascii=False) for m in slack.made("chat.postEphemeral")
               if m["user"] == "U02BOB")
