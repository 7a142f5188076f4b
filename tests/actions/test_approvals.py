"""The approval service: policy, exactly-once execution, stale records, expiry, edits, recovery."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from adapters.email.outbox import EmailOutboxRow
from bot.actions.service import Approvals
from bot.agent.scripted import ScriptedModel
from bot.records import PlanError, ProposalStatus
from bot.store.dead_letters import SqlDeadLetters
from bot.store.tables import Proposal
from tests.world import World, make_world


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


def propose(world: World, tool: str, args: dict[str, Any], *, requester: str = "U02BOB",
            channel: str | None = "C1") -> Any:
    return world.services.approvals.propose_call(tool, args, requester=requester, conversation_id=None,
                                                 channel=channel)


def stage_move(world: World, stage: str = "negotiation", **kw: Any) -> Any:
    return propose(world, "update_deal", {"deal_id": world.ids["deal"], "stage": stage}, **kw)


def test_an_authorised_approval_executes_once_and_repeats_report_who_did(world: World) -> None:
    approvals: Approvals = world.services.approvals
    proposal = stage_move(world)
    first = approvals.approve(proposal.id, user="U01ALICE")  # a manager: medium risk
    assert first.outcome == "executed" and first.proposal.result["record"] == f"deal:{world.ids['deal']}"
    deal = world.crm.get("deal", world.ids["deal"])
    assert (deal.stage, deal.version) == ("negotiation", 2)  # type: ignore[union-attr]
    again = approvals.approve(proposal.id, user="U03CAROL")
    assert again.outcome == "already_decided" and "already executed by <@U01ALICE>" in again.message
    assert world.crm.get("deal", world.ids["deal"]).version == 2  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("tool", "args", "requester", "user", "members", "allowed"),
    [
        ("log_activity", {"kind": "call", "subject": "Intro", "deal_id": 1}, "U02BOB", "U02BOB", None, True),
        ("log_activity", {"kind": "call", "subject": "Intro", "deal_id": 1}, "U02BOB", "U77OUT", {"U77OUT"}, True),
        ("log_activity", {"kind": "call", "subject": "Intro", "deal_id": 1}, "U02BOB", "U77OUT", set(), False),
        ("update_deal", {"deal_id": 1, "stage": "lead"}, "U02BOB", "U77OUT", {"U77OUT"}, False),
        # four eyes: nobody approves their own medium-risk change, not even a manager
        ("update_deal", {"deal_id": 1, "stage": "lead"}, "U77OUT", "U77OUT", None, False),
        ("update_deal", {"deal_id": 1, "stage": "lead"}, "U01ALICE", "U01ALICE", None, False),
        ("update_deal", {"deal_id": 1, "stage": "lead"}, "U77OUT", "U03CAROL", {"U03CAROL"}, False),
        ("update_deal", {"deal_id": 1, "stage": "lead"}, "U77OUT", "U01ALICE", None, True),
        ("send_email", {"to": "a@example.com", "subject": "s", "body": "b"}, "U01ALICE", "U01ALICE", None, False),
        ("send_email", {"to": "a@example.com", "subject": "s", "body": "b"}, "U02BOB", "U02BOB", None, False),
        ("send_email", {"to": "a@example.com", "subject": "s", "body": "b"}, "U02BOB", "U03CAROL", None, False),
        ("send_email", {"to": "a@example.com", "subject": "s", "body": "b"}, "U02BOB", "U01ALICE", None, True),
    ],
)
def test_the_policy_decides_who_may_approve(world: World, tool: str, args: dict[str, Any], requester: str, user: str,
                                            members: set[str] | None, allowed: bool) -> None:
    proposal = propose(world, tool, args, requester=requester)
    in_channel = None if members is None else (lambda channel, who: who in members)
    decision = world.services.approvals.approve(proposal.id, user=user, channel_members=in_channel)
    assert (decision.outcome == "executed") is allowed, decision.message
    if not allowed:
        assert decision.outcome == "refused" and world.services.approvals.get(proposal.id).status == "pending"
        refusals = [e for e in world.services.audit.trail(proposal.id) if e.kind == "approval.refused"]
        assert refusals and refusals[0].actor == user


def test_a_record_changed_since_the_proposal_makes_it_stale_and_writes_nothing(world: World) -> None:
    proposal = stage_move(world)
    world.crm.update("deal", world.ids["deal"], {"stage": "qualified"}, expected_version=1, idempotency_key="other")
    decision = world.services.approvals.approve(proposal.id, user="U01ALICE")
    assert decision.outcome == "stale"
    assert decision.proposal.result == {"current": {"stage": "qualified"}, "current_version": 2,
                                        "moved": [{"field": "stage", "planned": "proposal", "now": "qualified"}]}
    assert decision.message == "the deal's stage changed since the proposal"
    assert world.crm.get("deal", world.ids["deal"]).stage == "qualified"  # type: ignore[union-attr]


def test_what_executes_is_what_was_approved(world: World) -> None:
    proposal = stage_move(world)
    with Session(world.engine) as session, session.begin():  # someone edits the stored payload
        session.execute(update(Proposal).where(Proposal.id == proposal.id)
                        .values(args={"deal_id": world.ids["deal"], "stage": "closed_lost"}))
    decision = world.services.approvals.approve(proposal.id, user="U01ALICE")
    assert decision.outcome == "failed" and "does not match" in decision.message
    assert world.crm.get("deal", world.ids["deal"]).stage == "proposal"  # type: ignore[union-attr]


def test_expiry_on_approval_and_by_the_sweep(world: World) -> None:
    first, second = stage_move(world), propose(world, "create_task", {"subject": "Call back", "due_date": "2026-11-10",
                                                                      "deal_id": world.ids["deal"]})
    world.clock.advance(hours=24, seconds=1)
    assert world.services.approvals.approve(first.id, user="U02BOB").outcome == "expired"
    assert [p.id for p in world.services.approvals.expire_due()] == [second.id]
    assert world.services.approvals.get(second.id).status == "expired"
    assert world.crm.get("deal", world.ids["deal"]).stage == "proposal"  # type: ignore[union-attr]


def test_reject_with_a_reason_and_only_by_someone_entitled(world: World) -> None:
    proposal = stage_move(world)
    assert world.services.approvals.reject(proposal.id, user="U77OUT").outcome == "refused"
    decision = world.services.approvals.reject(proposal.id, user="U02BOB", reason="wrong deal")
    assert decision.outcome == "rejected" and decision.proposal.reason == "wrong deal"
    assert world.services.approvals.approve(proposal.id, user="U02BOB").outcome == "already_decided"


def test_edit_replaces_the_proposal_and_retires_the_old_one(world: World) -> None:
    old = stage_move(world)
    # someone who may neither approve it nor asked for it cannot edit it
    assert world.services.approvals.edit(old.id, user="U03CAROL", changes={"stage": "lead"}).outcome == "refused"
    decision = world.services.approvals.edit(old.id, user="U01ALICE", changes={"stage": "qualified"})
    new = decision.proposal
    assert decision.outcome == "edited" and new.supersedes_id == old.id and new.requester == "U01ALICE"
    assert new.diff == [{"field": "stage", "before": "proposal", "after": "qualified"}]
    assert world.services.approvals.approve(old.id, user="U02BOB").outcome == "already_decided"
    assert world.services.approvals.edit(new.id, user="U01ALICE", changes={"stage": "nope"}).outcome == "invalid"
    # the editor is the new requester: their own medium-risk change needs another approver
    assert world.services.approvals.approve(new.id, user="U01ALICE").outcome == "refused"


def test_recovery_finishes_a_crashed_execution_without_writing_twice(world: World) -> None:
    approvals = world.services.approvals
    proposal = stage_move(world)
    # The crash: the proposal was claimed and the write committed, but the outcome was never recorded.
    approvals._proposals.transition(proposal.id, from_statuses=(ProposalStatus.PENDING,),
                                    to=ProposalStatus.EXECUTING, decided_by="U02BOB")
    approvals._operations["update_deal"].execute(approvals._targets, proposal.args, proposal.record_id,
                                                  proposal.record_version, proposal.id)
    [decision] = approvals.recover()
    assert decision.outcome == "executed" and decision.proposal.result["replayed"] is True
    assert world.crm.get("deal", world.ids["deal"]).version == 2  # type: ignore[union-attr]


def test_a_transient_failure_can_be_retried(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    proposal = stage_move(world)
    real = world.crm.update
    calls = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(world.crm, "update", flaky)
    failed = world.services.approvals.approve(proposal.id, user="U01ALICE")
    assert failed.outcome == "failed" and failed.proposal.result == {"retryable": True}
    letters = SqlDeadLetters(world.engine)
    (kept,) = letters.list()  # on the dead-letter list, with what redoes it through approve()
    assert (kept.kind, kept.ref, kept.status, kept.payload) == (
        "execution", proposal.id, "queued", {"proposal_id": proposal.id, "approver": "U01ALICE"})
    assert kept.next_try_at is not None  # retried by the bot's sweep (dead_letters.auto_retry), or by a click:
    assert world.services.approvals.approve(proposal.id, user="U01ALICE").outcome == "executed"
    assert letters.list() == [] and letters.get(kept.id).status == "done"  # type: ignore[union-attr]
    assert world.services.approvals.approve(proposal.id, user="U01ALICE").outcome == "already_decided"
    assert len(calls) == 2


def test_send_email_goes_to_the_outbox_once(world: World) -> None:
    proposal = propose(world, "send_email", {"to": "zoe@example.org", "subject": "Renewal", "body": "Hello"})
    assert world.services.approvals.approve(proposal.id, user="U01ALICE").outcome == "executed"
    recovered = world.services.approvals._operations["send_email"].execute(
        world.services.approvals._targets, proposal.args, None, None, proposal.id)
    assert recovered["replayed"] is True
    with Session(world.engine) as session:
        rows = session.scalars(select(EmailOutboxRow)).all()
    assert [(r.to, r.subject, r.status) for r in rows] == [("zoe@example.org", "Renewal", "queued")]


def test_every_transition_is_audited_with_the_payload_hash(world: World) -> None:
    proposal = stage_move(world)
    world.services.approvals.approve(proposal.id, user="U01ALICE")
    trail = world.services.audit.trail(proposal.id)
    assert [(e.from_status, e.to_status) for e in trail] == [(None, "pending"), ("pending", "executing"),
                                                             ("executing", "executed")]
    assert {e.payload_hash for e in trail} == {proposal.payload_hash}


def test_ten_simultaneous_approvals_execute_once(engine: Engine, tmp_path: Path) -> None:
    world = make_world(engine, tmp_path, ScriptedModel([]))
    proposal = stage_move(world)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def click() -> None:
        barrier.wait()
        outcomes.append(world.services.approvals.approve(proposal.id, user="U01ALICE").outcome)

    threads = [threading.Thread(target=click) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_decided"] * 9 + ["executed"]
    assert world.crm.get("deal", world.ids["deal"]).version == 2  # type: ignore[union-attr]
    executions = [e for e in world.services.audit.trail(proposal.id) if e.to_status == "executing"]
    assert len(executions) == 1


def test_activities_logged_on_a_deal_are_linked_to_its_company(world: World) -> None:
    proposal = propose(world, "log_activity", {"kind": "call", "subject": "Check-in", "deal_id": world.ids["deal"],
                                               "occurred_at": "2026-11-01T10:00:00Z"})
    assert proposal.args == {"kind": "call", "subject": "Check-in", "deal_id": world.ids["deal"],
                             "company_id": world.ids["acme"], "body": "", "occurred_at": "2026-11-01T10:00:00Z"}
    assert world.services.approvals.approve(proposal.id, user="U02BOB").outcome == "executed"


def test_an_email_that_cannot_be_sent_is_refused_when_proposed(world: World) -> None:
    with pytest.raises(PlanError, match="subject"):
        propose(world, "send_email", {"to": "a@example.com", "subject": "Hi\nBcc: x@evil.example", "body": "b"})
    assert world.services.approvals.pending() == []


@pytest.mark.parametrize(("changes", "risk"), [
    ({"stage": "negotiation"}, "medium"),
    ({"stage": "closed_won"}, "high"),
    ({"stage": "closed_lost"}, "high"),
    ({"amount": "58500.00"}, "medium"),  # +10,000: not more than the threshold
    ({"amount": "58500.01"}, "high"),
    ({"amount": "38000"}, "high"),  # -10,500
])
def test_closing_a_deal_or_a_large_amount_change_is_high_risk(world: World, changes: dict[str, str],
                                                              risk: str) -> None:
    proposal = propose(world, "update_deal", {"deal_id": world.ids["deal"], **changes}, requester="U77OUT")
    assert proposal.risk == risk
    if risk == "high":  # managers only
        assert world.services.approvals.approve(proposal.id, user="U03CAROL").outcome == "refused"
        assert world.services.approvals.approve(proposal.id, user="U01ALICE").outcome == "executed"
