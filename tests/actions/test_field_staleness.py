"""Field-level staleness: a proposal is stale only when a field it changes (or read to decide) moved.

Two independent changes to one deal must not cancel each other; a change to the same field must
be refused with the field named, from what to what, and can be proposed again from the current values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from bot.actions.service import Approvals, payload_hash
from bot.agent.scripted import ScriptedModel
from bot.records import PlanError, ProposalStatus
from bot.store.tables import Proposal
from tests.world import World, make_world


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


def deal_change(world: World, requester: str = "U02BOB", **changes: Any) -> Any:
    return world.services.approvals.propose_call("update_deal", {"deal_id": world.ids["deal"], **changes},
                                                 requester=requester, channel="C1")


def test_amount_approved_then_the_close_date_proposal_on_the_same_deal_still_applies(world: World) -> None:
    approvals: Approvals = world.services.approvals
    amount = deal_change(world, amount="49000")
    close = deal_change(world, close_date="2027-01-26")
    assert approvals.approve(amount.id, user="U01ALICE").outcome == "executed"
    decision = approvals.approve(close.id, user="U01ALICE")
    assert decision.outcome == "executed", decision.message
    deal = world.crm.get("deal", world.ids["deal"])
    assert str(deal.amount) == "49000.00" and deal.close_date.isoformat() == "2027-01-26"  # type: ignore[union-attr]
    assert deal.version == 3 and decision.proposal.result["changed"] == ["close_date"]  # type: ignore[union-attr]


def test_the_close_date_changed_meanwhile_makes_it_stale_with_the_field_named(world: World) -> None:
    approvals: Approvals = world.services.approvals
    close = deal_change(world, close_date="2027-01-26")
    world.crm.update("deal", world.ids["deal"], {"close_date": "2027-02-10"}, expected_version=1,
                     idempotency_key="someone-else")
    decision = approvals.approve(close.id, user="U01ALICE")
    assert decision.outcome == "stale"
    assert decision.proposal.result["moved"] == [{"field": "close_date", "planned": "2026-11-30", "now": "2027-02-10"}]
    assert "close_date" in decision.message
    assert world.crm.get("deal", world.ids["deal"]).close_date.isoformat() == "2027-02-10"  # type: ignore[union-attr]
    # The audit names the field, never its values.
    audited = [e.data for e in world.services.audit.trail(close.id) if e.to_status == "stale"][0]
    assert audited["moved_fields"] == ["close_date"] and "2027-02-10" not in str(audited)


def test_the_currency_an_amount_change_read_makes_it_stale_too(world: World) -> None:
    approvals: Approvals = world.services.approvals
    amount = deal_change(world, amount="49000")
    assert amount.basis == {"amount": "48500.00", "currency": "EUR"}
    world.crm.update("deal", world.ids["deal"], {"currency": "GBP"}, expected_version=1, idempotency_key="fx")
    decision = approvals.approve(amount.id, user="U01ALICE")
    assert decision.outcome == "stale" and [m["field"] for m in decision.proposal.result["moved"]] == ["currency"]


def test_propose_again_makes_a_new_pending_proposal_from_the_current_values(world: World) -> None:
    approvals: Approvals = world.services.approvals
    close = deal_change(world, close_date="2027-01-26")
    world.crm.update("deal", world.ids["deal"], {"close_date": "2027-02-10"}, expected_version=1, idempotency_key="x")
    assert approvals.approve(close.id, user="U01ALICE").outcome == "stale"
    with pytest.raises(PlanError, match="only the requester or someone who may approve"):
        approvals.propose_again(close.id, user="U03CAROL")  # neither requester nor approver of a medium change
    again = approvals.propose_again(close.id, user="U02BOB")
    assert again.status == ProposalStatus.PENDING and again.id != close.id and again.supersedes_id == close.id
    assert again.diff == [{"field": "close_date", "before": "2027-02-10", "after": "2027-01-26"}]
    assert again.basis == {"close_date": "2027-02-10"} and again.requester == "U02BOB"
    assert approvals.approve(again.id, user="U01ALICE").outcome == "executed"
    assert world.crm.get("deal", world.ids["deal"]).close_date.isoformat() == "2027-01-26"  # type: ignore[union-attr]
    with pytest.raises(PlanError, match="only a proposal that was not applied"):
        approvals.propose_again(again.id, user="U02BOB")


def test_a_tampered_basis_is_caught_by_the_payload_hash(world: World) -> None:
    """The basis is part of what was approved: widening it after the fact would change what runs."""
    close = deal_change(world, close_date="2027-01-26")
    with Session(world.engine) as session, session.begin():
        session.execute(update(Proposal).where(Proposal.id == close.id).values(basis={"close_date": "1999-01-01"}))
    decision = world.services.approvals.approve(close.id, user="U01ALICE")
    assert decision.outcome == "failed" and "does not match" in decision.message
    assert world.crm.get("deal", world.ids["deal"]).close_date.isoformat() == "2026-11-30"  # type: ignore[union-attr]


def test_a_proposal_stored_without_a_basis_keeps_the_version_check(world: World) -> None:
    """Proposals stored before field-level checks: any change to the record still makes them stale."""
    close = deal_change(world, close_date="2027-01-26")
    legacy = payload_hash(close.tool, close.args, close.record_kind, close.record_id, close.record_version)
    with Session(world.engine) as session, session.begin():
        session.execute(update(Proposal).where(Proposal.id == close.id).values(basis=None, payload_hash=legacy))
    world.crm.update("deal", world.ids["deal"], {"amount": "1"}, expected_version=1, idempotency_key="other")
    decision = world.services.approvals.approve(close.id, user="U01ALICE")
    assert decision.outcome == "stale" and decision.proposal.result["moved"] == []
