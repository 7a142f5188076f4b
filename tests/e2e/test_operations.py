"""What an operator sees of the real bot process in Socket Mode: /healthz, /readyz and /metrics on the
ops port, and JSON log lines for each request, refusal and proposal step, none with a message text."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack.blocks.cards import APPROVE
from slack_emulator import EmulatorThread, User
from slack_emulator.config import DEFAULT_USERS
from tests.e2e.cards import proposal_id, text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import Script
from tests.fakes.model_server import error, text, tool_calls

SALES = "C0SALES"
GUEST = User("U10GUEST", "gwen", "Gwen Guest", "gwen@example.com", is_restricted=True)
SECRET_WORDS = "ZebraQuestion"  # in the messages; must be in no log line


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(users=(*DEFAULT_USERS, GUEST)) as emu:
        yield emu


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    started = start_stack(tmp_path_factory.mktemp("ops"), emulator, script, socket_mode=True,
                          extra_env={"BOT_BOT__LOG_FORMAT": "json",
                                     "BOT_APPROVALS__GROUPS__SALES": '["U01ALICE", "U02BOB"]'})
    yield started
    assert started.bot.stop() == 0, started.bot.output()
    started.engine.dispose()


def get(stack: Stack, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(stack.bot.ops_url + path, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(stack: Stack, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    _, body = get(stack, "/metrics")
    found = re.search(rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if labels else ''} (\S+)$", body, re.M)
    return float(found.group(1)) if found else 0.0


def events(stack: Stack) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stack.bot.output().splitlines() if line.startswith("{")]
    return [line for line in lines if "event" in line]


def test_health_and_readiness_on_the_ops_port(stack: Stack) -> None:
    status, body = get(stack, "/healthz")
    assert status == 200 and json.loads(body)["mode"] == "socket"
    status, body = get(stack, "/readyz")
    assert status == 200, body
    assert json.loads(body) == {"ready": True, "checks": {"database": "ok", "schema": "ok", "model breaker": "ok",
                                                          "slack": "ok"}}


def test_a_turn_a_refusal_and_a_decision_are_logged_and_counted(stack: Stack) -> None:
    stack.script.load(tool_calls(("create_task", {"subject": "Call back", "company_id": stack.ids["acme"],
                                                  "due_date": "2026-12-01"})), text("Proposed."))
    root = stack.emulator.user_message("U02BOB", SALES, f"<@UBOT> {SECRET_WORDS}: remind me to call back")
    (card,) = wait_for_cards(stack.emulator, SALES, root.ts)
    pid = proposal_id(card)
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card.ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, SALES, card.ts, "Executed")
    stack.emulator.user_message(GUEST.id, "C0GENERAL", f"<@UBOT> {SECRET_WORDS} from a guest")
    stack.emulator.wait_for(lambda e: metric(stack, "crm_copilot_requests_total", kind="mention",
                                             outcome="refused") == 1, 20, what="the refusal counted")
    stack.emulator.wait_for(lambda e: any(x["event"] == "proposal.executed" for x in events(stack)), 20,
                            what="the execution logged")

    seen = {(x["event"], x.get("id") or x.get("user")): x for x in events(stack)}
    received = seen[("request.received", "U02BOB")]
    assert (received["kind"], received["channel"], received["conversation"]) == ("mention", SALES, f"slack:{SALES}:{root.ts}")
    assert seen[("proposal.created", pid)]["tool"] == "create_task" and seen[("proposal.created", pid)]["who"] == "U02BOB"
    assert seen[("proposal.decided", pid)]["outcome"] == "approved" and seen[("proposal.decided", pid)]["who"] == "U01ALICE"
    assert seen[("proposal.executed", pid)]["outcome"] == "executed"
    assert seen[("request.refused", GUEST.id)]["reason"] == "guest"
    assert SECRET_WORDS not in stack.bot.output()

    assert metric(stack, "crm_copilot_requests_total", kind="mention", outcome="answered") >= 1
    assert metric(stack, "crm_copilot_proposals_total", state="executed", risk="low") >= 1
    assert metric(stack, "crm_copilot_executions_total", outcome="executed") >= 1
    assert metric(stack, "crm_copilot_model_calls_total", outcome="ok") >= 2
    assert metric(stack, "crm_copilot_tool_calls_total", tool="create_task", outcome="ok") >= 1
    assert metric(stack, "crm_copilot_ack_seconds_count", kind="event") >= 2
    assert metric(stack, "crm_copilot_ack_seconds_count", kind="action") >= 1
    assert metric(stack, "crm_copilot_masking_seconds_count") >= 1


def test_a_failing_model_is_a_warning_per_change_and_each_turn_a_failed_line(stack: Stack) -> None:
    stack.script.load(error(500, "down"), error(500, "down"), text("Back again."))
    for n, expected in enumerate(("not available right now", "not available right now", "Back again.")):
        root = stack.emulator.user_message("U02BOB", SALES, f"<@UBOT> try {n}")
        stack.emulator.wait_for(lambda e, ts=root.ts, x=expected: any(x in text_of(m) for m in
                                                                      e.messages(SALES, thread_ts=ts)), 20,
                                what=f"answer {n}")
    lines = [json.loads(line) for line in stack.bot.output().splitlines() if line.startswith("{")]
    model = [(x["level"], x["message"].split()[0]) for x in lines if x["logger"] == "bot.model"]
    assert model == [("WARNING", "model.error"), ("INFO", "model.recovered")]
    failed = [x for x in lines if x.get("event") == "request.failed"]
    assert len(failed) == 2 and all(x["level"] == "WARNING" and "HTTP 500" in x["reason"] for x in failed)
    assert not any("HTTP Request" in x["message"] for x in lines)  # the client's request lines are DEBUG
