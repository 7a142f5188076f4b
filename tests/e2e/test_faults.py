"""The fault suite, through the real bot process and the emulators: each test asserts that every
request accepted is answered or on the dead-letter list (nothing lost) and that nothing is done
twice.

The model fails in every way it can (429 with Retry-After, 500, a body that is not a completion,
a timeout), the breaker opens and requests are answered at once, the model recovers and every
kept request is answered in its thread, once. Slack answers 429 and 5xx to posts and drops the
Socket Mode connection. The bot is killed (SIGKILL) between claiming an approval and executing it
and the next start finishes it once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text as sql
from sqlalchemy.orm import Session

from bot.slack.blocks.cards import APPROVE, RETRY
from bot.store.audit import SqlAuditLog
from bot.store.dead_letters import SqlDeadLetters
from bot.store.requests import SqlRequests
from bot.store.tables import Proposal
from slack_emulator import EmulatorThread
from slack_emulator.records import PostedMessage
from tests.e2e.cards import proposal_id, text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, prepare_database
from tests.e2e.harness import BotProcess, last_user_text
from tests.fakes.model_server import Reply, ScriptedModelServer, delay, error, garbage, text, tool_calls

SALES = "C0SALES"
NOT_LOST = "your request was not lost"
COOLDOWN = 10  # seconds the model's breaker stays open: long enough that a loaded machine still sees it open
FAULT_ENV = {"BOT_BREAKER__FAILURES": "4", "BOT_BREAKER__COOLDOWN_SECONDS": str(COOLDOWN),
             "BOT_DEAD_LETTERS__RETRY_SECONDS": "1", "BOT_DEAD_LETTERS__MAX_ATTEMPTS": "20",
             "BOT_MODEL__MAX_RETRIES": "1", "BOT_MODEL__TIMEOUT_SECONDS": "1"}


class Model:
    """Down: every call fails, in turn with a 429 (Retry-After), a 500, garbage and a timeout. Up:
    every call answers the question it was asked, so a test can tell which request an answer is for."""

    FAULTS = (error(429, "slow down", retry_after=0.1), error(500, "boom"), garbage(), delay(2.5, text("late")))

    def __init__(self) -> None:
        self.up, self.calls, self._lock = False, 0, threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply | str:
        with self._lock:
            self.calls += 1
            n, up = self.calls, self.up
        if up:
            return text(f"Answer to: {last_user_text(body)}")
        fault = self.FAULTS[(n - 1) % len(self.FAULTS)]
        return fault


def until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll what the emulators cannot signal (a database row, a log line) until it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def model() -> Iterator[tuple[Model, ScriptedModelServer]]:
    responder = Model()
    with ScriptedModelServer(responder=responder) as server:
        yield responder, server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          model: tuple[Model, ScriptedModelServer]) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("faults")
    url = f"sqlite:///{tmp / 'bot.db'}"
    engine, crm, ids = prepare_database(url, tmp / "kb")
    emulator.default_mode = "socket"
    bot = BotProcess(emulator, model[1].base_url, url, tmp / "kb", tmp / "bot.log", socket_mode=True,
                     extra_env=FAULT_ENV)
    bot.wait_ready()
    yield Stack(emulator, None, bot, crm, engine, ids)  # type: ignore[arg-type]
    code = bot.stop()
    engine.dispose()
    assert code == 0, f"the bot exited with {code}\n{bot.output()}"


def replies(stack: Stack, ts: str) -> list[PostedMessage]:
    return [m for m in stack.emulator.messages(SALES, thread_ts=ts) if m.bot_id and m.ts != ts]


def said(message: PostedMessage) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def wait_said(stack: Stack, ts: str, needle: str, timeout: float = 30) -> list[PostedMessage]:
    return stack.emulator.wait_for(
        lambda e: [m for m in replies(stack, ts) if needle in said(m)], timeout,
        what=f"{needle!r} in thread {ts}")


def ask(stack: Stack, question: str) -> str:
    return stack.emulator.user_message("U02BOB", SALES, f"<@UBOT> {question}").ts


def test_the_model_fails_the_breaker_opens_answers_at_once_and_every_request_is_answered_once_it_recovers(
        stack: Stack, model: tuple[Model, ScriptedModelServer]) -> None:
    responder, _server = model
    asked: dict[str, str] = {}
    for i in range(4):  # 429, 500, garbage, timeout ... until the breaker opens
        asked[ask(stack, f"question {i}")] = f"question {i}"
        wait_said(stack, list(asked)[-1], NOT_LOST)
    until(lambda: "circuit open" in stack.bot.output(), 30, "the model's breaker to open")
    calls_when_open = responder.calls
    for i in range(4, 7):  # while it is open: answered at once, the model not called
        ts = ask(stack, f"question {i}")
        asked[ts] = f"question {i}"
        wait_said(stack, ts, NOT_LOST)
    assert responder.calls == calls_when_open, "the model was called while its breaker was open"

    responder.up = True  # the model recovers: after the cool-down a probe closes the breaker
    for ts, question in asked.items():
        wait_said(stack, ts, f"Answer to: {question}", timeout=COOLDOWN + 60)
    until(lambda: "circuit closed" in stack.bot.output(), 10, "the breaker to close")

    for ts, question in asked.items():
        thread = replies(stack, ts)
        assert [said(m).count(f"Answer to: {question}") > 0 for m in thread].count(True) == 1, "answered twice"
        shown = " ".join(said(m) for m in thread)
        assert "OPENAI" not in shown and "HTTP 500" not in shown and "429" not in shown  # the operator's reasons
    keys = {f"{SALES}:{ts}" for ts in asked}
    letters = SqlDeadLetters(stack.engine)
    # Nothing left on the list: every kept turn was answered (its item is marked done just after).
    until(lambda: letters.list() == [], 30, "every kept request to be done")
    done = [x for x in letters.list(statuses=("done",)) if x.ref in keys]
    assert {x.ref for x in done} == keys and all(x.kind == "turn" for x in done)
    requests = SqlRequests(stack.engine)
    assert all(requests.get(key).status == "answered" for key in keys)  # type: ignore[union-attr]


def test_slack_429_and_5xx_on_posts_are_retried_and_an_answer_it_would_not_take_is_posted_later(
        stack: Stack, model: tuple[Model, ScriptedModelServer]) -> None:
    model[0].up = True
    stack.emulator.fail_next("chat.postMessage", status=429, retry_after=1)
    stack.emulator.fail_next("chat.update", status=503, count=2)
    first = ask(stack, "first while Slack hiccups")
    wait_said(stack, first, "Answer to: first while Slack hiccups")
    assert SqlDeadLetters(stack.engine).find("turn", f"{SALES}:{first}") is None  # the client's retries sufficed

    # Slack refuses every post (and every stream) for longer than the client retries: the work is
    # kept (the turn, or only its answer when the model had already answered), then finished.
    stack.emulator.fail_next("chat.startStream", status=500, count=6)
    stack.emulator.fail_next("chat.postMessage", status=500, count=6)
    second = ask(stack, "second while Slack is down")
    key = f"{SALES}:{second}"

    def kept() -> Any:
        letters = SqlDeadLetters(stack.engine)
        return letters.find("turn", key) or letters.find("answer", key)
    until(kept, 30, "the request to be kept")
    wait_said(stack, second, "Answer to: second while Slack is down", timeout=60)
    until(lambda: (x := kept()) and x.status == "done", 30, "the kept request to be done")
    answers = [m for m in replies(stack, second) if "Answer to: second" in said(m)]
    assert len(answers) == 1


def test_a_dropped_socket_mode_connection_reconnects_and_loses_nothing(
        stack: Stack, model: tuple[Model, ScriptedModelServer]) -> None:
    model[0].up = True
    before = len(stack.emulator.connections())
    assert stack.emulator.drop_socket() >= 1
    stack.emulator.wait_for(lambda e: len(e.connections()) > before and e.connected >= 1, 30,
                            what="the bot to reconnect")
    ts = ask(stack, "after the reconnect")
    wait_said(stack, ts, "Answer to: after the reconnect")
    assert len([m for m in replies(stack, ts) if "Answer to" in said(m)]) == 1


def test_a_bot_killed_between_the_claim_and_the_execution_is_reconciled_once_by_the_next_start(
        tmp_path: Path, pg_url: str) -> None:
    engine, crm, ids = prepare_database(pg_url, tmp_path / "kb")
    steps = [tool_calls(("update_deal", {"deal_id": ids["deal"], "stage": "negotiation"})), text("Proposed.")]
    with EmulatorThread() as emulator, ScriptedModelServer(steps) as server:
        def start(name: str) -> BotProcess:
            bot = BotProcess(emulator, server.base_url, pg_url, tmp_path / "kb", tmp_path / f"{name}.log",
                             socket_mode=True)
            bot.wait_ready()
            return bot

        bot = start("first")
        try:
            root = emulator.user_message("U02BOB", SALES, "<@UBOT> move the Acme deal on")
            (card,) = wait_for_cards(emulator, SALES, root.ts)
            pid = proposal_id(card)
            # Hold the deal's row: the bot claims the proposal, then its write waits on the lock.
            locker = create_engine(pg_url)
            with locker.connect() as held:
                held.execute(sql("BEGIN"))
                held.execute(sql("SELECT id FROM crm_deal WHERE id = :id FOR UPDATE"), {"id": ids["deal"]})
                emulator.click("U01ALICE", channel=SALES, message_ts=card.ts, action_id=APPROVE)
                until(lambda: _status(engine, pid) == "executing", 30, "the approval to be claimed")
                os.kill(bot.proc.pid, signal.SIGKILL)
                bot.proc.wait(timeout=30)
                held.execute(sql("ROLLBACK"))
            locker.dispose()
        finally:
            bot.stop()
        assert _status(engine, pid) == "executing"  # claimed, not executed: the crash came in between
        assert crm.get("deal", ids["deal"]).stage == "proposal"  # type: ignore[union-attr]

        again = start("second")
        try:
            wait_for_card_text(emulator, SALES, card.ts, "Executed")
        finally:
            assert again.stop() == 0, again.output()
        server.assert_done()
    trail = SqlAuditLog(engine).trail(pid)
    assert [e.to_status for e in trail if e.kind == "proposal.transition"].count("executed") == 1
    deal = crm.get("deal", ids["deal"])
    assert deal is not None and deal.stage == "negotiation" and deal.version == 2  # written once
    assert SqlDeadLetters(engine).list() == []
    engine.dispose()


def restart_postgresql() -> None:
    """Restart the machine's PostgreSQL server (the tests run as root on a Debian cluster)."""
    import subprocess

    command = ["pg_ctlcluster", "15", "main", "restart"] if shutil.which("pg_ctlcluster") else [
        "service", "postgresql", "restart"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


# Kept executions are retried after 1 s, and the sweep that recovers interrupted executions and
# retries kept ones runs every 2 s (not 60), so recovery from the restart fits the test's waits.
FAST_SWEEP = {"BOT_DEAD_LETTERS__RETRY_SECONDS": "1", "BOT_SLACK__SWEEP_SECONDS": "2"}


def test_postgresql_restarting_in_a_burst_of_approvals_on_two_replicas_executes_each_proposal_once(
        tmp_path: Path, pg_url: str, pg_admin: Any) -> None:
    """Run sparingly: every test using the PostgreSQL server sees it restart."""
    engine, crm, ids = prepare_database(pg_url, tmp_path / "kb")
    calls = [("log_activity", {"kind": "call", "subject": f"Burst call {i}", "deal_id": ids["deal"]}) for i in range(6)]
    with EmulatorThread() as emulator, ScriptedModelServer([tool_calls(*calls), text("Proposed.")]) as server:
        emulator.default_mode = "http"
        replicas = [BotProcess(emulator, server.base_url, pg_url, tmp_path / "kb", tmp_path / f"replica{i}.log",
                               socket_mode=False, extra_env=FAST_SWEEP) for i in (1, 2)]
        try:
            for replica in replicas:
                replica.wait_ready()
            targets = [f"{r.url}/slack/events" for r in replicas]
            emulator.http_target = targets[0]
            root = emulator.user_message("U02BOB", SALES, "<@UBOT> log my six calls on the Acme deal")
            cards = wait_for_cards(emulator, SALES, root.ts, 6)
            pids = [proposal_id(card) for card in cards]

            def click(card: PostedMessage, target: str) -> None:
                # Approve on a pending card, Retry on one whose execution failed transiently.
                shown = text_of(emulator.message(SALES, card.ts) or card)
                action = APPROVE if APPROVE in shown else RETRY if RETRY in shown else None
                if action is None:
                    return  # decided already
                try:
                    emulator.click("U01ALICE", channel=SALES, message_ts=card.ts, action_id=action, target=target)
                except Exception:  # noqa: BLE001 - a replica that cannot answer now is a click a person repeats
                    pass

            burst = [threading.Thread(target=click, args=(card, target)) for card in cards for target in targets]
            restart = threading.Thread(target=restart_postgresql)
            for i, thread in enumerate(burst):
                thread.start()
                if i == len(burst) // 2:
                    restart.start()  # in the middle of the burst
            for thread in [*burst, restart]:
                thread.join()
            pg_admin.dispose()  # its pooled connections died with the server
            # A person whose click met the restart is told so (or sees the card unchanged) and clicks again.
            for card in cards:
                for attempt in range(5):
                    try:
                        wait_for_card_text(emulator, SALES, card.ts, "Executed")
                        break
                    except AssertionError:
                        click(card, targets[attempt % 2])
                wait_for_card_text(emulator, SALES, card.ts, "Executed")
        finally:
            for replica in replicas:
                replica.stop()
    for pid in pids:
        trail = SqlAuditLog(engine).trail(pid)
        assert [e.to_status for e in trail if e.kind == "proposal.transition"].count("executed") == 1, pid
        assert _status(engine, pid) == "executed"
    with engine.connect() as conn:
        subjects = conn.execute(sql("SELECT subject FROM crm_activity WHERE subject LIKE 'Burst call %'")).scalars()
        assert sorted(subjects) == sorted(f"Burst call {i}" for i in range(6))  # each written once
    # Executions the restart interrupted were kept and retried (by the sweep or a Retry click): none is open.
    until(lambda: [x for x in SqlDeadLetters(engine).list() if x.kind == "execution"] == [], 30,
          "no execution left on the failed list")
    engine.dispose()


def _status(engine: Any, pid: str) -> str | None:
    with Session(engine) as session:
        return session.scalars(select(Proposal.status).where(Proposal.id == pid)).first()
