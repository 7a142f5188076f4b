"""`/crm failed` and the App Home count: the dead-letter list for people with the audit right only."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from bot.access.people import FixedUsers, People
from bot.access.service import Access
from bot.config import load_settings
from bot.slack.door import ASKER_KEY
from bot.slack.listeners import commands
from bot.store.dead_letters import SqlDeadLetters
from tests.slack.fakes import ROOT, Calls, make_bench

AUDITOR, REP = "U06AUDIT", "U02BOB"


def bench_with_letters(engine: Engine) -> tuple[Any, SqlDeadLetters]:
    bench = make_bench()
    settings = load_settings(ROOT / "app.toml", env={"BOT_ACCESS__MEMBERS__AUDITOR": f'["{AUDITOR}"]'})
    access = Access(People(FixedUsers(unknown_is_member=True), list, groups=settings.groups), settings.access)
    letters = SqlDeadLetters(engine)
    bench.deps = replace(bench.deps, settings=settings, access=access, letters=letters)
    return bench, letters


def crm_failed(bench: Any, user: str, text: str = "failed") -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        respond = Calls()
        asker = await bench.deps.access.admit(user)
        command = {"command": "/crm", "text": text, "user_id": user, "channel_id": "C0SALES", "trigger_id": "t1"}
        await commands.on_crm(ack=Calls(), command=command, respond=respond,
                              context={**bench.context, ASKER_KEY: asker})
        await bench.runner.run_all()
        return respond.calls

    return asyncio.run(go())


def test_only_auditors_see_the_failed_list_and_may_queue_a_retry(sqlite_engine: Engine) -> None:
    bench, letters = bench_with_letters(sqlite_engine)
    item = letters.record("turn", "C0SALES:5.0", reason="the model server answered with an error (HTTP 503)",
                          payload={"text": "about <PERSON_1>"}, user=REP, channel="C0SALES")
    [refused] = crm_failed(bench, REP)
    assert refused["text"] == "Only people who may read audit trails see the failed list."
    [listed] = crm_failed(bench, AUDITOR)
    shown = json.dumps(listed["blocks"], ensure_ascii=False)
    assert listed["text"] == "1 item could not be finished:" and "HTTP 503" in shown and f"*{item}* · question" in shown
    assert "<PERSON_1>" not in shown  # what was asked is not listed, only why it failed
    [queued] = crm_failed(bench, AUDITOR, f"failed retry {item}")
    assert "will be retried" in queued["text"] and letters.get(item).status == "queued"  # type: ignore[union-attr]
    [unknown] = crm_failed(bench, AUDITOR, "failed retry 999")
    assert "no failed item 999" in unknown["text"]


def test_the_app_home_of_an_auditor_counts_the_failed_items(sqlite_engine: Engine) -> None:
    bench, letters = bench_with_letters(sqlite_engine)
    letters.record("digest", "morning@1", reason="Slack refused the digest (500)", payload={})
    letters.record("turn", "C0SALES:5.0", reason="HTTP 503", payload={})
    for user, expected in ((AUDITOR, "2 requests could not be finished"), (REP, None)):
        asyncio.run(bench.deps.publish_home(user))
        view = json.dumps(bench.slack.made("views.publish")[-1]["view"], ensure_ascii=False)
        assert (expected in view) if expected else "could not be finished" not in view


def test_an_approval_the_database_could_not_record_is_answered_not_lost_silently() -> None:
    from sqlalchemy.exc import OperationalError

    from bot.slack.decisions import CLICK_AGAIN, CardDecisions

    class Down:
        def get(self, proposal_id: str) -> None:
            raise OperationalError("SELECT", {}, ConnectionError("server closed the connection"))

    bench = make_bench()
    decisions = CardDecisions(Down(), bench.deps.poster, bench.deps.members, bench.deps.links,  # type: ignore[arg-type]
                              bench.deps.access)
    respond = Calls()
    decision = asyncio.run(decisions.approve("p1", "U01ALICE", respond))
    assert decision.outcome == "failed"
    assert respond.calls == [{"replace_original": False, "response_type": "ephemeral", "text": CLICK_AGAIN}]
