"""Group commit: concurrent writes share a transaction, each caller waits for its own, none is lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.agent.audit_trail import AgentAudit
from bot.agent.group_commit import CommitFailed, GroupCommit
from bot.agent.model import ToolCall
from bot.store.audit import SqlAuditLog


class Writer:
    """Records each batch; fails a batch holding "bad"; can hold a batch until released."""

    def __init__(self, *, hold_first: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.started, self.release = threading.Event(), threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: Sequence[str]) -> None:
        self.started.set()
        self.release.wait(timeout=10)
        if "bad" in items:
            raise ValueError("no such column")
        self.batches.append(list(items))


def test_concurrent_writes_share_one_batch() -> None:
    writer = Writer()
    commit: GroupCommit[str] = GroupCommit(writer)

    async def main() -> None:
        await asyncio.gather(*(commit.submit(f"item {i}") for i in range(50)))
        await commit.submit("alone")

    asyncio.run(main())
    assert writer.batches == [[f"item {i}" for i in range(50)], ["alone"]]


def test_items_submitted_during_a_write_wait_for_the_next_batch() -> None:
    writer = Writer(hold_first=True)
    commit: GroupCommit[str] = GroupCommit(writer)

    async def main() -> None:
        first = asyncio.ensure_future(commit.submit("first"))
        await asyncio.to_thread(writer.started.wait, 10)  # the first batch is being written
        later = asyncio.gather(commit.submit("second"), commit.submit("third"))
        await asyncio.sleep(0)  # let both enqueue behind the running write
        assert not first.done()  # nobody is told "done" before the commit
        writer.release.set()
        await asyncio.gather(first, later)

    asyncio.run(main())
    assert writer.batches == [["first"], ["second", "third"]]


def test_a_failed_batch_fails_every_caller_in_it_and_the_next_batch_still_commits() -> None:
    writer = Writer()
    commit: GroupCommit[str] = GroupCommit(writer)

    async def main() -> list[Any]:
        outcomes = await asyncio.gather(*(commit.submit(i) for i in ("a", "bad", "c")), return_exceptions=True)
        await commit.submit("d")
        return outcomes

    outcomes = asyncio.run(main())
    assert all(isinstance(o, CommitFailed) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 3  # one exception each, not one shared
    assert all(isinstance(o.__cause__, ValueError) and "no such column" in str(o) for o in outcomes)
    assert writer.batches == [["d"]]


def test_a_caller_that_gives_up_does_not_drop_its_item() -> None:
    writer = Writer()
    commit: GroupCommit[str] = GroupCommit(writer)

    async def main() -> None:
        impatient = asyncio.ensure_future(commit.submit("impatient"))
        await asyncio.sleep(0)  # enqueued, not yet written
        impatient.cancel()
        await commit.submit("patient")
        with pytest.raises(asyncio.CancelledError):
            await impatient

    asyncio.run(main())
    assert writer.batches == [["impatient", "patient"]]


def test_one_instance_serves_event_loops_in_turn() -> None:
    writer = Writer()
    commit: GroupCommit[str] = GroupCommit(writer)
    for name in ("first loop", "second loop"):
        asyncio.run(commit.submit(name))
    assert writer.batches == [["first loop"], ["second loop"]]


def test_audit_records_of_concurrent_runs_are_all_stored_when_their_calls_return(engine: Engine) -> None:
    log = SqlAuditLog(engine)
    audit = AgentAudit(log, model_name="m")
    seen: list[int] = []

    async def run(i: int) -> None:
        await audit.tool_call("U01ALICE", f"C1/{i}", ToolCall(f"call_{i}", "get_deal", '{"deal_id": 1}'),
                              error=None, started=0.0)
        seen.append(len(log.trail(f"C1/{i}")))  # visible as soon as the call returns

    async def main() -> None:
        await asyncio.gather(*(run(i) for i in range(40)))

    asyncio.run(main())
    assert seen == [1] * 40
    assert log.trail("C1/7")[0].data["tool"] == "get_deal"
