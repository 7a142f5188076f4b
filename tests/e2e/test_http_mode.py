"""HTTP mode: signed requests only, the same flows as Socket Mode, and two replicas on PostgreSQL."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.slack.blocks.cards import APPROVE
from bot.store.audit import SqlAuditLog
from slack_emulator import EmulatorThread
from tests.e2e.cards import proposal_id, text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, prepare_database, start_stack
from tests.e2e.harness import BotProcess, Script
from tests.fakes.model_server import text, tool_calls

SALES = "C0SALES"


@pytest.fixture(scope="module")
def http_stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
               script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "http"
    stack = start_stack(tmp_path_factory.mktemp("http"), emulator, script, socket_mode=False)
    yield stack
    assert stack.bot.stop() == 0, stack.bot.output()
    stack.engine.dispose()


def test_health_check(http_stack: Stack) -> None:
    with urllib.request.urlopen(f"{http_stack.bot.url}/healthz", timeout=5) as response:
        body = json.loads(response.read())
    assert body["ok"] is True and body["mode"] == "http"


def test_a_signed_mention_is_acknowledged_at_once_and_answered(http_stack: Stack) -> None:
    http_stack.script.load(text("Answered over HTTP."))
    posted = http_stack.emulator.user_message("U02BOB", SALES, "<@UBOT> hello over http")
    mention = posted.delivery("app_mention")
    assert mention.http_status == 200 and mention.latency is not None and mention.latency < 3
    http_stack.emulator.wait_for(lambda e: any("Answered over HTTP." in text_of(m)
                                               for m in e.messages(SALES, thread_ts=posted.ts)), 20,
                                 what="the answer")
    calls = len(http_stack.script.bodies)
    retried = http_stack.emulator.redeliver(mention)
    assert retried.http_status == 200 and retried.retry_attempt == 1  # acknowledged...
    http_stack.script.load(text("Fence."))
    fence = http_stack.emulator.user_message("U02BOB", SALES, "<@UBOT> fence")
    http_stack.emulator.wait_for(lambda e: any("Fence." in text_of(m) for m in e.messages(SALES, thread_ts=fence.ts)),
                                 20, what="the fence answer")
    assert len(http_stack.script.bodies) == calls + 1  # ...and not run again


@pytest.mark.parametrize("forgery", [{"signature": "v0=" + "0" * 64}, {"timestamp_offset": -600.0}],
                         ids=["bad signature", "stale timestamp"])
def test_forged_or_stale_requests_are_refused(http_stack: Stack, forgery: dict[str, object]) -> None:
    calls = len(http_stack.script.bodies)
    posted = http_stack.emulator.user_message("U02BOB", SALES, "<@UBOT> am I real?", **forgery)  # type: ignore[arg-type]
    assert {d.http_status for d in posted.deliveries} == {401}
    command = http_stack.emulator.slash_command("U02BOB", SALES, "find Acme", **forgery)  # type: ignore[arg-type]
    assert command.http_status == 401
    # A genuine request afterwards is answered, and the forged ones never reached the model.
    http_stack.script.load(text("Genuine."))
    genuine = http_stack.emulator.user_message("U02BOB", SALES, "<@UBOT> genuine")
    http_stack.emulator.wait_for(lambda e: any("Genuine." in text_of(m) for m in e.messages(SALES, thread_ts=genuine.ts)),
                                 20, what="the genuine answer")
    assert len(http_stack.script.bodies) == calls + 1


def test_two_replicas_on_postgresql_execute_simultaneous_approvals_once(
        tmp_path: Path, pg_url: str, emulator: EmulatorThread, script: tuple[Script, str], http_stack: Stack) -> None:
    engine, crm, ids = prepare_database(pg_url, tmp_path / "kb")
    replicas = [BotProcess(emulator, script[1], pg_url, tmp_path / "kb", tmp_path / f"replica{i}.log",
                           socket_mode=False) for i in (1, 2)]
    try:
        for replica in replicas:
            replica.wait_ready()
        targets = [f"{r.url}/slack/events" for r in replicas]
        emulator.http_target = targets[0]
        script[0].load(tool_calls(("update_deal", {"deal_id": ids["deal"], "stage": "negotiation"})), text("Proposed."))
        root = emulator.user_message("U02BOB", SALES, "<@UBOT> move the Acme deal on")
        (card,) = wait_for_cards(emulator, SALES, root.ts)
        pid = proposal_id(card)
        barrier = threading.Barrier(2)

        def click(user: str, target: str) -> None:
            barrier.wait()
            emulator.click(user, channel=SALES, message_ts=card.ts, action_id=APPROVE, target=target)

        clicks = [threading.Thread(target=click, args=args)
                  for args in (("U01ALICE", targets[0]), ("U01ALICE", targets[1]))]
        for t in clicks:
            t.start()
        for t in clicks:
            t.join()
        wait_for_card_text(emulator, SALES, card.ts, "Executed")
        trail = SqlAuditLog(engine).trail(pid)
        assert [e.to_status for e in trail if e.kind == "proposal.transition"].count("executed") == 1
        deal = crm.get("deal", ids["deal"])
        assert deal is not None and deal.stage == "negotiation" and deal.version == 2
        emulator.wait_for(lambda e: any("already" in x.text for u in ("U01ALICE",) for x in e.ephemerals(u)),
                          20, what="the losing clicker told who won")
        updates = [c for c in emulator.calls("chat.update") if c.args.get("ts") == card.ts]
        assert updates and all("Executed" in json.dumps(c.args.get("blocks"), ensure_ascii=False) for c in updates)
    finally:
        for replica in replicas:
            replica.stop()
        emulator.http_target = f"{http_stack.bot.url}/slack/events"
        engine.dispose()
