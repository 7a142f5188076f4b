"""Faults: nothing lost, nothing done twice, and how fast a request is answered while the model's
circuit breaker is open.

The real bot process (`python -m bot run`, Socket Mode) against the Slack emulator and a model
server that fails in turn with a 429 (Retry-After), a 500, a body that is not a completion and a
timeout. Requests are sent one after another: the first ones fail on the model until its breaker
opens, the next ones are answered while it is open (timed from posting the message to the
bot's reply in the emulator), some posts meet Slack 5xx answers beyond the client's retries, then
the model recovers and every kept request must be answered in its thread. A second bot on
PostgreSQL is killed (SIGKILL) between claiming approvals and executing them; the next start
must finish each once. Counts come from the database and the emulator's record of messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from bench.common import at_most, load_average, log, machine_info, scratch_postgres, summarize
from slack_emulator import EmulatorThread
from tests.e2e.conftest import prepare_database
from tests.e2e.harness import BotProcess, last_user_text

SALES = "C0SALES"
NOT_LOST = "your request was not lost"
FAILING = 4  # requests sent while the model fails: the breaker opens after the fourth
WHILE_OPEN = 60  # requests timed while the breaker is open
SLACK_DOWN = 3  # requests whose posts Slack refuses beyond the client's retries
KILLED = 3  # approvals claimed and interrupted by SIGKILL
COOLDOWN = 60
ENV = {"BOT_BREAKER__FAILURES": str(FAILING), "BOT_BREAKER__COOLDOWN_SECONDS": str(COOLDOWN),
       "BOT_DEAD_LETTERS__RETRY_SECONDS": "1", "BOT_DEAD_LETTERS__MAX_ATTEMPTS": "20",
       "BOT_MODEL__MAX_RETRIES": "1", "BOT_MODEL__TIMEOUT_SECONDS": "1"}


def run() -> dict[str, Any]:
    started = time.perf_counter()
    machine = machine_info(databases=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = _model_and_slack_faults(Path(tmp))
        data["kill"] = _killed_between_claim_and_execution(Path(tmp))
    machine["load_avg_1m_at_end"] = load_average()
    return {"suite": "faults", "title": "Faults: nothing lost, nothing twice", "machine": machine,
            "duration_s": time.perf_counter() - started, "sections": _sections(data), "data": data}


class _Model:
    """Fails in turn (429, 500, garbage, timeout) until `up`; then answers the question asked."""

    def __init__(self) -> None:
        from tests.fakes.model_server import delay, error, garbage
        from tests.fakes.model_server import text as reply

        self.up, self.calls, self.reply, self._lock = False, 0, reply, threading.Lock()
        self.faults = (error(429, "slow down", retry_after=0.1), error(500, "boom"), garbage(),
                       delay(2.5, reply("late")))

    def __call__(self, body: dict[str, Any]) -> Any:
        with self._lock:
            self.calls += 1
            n, up = self.calls, self.up
        return self.reply(f"Answer to: {last_user_text(body)}") if up else self.faults[(n - 1) % len(self.faults)]


def _said(emulator: EmulatorThread, ts: str, needle: str) -> list[Any]:
    return [m for m in emulator.messages(SALES, thread_ts=ts)
            if m.bot_id and m.ts != ts and needle in m.text + json.dumps(m.blocks, ensure_ascii=False)]


def _until(predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.05)
    raise RuntimeError("timed out")


def _model_and_slack_faults(tmp: Path) -> dict[str, Any]:
    from tests.fakes.model_server import ScriptedModelServer

    url = f"sqlite:///{tmp / 'faults.db'}"
    engine, _crm, _ids = prepare_database(url, tmp / "kb")
    model = _Model()
    asked: dict[str, str] = {}
    with EmulatorThread() as emulator, ScriptedModelServer(responder=model) as server:
        bot = BotProcess(emulator, server.base_url, url, tmp / "kb", tmp / "faults.log", socket_mode=True,
                         extra_env=ENV)
        bot.wait_ready()
        try:
            def ask(question: str) -> str:
                ts = emulator.user_message("U02BOB", SALES, f"<@UBOT> {question}").ts
                asked[ts] = question
                return ts

            log(f"faults: {FAILING} requests while the model fails, until its breaker opens")
            for i in range(FAILING):
                ts = ask(f"failing {i}")
                emulator.wait_for(lambda e, ts=ts: _said(e, ts, NOT_LOST), 60, what="the answer")
            _until(lambda: "circuit open" in bot.output(), 30)
            # A call that started before the circuit opened may still be retried by the client (up to
            # a timeout, a backoff and a timeout again): counted from when the model has been quiet.
            calls_when_open = _quiet(model, 3.0)
            log(f"faults: {WHILE_OPEN} requests timed while the breaker is open")
            open_ns = []
            for i in range(WHILE_OPEN):
                t = time.perf_counter_ns()
                ts = ask(f"while open {i}")
                emulator.wait_for(lambda e, ts=ts: _said(e, ts, NOT_LOST), 30, what="the answer")
                open_ns.append(time.perf_counter_ns() - t)
            calls_while_open = model.calls - calls_when_open
            log(f"faults: {SLACK_DOWN} requests whose posts Slack refuses (500) beyond the client's retries")
            model.up = True
            for i in range(SLACK_DOWN):
                emulator.fail_next("chat.postMessage", status=500, count=6)
                ts = ask(f"slack down {i}")
                _until(lambda: _kept(engine, ts), 30)
            log("faults: the model recovers; waiting for every request to be answered")
            for ts, question in asked.items():
                emulator.wait_for(lambda e, ts=ts, q=question: _said(e, ts, f"Answer to: {q}"), COOLDOWN + 120,
                                  what="every request answered")
            # A retry marks its item done just after posting the answer: let the last one land.
            with contextlib.suppress(RuntimeError):
                _until(lambda: _open_items(engine) == 0, 30)
        finally:
            code = bot.stop()
    answers = {f"{SALES}:{ts}": len(_said(emulator, ts, f"Answer to: {q}")) for ts, q in asked.items()}
    with engine.connect() as conn:
        accepted = set(conn.execute(text("SELECT key FROM slack_request")).scalars())
        kept = conn.execute(text("SELECT count(*) FROM dead_letter WHERE kind IN ('turn', 'answer')")).scalar_one()
        listed = set(conn.execute(text("SELECT ref FROM dead_letter WHERE status IN "
                                       "('queued', 'retrying', 'failed')")).scalars())
    engine.dispose()
    answered = {key for key, n in answers.items() if n >= 1}
    return {"sent": len(asked), "accepted": len(accepted), "answered": len(answered & accepted),
            "dead_lettered": kept, "still_listed": len(listed), "lost": len(accepted - answered - listed),
            "answered_twice": sum(1 for n in answers.values() if n > 1), "model_calls_while_open": calls_while_open,
            "while_open": summarize(open_ns), "bot_exit": code}


def _quiet(model: _Model, seconds: float) -> int:
    """The model's call count once no call has arrived for `seconds`."""
    seen, since = model.calls, time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.1)
        if model.calls != seen:
            seen, since = model.calls, time.monotonic()
    return seen


