"""Conversation history and the audit trail on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import StatementError
from sqlmodel import Session

from bot.records import ProposalStatus, ProposalView
from bot.store.audit import SqlAuditLog
from bot.store.history import SqlHistory, StoredTurn
from bot.store.proposals import SqlProposals
from bot.store.tables import Conversation

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def conversation(engine: Engine, conversation_id: str) -> Conversation:
    with Session(engine) as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        return row


def test_ensure_creates_once_and_keeps_the_first_values(engine: Engine) -> None:
    history = SqlHistory(engine)
    assert history.ensure("C1/1.0", channel="C1", thread_ts="1.0", started_by="U01ALICE") is True
    assert history.ensure("C1/1.0", channel="C9", thread_ts="9.9", started_by="U02BOB") is False
    row = conversation(engine, "C1/1.0")
    assert (row.channel, row.thread_ts, row.started_by) == ("C1", "1.0", "U01ALICE")
    assert row.created_at.tzinfo is not None


def test_replicas_racing_to_create_one_conversation_both_succeed(engine: Engine) -> None:
    history, errors, created = SqlHistory(engine), [], []
    barrier = threading.Barrier(8)

    def ensure() -> None:
        barrier.wait()
        try:
            created.append(history.ensure("C1/2.0", started_by="U01ALICE"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(created) == [False] * 7 + [True]  # exactly one of them created it
    assert conversation(engine, "C1/2.0").started_by == "U01ALICE"


def test_append_numbers_turns_and_recent_fits_the_budget(engine: Engine) -> None:
    history = SqlHistory(engine)
    history.ensure("C1/3.0")
    created = conversation(engine, "C1/3.0").updated_at
    history.append("C1/3.0", [StoredTurn("user", "q1", 10), StoredTurn("assistant", "a1", 10)])
    history.append("C1/3.0", [StoredTurn("user", "q2", 10), StoredTurn("assistant", "a2", 10)])
    assert conversation(engine, "C1/3.0").updated_at > created
    assert [t.content for t in history.recent("C1/3.0", token_budget=100)] == ["q1", "a1", "q2", "a2"]
    assert [t.content for t in history.recent("C1/3.0", token_budget=20)] == ["q2", "a2"]
    # A budget that would cut a question off from its answer drops the orphaned answer.
    assert [t.content for t in history.recent("C1/3.0", token_budget=30)] == ["q2", "a2"]
    assert history.recent("C1/other", token_budget=100) == []


def proposal(proposal_id: str, conversation_id: str | None) -> ProposalView:
    return ProposalView(
        id=proposal_id, conversation_id=conversation_id, tool="update_deal", args={"stage": "won"},
        payload_hash="h" * 64, summary="Move the deal", diff=[], risk="low", requester="U01ALICE",
        record_kind="deal", record_id=1, record_version=1, status=ProposalStatus.PENDING, created_at=NOW,
        expires_at=NOW + timedelta(days=1), decided_by=None, decided_at=None, reason=None, result=None,
        error=None, supersedes_id=None, channel=None, message_ts=None,
    )


def test_trail_of_a_conversation_includes_its_proposals_events(engine: Engine) -> None:
    history, proposals, audit = SqlHistory(engine), SqlProposals(engine), SqlAuditLog(engine)
    for cid in ("C1/4.0", "C1/5.0"):
        history.ensure(cid)
    proposals.insert(proposal("p-mine", "C1/4.0"))
    proposals.insert(proposal("p-other", "C1/5.0"))
    audit.record("model.call", conversation_id="C1/4.0", data={"masked": "<PERSON_1>"})
    audit.record("proposal.transition", proposal_id="p-mine", from_status="pending", to_status="executing")
    audit.record("proposal.transition", proposal_id="p-other", from_status="pending", to_status="rejected")
    audit.record("model.call", conversation_id="C1/5.0")

    trail = audit.trail("C1/4.0")
    assert [(e.kind, e.proposal_id, e.to_status) for e in trail] == [
        ("model.call", None, None), ("proposal.transition", "p-mine", "executing"),
    ]
    assert trail[0].data == {"masked": "<PERSON_1>"}
    assert [e.to_status for e in audit.trail("p-other")] == ["rejected"]
    assert audit.trail("nothing") == []


def test_record_many_stores_events_in_order_and_in_one_piece(engine: Engine) -> None:
    audit = SqlAuditLog(engine)
    audit.record_many([{"kind": "tool.call", "actor": "U01ALICE", "conversation_id": "C1/6.0", "data": {"n": i}}
                       for i in range(3)])
    assert [(e.kind, e.actor, e.data) for e in audit.trail("C1/6.0")] == [
        ("tool.call", "U01ALICE", {"n": 0}), ("tool.call", "U01ALICE", {"n": 1}), ("tool.call", "U01ALICE", {"n": 2}),
    ]
    # An unknown field, and data that is not JSON: the batch is refused whole.
    for bad in ({"kind": "model.call", "colour": "red"}, {"kind": "model.call", "data": {"when": NOW}}):
        with pytest.raises((TypeError, StatementError)):
            audit.record_many([{"kind": "model.call", "conversation_id": "C1/7.0"}, {**bad, "conversation_id": "C1/7.0"}])
    assert audit.trail("C1/7.0") == []
