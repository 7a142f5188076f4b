"""Attacks through the feedback buttons and the "Not helpful" comment modal: a button value naming
an answer that does not exist records nothing and opens no modal; a comment carrying `<!channel>`,
a link and personal data is never shown back in Slack and is kept only masked."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.agent.scripted import ScriptedModel
from bot.privacy.vault import Vault
from bot.slack.blocks import feedback
from bot.slack.listeners.feedback import on_feedback, on_feedback_comment
from bot.slack.ratings import Ratings
from bot.store.feedback import SqlFeedback
from bot.store.requests import SqlRequests
from bot.store.vault_store import SqlVaultStore
from tests.slack.fakes import Bench, Calls, make_bench
from tests.world import PLANTED, World, make_world

KEY = "C0SALES:5.0"


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    return make_world(sqlite_engine, tmp_path, ScriptedModel([]))


@pytest.fixture
def bench(world: World) -> Bench:
    requests = SqlRequests(world.engine)
    requests.claim(KEY, kind="mention", user="U02BOB", channel="C0SALES", conversation_id="slack:C0SALES:5.0")
    requests.finish(KEY, status="answered")
    store = SqlVaultStore(world.engine)
    ratings = Ratings(feedback=SqlFeedback(world.engine), requests=requests, audit=world.services.audit,
                      gateway=world.services.gateway, vaults=lambda cid: Vault(cid, store))
    bench = make_bench()
    return dataclasses.replace(bench, deps=dataclasses.replace(bench.deps, ratings=ratings))


def _click(bench: Bench, value: str, user: str = "U09EVE") -> None:
    body = {"user": {"id": user}, "trigger_id": "1.2.3",
            "actions": [{"action_id": feedback.FEEDBACK, "type": "feedback_buttons", "value": value}]}
    asyncio.run(on_feedback(ack=Calls(), body=body, client=bench.slack, context=bench.context))


def _stored(world: World) -> str:
    with world.engine.connect() as conn:
        rows = [*conn.execute(text("SELECT * FROM answer_feedback")), *conn.execute(text("SELECT * FROM audit_event"))]
    return json.dumps([list(map(str, r)) for r in rows], ensure_ascii=False)


@pytest.mark.parametrize("forged", ["down C0SALES:6.0", "down C0OTHER:5.0", "down ../../etc", "down " + KEY + " "])
def test_a_rating_of_an_answer_that_does_not_exist_records_nothing(world: World, bench: Bench, forged: str) -> None:
    _click(bench, forged)
    assert bench.slack.made("views.open") == []
    assert "U09EVE" not in _stored(world)


def test_a_comment_with_a_broadcast_a_link_and_personal_data_is_kept_masked_and_never_shown(world: World,
                                                                                              bench: Bench) -> None:
    _click(bench, f"down {KEY}", user="U02BOB")
    [opened] = bench.slack.made("views.open")
    view = opened["view"] if isinstance(opened["view"], dict) else json.loads(opened["view"])
    comment = f"<!channel> wrong, see <https://evil.example/x|here>; write to {PLANTED['email']}"
    view["state"] = {"values": {feedback.COMMENT: {"value": {"type": "plain_text_input", "value": comment}}}}
    calls_before = len(bench.slack.calls)
    ack = Calls()
    asyncio.run(on_feedback_comment(ack=ack, body={"user": {"id": "U02BOB"}}, view=view, context=bench.context))
    assert ack.calls == [{}]
    assert bench.slack.calls[calls_before:] == []  # nothing of it goes back to Slack, to anyone
    stored = _stored(world)
    assert "feedback.comment" in stored  # it was kept...
    assert PLANTED["email"] not in stored  # ...masked