def _open_items(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM dead_letter WHERE status IN "
                                     "('queued', 'retrying', 'failed')")).scalar_one())


def _kept(engine: Any, ts: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT 1 FROM dead_letter WHERE ref = :ref"), {"ref": f"{SALES}:{ts}"}).first())


def _killed_between_claim_and_execution(tmp: Path) -> dict[str, Any]:
    from bot.slack.blocks.cards import APPROVE
    from bot.store.tables import Proposal
    from tests.e2e.cards import proposal_id, wait_for_card_text, wait_for_cards
    from tests.fakes.model_server import ScriptedModelServer, tool_calls
    from tests.fakes.model_server import text as reply

    log(f"faults: {KILLED} approvals claimed, the bot killed before they execute, then started again")
    with scratch_postgres("faults") as url:
        engine, _crm, ids = prepare_database(url, tmp / "kb")
        calls = [("log_activity", {"kind": "call", "subject": f"Killed call {i}", "deal_id": ids["deal"]})
                 for i in range(KILLED)]
        with EmulatorThread() as emulator, ScriptedModelServer([tool_calls(*calls), reply("Proposed.")]) as server:
            def start(name: str) -> BotProcess:
                bot = BotProcess(emulator, server.base_url, url, tmp / "kb", tmp / f"{name}.log", socket_mode=True)
                bot.wait_ready()
                return bot

            bot = start("killed")
            root = emulator.user_message("U02BOB", SALES, "<@UBOT> log my calls")
            cards = wait_for_cards(emulator, SALES, root.ts, KILLED)
            pids = [proposal_id(card) for card in cards]
            locker = create_engine(url)
            with locker.connect() as held:  # the CRM's activity table held: claims pass, writes wait
                held.execute(text("BEGIN"))
                held.execute(text("LOCK TABLE crm_activity IN EXCLUSIVE MODE"))
                for card in cards:
                    emulator.click("U01ALICE", channel=SALES, message_ts=card.ts, action_id=APPROVE)
                _until(lambda: all(_status(engine, Proposal, pid) == "executing" for pid in pids), 60)
                os.kill(bot.proc.pid, signal.SIGKILL)
                bot.proc.wait(timeout=30)
                held.execute(text("ROLLBACK"))
            locker.dispose()
            bot.stop()
            again = start("restarted")
            try:
                for card in cards:
                    wait_for_card_text(emulator, SALES, card.ts, "Executed")
            finally:
                again.stop()
        with engine.connect() as conn:
            executed = conn.execute(text("SELECT count(*) FROM audit_event WHERE kind = 'proposal.transition' "
                                         "AND to_status = 'executed'")).scalar_one()
            written = conn.execute(text("SELECT count(*) FROM crm_activity WHERE subject LIKE 'Killed call %'"
                                        )).scalar_one()
        engine.dispose()
    return {"claimed_then_killed": KILLED, "executed": executed, "written": written,
            "executed_twice": max(0, written - KILLED), "lost": KILLED - min(written, executed)}


def _status(engine: Any, table: Any, pid: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(table.status).where(table.id == pid)).scalar()


def _sections(d: dict[str, Any]) -> list[dict[str, Any]]:
    column = "bot process, emulators"
    kill = d["kill"]

    def count(value: int, limit: int | None = None) -> dict[str, Any]:
        return {"text": f"{value}", "value": value, "unit": "",
                "pass": None if limit is None else value <= limit}

    rows = [
        {"measure": "requests accepted (model failing, breaker open, Slack refusing posts)", "target": None,
         "cells": {column: count(d["accepted"])}},
        {"measure": "answered in their thread (after the recovery)", "target": None,
         "cells": {column: count(d["answered"])}},
        {"measure": "dead-lettered on the way (turns and answers kept, then retried)", "target": None,
         "cells": {column: count(d["dead_lettered"])}},
        {"measure": "lost (accepted, neither answered nor listed)", "target": "0", "cells": {column: count(d["lost"], 0)}},
        {"measure": "answered twice", "target": "0", "cells": {column: count(d["answered_twice"], 0)}},
        {"measure": "model calls while the breaker was open", "target": "0",
         "cells": {column: count(d["model_calls_while_open"], 0)}},
        {"measure": f"time to answer while the breaker is open, p99 ({d['while_open']['n']} requests)",
         "target": "< 1 s", "cells": {column: at_most(d["while_open"]["p99_ms"], "ms", 1000, 0)}},
        {"measure": "time to answer while the breaker is open, p50 / max", "target": None,
         "cells": {column: {"text": f"{d['while_open']['p50_ms']:.0f} / {d['while_open']['max_ms']:.0f} ms",
                            "value": d["while_open"]["p50_ms"], "unit": "ms", "pass": None}}},
        {"measure": f"approvals claimed then SIGKILL ({kill['claimed_then_killed']}, PostgreSQL): executed after "
                    "the restart", "target": None, "cells": {column: count(kill["executed"])}},
        {"measure": "executed twice", "target": "0", "cells": {column: count(kill["executed_twice"], 0)}},
        {"measure": "approvals lost", "target": "0", "cells": {column: count(kill["lost"], 0)}},
    ]
    return [{"title": "Faults", "description": __doc__.split("\n\n", 1)[1].strip(), "columns": [column],
             "rows": rows, "tables": [],
             "notes": ["Time to answer is measured in the bench process from posting the message in the emulator "
                       "to the bot's reply arriving there: it includes masking the message, the agent's refusal "
                       "to call an open breaker, the dead-letter write and two Slack calls."]}]
