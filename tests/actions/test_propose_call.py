"""Approvals.propose_call, the one way a write becomes a proposal: look up, parse, plan, store, audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.agent.scripted import ScriptedModel
from bot.records import PlanError, ProposalStatus
from bot.store.tables import AuditEvent, Proposal
from tests.world import START, World, make_world


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


def stored(world: World) -> tuple[list[str], list[str]]:
    """(ids of every stored proposal, kinds of every audit event)."""
    with Session(world.engine) as session:
        return ([p.id for p in session.scalars(select(Proposal))],
                [e.kind for e in session.scalars(select(AuditEvent))])


@pytest.mark.parametrize(
    ("tool", "args", "error"),
    [
        ("delete_everything", {}, "unknown write tool 'delete_everything'; use one of: update_contact"),
        ("get_deal", {"deal_id": 1}, "unknown write tool 'get_deal'"),  # a read tool is not a write
        ("update_deal", {"deal_id": "many"}, "invalid arguments for update_deal: deal_id"),
        ("update_deal", {"deal_id": 1, "stage": "lead", "colour": "red"}, "invalid arguments for update_deal"),
        ("update_deal", {"deal_id": 999, "stage": "lead"}, "deal 999 does not exist"),
        ("update_deal", {"deal_id": "{deal}", "stage": "proposal"}, "already has these values"),
        ("log_activity", {"kind": "call", "subject": "Hi"}, "link the activity to a company_id"),
    ],
)
def test_a_call_that_cannot_be_proposed_raises_and_stores_nothing(world: World, tool: str, args: dict[str, Any],
                                                                  error: str) -> None:
    args = {k: world.ids["deal"] if v == "{deal}" else v for k, v in args.items()}
    with pytest.raises(PlanError, match=error):
        world.services.approvals.propose_call(tool, args, requester="U02BOB")
    assert stored(world) == ([], [])


def test_a_call_is_planned_against_the_record_stored_pending_and_audited(world: World) -> None:
    approvals = world.services.approvals
    deal = world.ids["deal"]
    proposal = approvals.propose_call("update_deal", {"deal_id": deal, "stage": "negotiation", "name": None},
                                      requester="U02BOB", channel="C1")
    # Planned: the diff against the record as it is, its version captured, the risk of the tool.
    assert (proposal.tool, proposal.args, proposal.risk) == ("update_deal", {"deal_id": deal, "stage": "negotiation"},
                                                             "medium")
    assert proposal.diff == [{"field": "stage", "before": "proposal", "after": "negotiation"}]
    assert (proposal.record_kind, proposal.record_id, proposal.record_version) == ("deal", deal, 1)
    assert proposal.summary == "Update deal 1 (Acme renewal 2027): stage proposal → negotiation"
    assert (proposal.requester, proposal.conversation_id, proposal.channel) == ("U02BOB", None, "C1")
    assert proposal.expires_at == START + timedelta(hours=24) and proposal.supersedes_id is None
    # Stored as it was returned, pending, and nothing changed in the CRM.
    assert approvals.get(proposal.id) == proposal and proposal.status is ProposalStatus.PENDING
    assert approvals.pending() == [proposal]
    assert world.crm.get("deal", deal).stage == "proposal"  # type: ignore[union-attr]
    # Audited: one transition into pending, with the payload hash and no field values.
    [event] = world.services.audit.trail(proposal.id)
    assert (event.kind, event.actor, event.from_status, event.to_status) == ("proposal.transition", "U02BOB", None,
                                                                             "pending")
    assert event.payload_hash == proposal.payload_hash and event.data == {"tool": "update_deal", "risk": "medium"}


def test_supersedes_links_the_new_version_and_defaults_are_filled_in_when_planned(world: World) -> None:
    approvals = world.services.approvals
    first = approvals.propose_call("create_task", {"deal_id": world.ids["deal"], "subject": "Call back",
                                                   "due_date": "2026-11-20"}, requester="U02BOB")
    second = approvals.propose_call("log_activity", {"kind": "call", "subject": "Called", "deal_id": world.ids["deal"]},
                                    requester="U03CAROL", supersedes=first.id)
    assert second.supersedes_id == first.id and second.requester == "U03CAROL"
    # What executes is what was approved: the time and the company are fixed in the proposal.
    assert second.args["occurred_at"] == START.isoformat() and second.args["company_id"] == world.ids["acme"]
    ids, kinds = stored(world)
    assert sorted(ids) == sorted([first.id, second.id]) and kinds == ["proposal.transition"] * 2
