"""Undo: an executed update is reverted by proposing its reverse (same approval path), within
`approvals.undo_minutes`; creates and e-mails are not reverted. Activities the bot logs are the
requester's, and a sent e-mail is logged on its contact and deal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adapters.crm.base import ActivityFilter
from bot.actions.service import Approvals
from bot.agent.scripted import ScriptedModel
from bot.records import PlanError, ProposalStatus
from tests.world import World, make_world


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


def executed_amount(world: World, amount: str = "49000") -> Any:
    approvals: Approvals = world.services.approvals
    proposal = approvals.propose_call("update_deal", {"deal_id": world.ids["deal"], "amount": amount},
                                      requester="U02BOB", channel="C1")
    decision = approvals.approve(proposal.id, user="U01ALICE")
    assert decision.outcome == "executed"
    return decision.proposal


@pytest.mark.parametrize("minutes, allowed", [(0, True), (59, True), (60, True), (61, False), (24 * 60, False)])
def test_revert_within_and_after_the_window(world: World, minutes: int, allowed: bool) -> None:
    approvals: Approvals = world.services.approvals
    done = executed_amount(world)
    world.clock.advance(minutes=minutes)
    if not allowed:
        with pytest.raises(PlanError, match="time to revert this change has passed"):
            approvals.propose_revert(done.id, user="U02BOB")
        assert approvals.related(reverts_id=done.id) == []
        return
    revert = approvals.propose_revert(done.id, user="U02BOB")
    assert revert.status == ProposalStatus.PENDING and revert.reverts_id == done.id and revert.requester == "U02BOB"
    assert revert.args == {"deal_id": world.ids["deal"], "amount": "48500.00"}
    assert revert.basis == {"amount": "49000.00", "currency": "EUR"}  # planned on what the execution wrote
    assert revert.summary.startswith("Revert: ")
    # The same approval path: four eyes, the approver decides, the deal goes back.
    assert approvals.approve(revert.id, user="U02BOB").outcome == "refused"
    assert approvals.approve(revert.id, user="U01ALICE").outcome == "executed"
    assert str(world.crm.get("deal", world.ids["deal"]).amount) == "48500.00"  # type: ignore[union-attr]


def test_a_revert_does_not_overwrite_a_later_change_to_the_same_field(world: World) -> None:
    approvals: Approvals = world.services.approvals
    done = executed_amount(world)
    world.crm.update("deal", world.ids["deal"], {"amount": "50000"}, expected_version=2, idempotency_key="later")
    with pytest.raises(PlanError, match="amount changed again since"):
        approvals.propose_revert(done.id, user="U02BOB")


def test_a_change_can_be_reverted_once_at_a_time(world: World) -> None:
    approvals: Approvals = world.services.approvals
    done = executed_amount(world)
    approvals.propose_revert(done.id, user="U02BOB")
    with pytest.raises(PlanError, match="already pending"):
        approvals.propose_revert(done.id, user="U01ALICE")


def test_who_may_revert(world: World) -> None:
    done = executed_amount(world)
    with pytest.raises(PlanError, match="only the requester or someone who may approve"):
        world.services.approvals.propose_revert(done.id, user="U03CAROL")


@pytest.mark.parametrize("tool, args, message", [
    ("create_task", {"subject": "Call back", "due_date": "2026-11-10", "deal_id": 1}, "archive it in the CRM"),
    ("send_email", {"to": "zoe.muller@acme-logistics.de", "subject": "Hi", "body": "Hello", "contact_id": 1},
     "cannot be called back"),
])
def test_creates_and_e_mails_are_not_reverted(world: World, tool: str, args: dict[str, Any], message: str) -> None:
    approvals: Approvals = world.services.approvals
    args = {**args, **({"deal_id": world.ids["deal"]} if "deal_id" in args else {}),
            **({"contact_id": world.ids["zoe"]} if "contact_id" in args else {})}
    proposal = approvals.propose_call(tool, args, requester="U02BOB", channel="C1")
    approver = "U02BOB" if proposal.risk == "low" else "U01ALICE"
    assert approvals.approve(proposal.id, user=approver).outcome == "executed"
    with pytest.raises(PlanError, match=message):
        approvals.propose_revert(proposal.id, user="U02BOB")


def test_a_sent_e_mail_is_logged_on_its_contact_and_deal_as_the_requester(world: World) -> None:
    approvals: Approvals = world.services.approvals
    proposal = approvals.propose_call("send_email", {"to": "zoe.muller@acme-logistics.de", "subject": "Renewal",
                                                     "body": "Hello Zoë,\nsee you soon.", "contact_id": world.ids["zoe"],
                                                     "deal_id": world.ids["deal"]},
                                      requester="U02BOB", channel="C1", owner="U02BOB")
    decision = approvals.approve(proposal.id, user="U01ALICE")
    assert decision.outcome == "executed" and decision.proposal.result["status"] == "queued"
    logged = world.crm.list_activities(ActivityFilter(deal_id=world.ids["deal"], kinds=("email",)))
    assert [(a.subject, a.owner, a.contact_id, a.company_id, a.body) for a in logged] == [
        ("Renewal", "U02BOB", world.ids["zoe"], world.ids["acme"], "Hello Zoë,\nsee you soon.")]
    assert decision.proposal.result["activity"] == f"activity:{logged[0].id}"
    # Recovery or a retry replays the e-mail and the activity: still one of each.
    assert approvals._execute(decision.proposal, "recovery").outcome == "executed"  # noqa: SLF001
    assert len(world.crm.list_activities(ActivityFilter(deal_id=world.ids["deal"], kinds=("email",)))) == 1


@pytest.mark.parametrize("tool, args, owner, expected", [
    ("log_activity", {"kind": "call", "subject": "Intro call"}, "U02BOB", "U02BOB"),
    # The model cannot log an activity for someone else: the requester gets the credit.
    ("log_activity", {"kind": "call", "subject": "Intro call", "owner": "U01ALICE"}, "U02BOB", "U02BOB"),
    ("create_task", {"subject": "Call back", "due_date": "2026-11-10"}, "U02BOB", "U02BOB"),
    ("create_task", {"subject": "Call back", "due_date": "2026-11-10", "owner": "U01ALICE"}, "U02BOB", "U01ALICE"),
])
def test_every_activity_the_bot_logs_has_the_requester_as_its_owner(world: World, tool: str, args: dict[str, Any],
                                                                    owner: str, expected: str) -> None:
    approvals: Approvals = world.services.approvals
    proposal = approvals.propose_call(tool, {**args, "deal_id": world.ids["deal"]}, requester="U02BOB",
                                      channel="C1", owner=owner)
    assert proposal.args["owner"] == expected
    assert {"field": "owner", "before": None, "after": expected} in proposal.diff
    decision = approvals.approve(proposal.id, user="U02BOB")
    assert decision.outcome == "executed", decision.message
    activity = world.crm.get("activity", int(decision.proposal.result["record"].split(":")[1]))
    assert activity.owner == expected  # type: ignore[union-attr]


def test_the_activity_owner_is_hidden_from_the_model() -> None:
    from bot.actions.operations import operations
    for tool in ("log_activity", "send_email"):
        assert "owner" not in operations()[tool].args.model_json_schema()["properties"]


def test_a_revert_empties_a_field_the_change_had_filled(world: World) -> None:
    approvals: Approvals = world.services.approvals
    proposal = approvals.propose_call("update_company", {"company_id": world.ids["globex"], "industry": "Retail",
                                                         "employees": 40}, requester="U02BOB", channel="C1")
    assert approvals.approve(proposal.id, user="U01ALICE").outcome == "executed"
    revert = approvals.propose_revert(proposal.id, user="U02BOB")
    assert revert.args == {"company_id": world.ids["globex"], "industry": None, "employees": None}
    assert {"field": "industry", "before": "Retail", "after": None} in revert.diff
    assert approvals.approve(revert.id, user="U01ALICE").outcome == "executed"
    globex = world.crm.get("company", world.ids["globex"])
    assert (globex.industry, globex.employees) == (None, None)  # type: ignore[union-attr]


def test_the_sweep_finds_the_cards_whose_time_to_revert_ended(world: World) -> None:
    approvals: Approvals = world.services.approvals
    done = executed_amount(world)
    approvals.card_posted(done.id, channel="C1", message_ts="5.0")
    start = world.clock.now
    world.clock.advance(minutes=30)
    assert approvals.revert_closed(start) == []  # still within the hour
    world.clock.advance(minutes=31)
    assert [p.id for p in approvals.revert_closed(start + timedelta(minutes=30))] == [done.id]
    assert approvals.revert_closed(world.clock.now) == []  # the next sweep does not redraw it again


def test_an_e_mail_the_outbox_delivered_later_is_shown_as_sent(world: World) -> None:
    from sqlalchemy import update as sql_update
    from sqlmodel import Session

    from adapters.email.outbox import EmailOutboxRow

    approvals: Approvals = world.services.approvals
    proposal = approvals.propose_call("send_email", {"to": "zoe.muller@acme-logistics.de", "subject": "Hi",
                                                     "body": "Hello", "contact_id": world.ids["zoe"]},
                                      requester="U02BOB", channel="C1")
    done = approvals.approve(proposal.id, user="U01ALICE").proposal
    assert done.result["status"] == "queued" and approvals.emails_delivered() == []
    with Session(world.engine) as session, session.begin():  # whoever delivers the outbox marks it sent
        session.execute(sql_update(EmailOutboxRow).where(EmailOutboxRow.id == done.result["email"]).values(status="sent"))
    [updated] = approvals.emails_delivered()
    assert updated.id == proposal.id and approvals.get(proposal.id).result["status"] == "sent"
    assert approvals.emails_delivered() == []  # once
