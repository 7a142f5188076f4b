"""HTTP mode: signed requests only, the same flows as Socket Mode, and two replicas on PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
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
from tests.world import PLANTED

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


def test_readiness_on_the_slack_port_and_metrics_only_on_the_ops_port(http_stack: Stack) -> None:
    with urllib.request.urlopen(f"{http_stack.bot.url}/readyz", timeout=5) as response:
        assert json.loads(response.read()) == {"ready": True, "checks": {"database": "ok", "schema": "ok", "model breaker": "ok"}}
    with urllib.request.urlopen(f"{http_stack.bot.ops_url}/metrics", timeout=5) as response:
        assert b"crm_copilot_requests_total" in response.read()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{http_stack.bot.url}/metrics", timeout=5)
    assert refused.value.code in (404, 405)


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


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_refused_requests_put_nothing_of_theirs_in_the_log(http_stack: Stack) -> None:
    url, log = f"{http_stack.bot.url}/slack/events", http_stack.bot.log_path
    before = log.stat().st_size
    forged = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
    personal = f"{PLANTED['name']} <{PLANTED['email']}> {PLANTED['phone']} "
    text = ('{"type": "event_callback", "event": {"text": "' + personal * 30_000).encode()[:1024 * 1024 - 3]
    mebibyte = text.decode(errors="ignore").encode().ljust(1024 * 1024 - 3) + b'"}}'
    assert len(mebibyte) == 1024 * 1024  # the largest body accepted
    for i in range(20):  # unsigned, then with a forged signature
        assert post(url, mebibyte, forged if i % 2 else {"Content-Type": "application/json"}) == 401
    stale = http_stack.emulator.user_message("U02BOB", SALES, f"<@UBOT> e-mail {personal}", timestamp_offset=-600)
    assert {d.http_status for d in stale.deliveries} == {401}
    malformed = [(b'{"type": "event_callback", "event": {', {"Content-Type": "application/json"}),
                 (b"payload=%7B%22type%22%3A", {"Content-Type": "application/x-www-form-urlencoded"}),
                 (b"\xff\xfe\x00garbage", {**forged, "Content-Type": "application/json"}),
                 (b"[1, 2", {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=nope"}),
                 (b"", {})]
    assert [post(url, body, headers) for body, headers in malformed] == [401] * len(malformed)
    assert post(url, b"x" * (1024 * 1024 + 1), {}) == 413
    signed_garbage, now = b'{"type": "event_callback", "event": ', str(int(time.time()))
    signature = hmac.new(http_stack.emulator.config.signing_secret.encode(), f"v0:{now}:".encode() + signed_garbage,
                         hashlib.sha256).hexdigest()
    assert post(url, signed_garbage, {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": f"v0={signature}",
                                      "Content-Type": "application/json"}) == 400  # signed, yet unreadable
    with urllib.request.urlopen(f"{http_stack.bot.url}/healthz", timeout=5) as response:
        assert response.status == 200
    grown = log.read_bytes()[before:]
    assert len(grown) < 4096, grown[:4096]
    written = grown.decode("utf-8", errors="replace")
    for value in (PLANTED["name"], PLANTED["first"], PLANTED["last"], PLANTED["email"], PLANTED["phone"],
                  "event_callback", "Traceback", "v0=000", "X-Slack"):
        assert value not in written, value
    assert "refused" in log.read_text(encoding="utf-8", errors="replace")  # counted, at most once a minute


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
