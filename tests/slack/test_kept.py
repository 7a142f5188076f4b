"""Nothing lost: a turn the model could not serve, or an answer Slack would not take, is kept on
the dead-letter list and finished by a retry in its thread; the person is never shown the
operator's reason."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy import Engine

from bot.agent.model import ModelError
from bot.agent.scripted import ScriptedModel, reply
from bot.slack.door import ASKER_KEY
from bot.slack.listeners import events
from bot.slack.redo import Redo
from bot.store.dead_letters import SqlDeadLetters
from bot.store.requests import SqlRequests
from bot.wiring import build_slack_deps
from tests.slack.fakes import BOT_USER_ID, FakeSlack, NoDigests
from tests.world import PLANTED, leaked, make_world, settings_for

REASON = "the model server cannot be reached (check OPENAI_BASE_URL)"
LATER = datetime.now(timezone.utc) + timedelta(hours=2)  # past any retry time


class RefusingSlack(FakeSlack):
    """FakeSlack whose posts and updates, other than the status line, fail (HTTP 503) while `down` is set."""

    down = False

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        status_line = "Working on it" in json.dumps(kwargs.get("json") or {}, ensure_ascii=False)
        answering = ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream")
        if self.down and api_method in answering and not status_line:
            response = AsyncSlackResponse(client=self, http_verb="POST", api_url=api_method, req_args={},
                                          data={"ok": False, "error": "service_unavailable"}, headers={},
                                          status_code=503)
            raise SlackApiError("Slack is down", response)
        return await super().api_call(api_method, **kwargs)


def posted_text(slack: FakeSlack) -> str:
    """Everything the bot said: posted, edited in, or streamed (the answer under a task timeline)."""
    methods = ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream")
    return json.dumps([args for method in methods for args in slack.made(method)], ensure_ascii=False)


def scenario(engine: Engine, tmp_path: Path, steps: list[Any], *, auto_retry: bool = True,
             slack: FakeSlack | None = None, slack_down_first: bool = False) -> tuple[FakeSlack, Any, Any]:
    model = ScriptedModel(steps)
    settings = settings_for(tmp_path, dead_letters__auto_retry=str(auto_retry).lower())
    world = make_world(engine, tmp_path, model, settings=settings)
    slack = slack or FakeSlack()

    async def run() -> Any:
        deps = build_slack_deps(settings, world.services, slack, bot_user_id=BOT_USER_ID,
                                digests=NoDigests())  # type: ignore[arg-type]
        event = {"type": "app_mention", "channel": "C0SALES", "user": "U02BOB", "ts": "5.0",
                 "text": f"<@{BOT_USER_ID}> what do we know about {PLANTED['name']}?"}
        if isinstance(slack, RefusingSlack):
            slack.down = slack_down_first
        asker = await deps.access.admit("U02BOB")  # as the door would have admitted them
        await events.on_mention(event=event, body={"event_id": "Ev1"}, context={"deps": deps, ASKER_KEY: asker})
        await deps.runner.drain(30)
        before = posted_text(slack)
        if isinstance(slack, RefusingSlack):
            slack.down = False
        redo = Redo(deps, SqlDeadLetters(engine), world.services.breakers, instance="test", clock=lambda: LATER)
        finished = await redo.sweep()
        return before, finished

    before, finished = asyncio.run(run())
    model.assert_done()
    return slack, before, finished


def test_a_turn_the_model_could_not_serve_is_kept_masked_and_retried_in_its_thread(
        sqlite_engine: Engine, tmp_path: Path) -> None:
    slack, before, finished = scenario(sqlite_engine, tmp_path, [ModelError(REASON), reply("Zoë leads support.")])
    assert "your request was not lost: it is saved and will be retried" in before
    assert "OPENAI" not in before and "cannot be reached" not in before  # the operator's reason is not shown
    assert finished == 1
    answers = [c for c in slack.made("chat.postMessage") + slack.made("chat.update")
               if "Zoë leads support" in json.dumps(c, ensure_ascii=False)]
    assert answers and all(c.get("channel") == "C0SALES" for c in answers)
    assert slack.made("chat.postMessage")[-1].get("thread_ts") == "5.0"  # in the original thread
    letters = SqlDeadLetters(sqlite_engine).list(statuses=("done",))
    assert [(x.kind, x.ref, x.attempts, x.reason) for x in letters] == [("turn", "C0SALES:5.0", 1, REASON)]
    assert not leaked(json.dumps(letters[0].payload, ensure_ascii=False))  # masked, as the history keeps it
    assert "<PERSON_1>" in letters[0].payload["text"]
    assert SqlRequests(sqlite_engine).get("C0SALES:5.0").status == "answered"  # type: ignore[union-attr]


def test_without_automatic_retries_the_turn_is_listed_as_failed(sqlite_engine: Engine, tmp_path: Path) -> None:
    slack, before, finished = scenario(sqlite_engine, tmp_path, [ModelError(REASON)], auto_retry=False)
    assert "it is listed as failed" in before and finished == 0
    (letter,) = SqlDeadLetters(sqlite_engine).list()
    assert (letter.kind, letter.status, letter.user, letter.channel) == ("turn", "failed", "U02BOB", "C0SALES")
    request = SqlRequests(sqlite_engine).get("C0SALES:5.0")
    assert request is not None and request.status == "failed" and "OPENAI" not in (request.error or "")


def test_an_answer_slack_would_not_take_is_kept_and_posted_by_the_retry(sqlite_engine: Engine,
                                                                          tmp_path: Path) -> None:
    slack, before, finished = scenario(sqlite_engine, tmp_path, [reply("<PERSON_1> leads support.")],
                                       slack=RefusingSlack(), slack_down_first=True)
    assert "leads support" not in before and finished == 1  # the model was not asked again
    assert f"{PLANTED['name']} leads support" in posted_text(slack)  # unmasked from the vault
    (letter,) = SqlDeadLetters(sqlite_engine).list(statuses=("done",))
    assert letter.kind == "answer" and "service_unavailable" not in json.dumps(letter.payload)
    assert not leaked(json.dumps(letter.payload, ensure_ascii=False))


@pytest.mark.parametrize("open_breaker", ["model", "crm"])
def test_no_turn_is_retried_while_a_breaker_is_open(sqlite_engine: Engine, tmp_path: Path, open_breaker: str) -> None:
    model = ScriptedModel([ModelError(REASON)])
    settings = settings_for(tmp_path)
    world = make_world(sqlite_engine, tmp_path, model, settings=settings)
    slack = FakeSlack()

    async def run() -> int:
        deps = build_slack_deps(settings, world.services, slack, bot_user_id=BOT_USER_ID,
                                digests=NoDigests())  # type: ignore[arg-type]
        event = {"type": "app_mention", "channel": "C0SALES", "user": "U02BOB", "ts": "5.0", "text": "hello"}
        await events.on_mention(event=event, body={"event_id": "Ev1"}, context={"deps": deps})
        await deps.runner.drain(30)
        breaker = getattr(world.services.breakers, open_breaker)
        for _ in range(settings.breaker.failures):
            breaker.failure("HTTP 503")
        return await Redo(deps, SqlDeadLetters(sqlite_engine), world.services.breakers, instance="t",
                          clock=lambda: LATER).sweep()

    assert asyncio.run(run()) == 0
    model.assert_done()  # no second model call
    (letter,) = SqlDeadLetters(sqlite_engine).list()
    assert (letter.status, letter.attempts) == ("queued", 0)


def test_a_turn_that_made_proposals_before_the_model_failed_is_listed_not_retried(
        sqlite_engine: Engine, tmp_path: Path) -> None:
    from bot.agent.scripted import call

    task = {"subject": "Call back about the renewal", "due_date": "2026-12-20", "company_id": 2}  # Globex: unowned
    slack, before, finished = scenario(sqlite_engine, tmp_path, [call(("create_task", task)), ModelError(REASON)],
                                       slack=FakeSlack({"C0SALES": ["U02BOB"]}))
    assert "it is listed as failed" in before and finished == 0  # a rerun could propose the change twice
    (letter,) = SqlDeadLetters(sqlite_engine).list()
    assert letter.status == "failed" and "after making proposals" in letter.reason


def test_a_retry_that_does_not_finish_and_records_nothing_is_listed_as_failed_not_retried_forever(
        sqlite_engine: Engine) -> None:
    """A digest removed since it failed: run_now answers "unknown" and keeps nothing. Left
    "retrying", the item would be requeued as stuck and posted again and again."""
    from types import SimpleNamespace

    from bot.breaker import Breakers
    from bot.config import Settings
    from bot.digests.service import RunOutcome

    letters = SqlDeadLetters(sqlite_engine)
    letters.record("digest", "weekly@2026-11-21T09:00:00+00:00", reason="HTTP 500",
                   payload={"digest": "weekly"}, retry_at=LATER - timedelta(hours=1))
    runs: list[str] = []

    class Digests:
        async def run_now(self, name: str) -> RunOutcome:
            runs.append(name)
            return RunOutcome(name, None, "unknown", f'no digest named "{name}"')

    deps = SimpleNamespace(settings=Settings(), digests=Digests())
    for later in (LATER, LATER + timedelta(days=1)):  # the second sweep: long past any stuck claim
        asyncio.run(Redo(deps, letters, Breakers(threshold=5, cooldown=30), instance="t",  # type: ignore[arg-type]
                         clock=lambda later=later: later).sweep())
    assert runs == ["weekly"]
    (letter,) = letters.list()
    assert (letter.status, letter.attempts) == ("failed", 1) and letter.reason == "retried, not finished: HTTP 500"


def test_the_kept_reason_names_the_error_never_its_text(sqlite_engine: Engine) -> None:
    """The attack: an exception whose text quotes the question's personal data. The reason is stored
    unmasked and shown by `/crm failed`: it keeps the exception's type (and Slack's error code)."""
    from types import SimpleNamespace

    from bot.config import DeadLettersSection
    from bot.slack.kept import Kept

    class Masking:
        def mask_user_text(self, vault: Any, text: str) -> str:
            return "<masked>"

    letters = SqlDeadLetters(sqlite_engine)
    kept = Kept(letters, DeadLettersSection(auto_retry=False), Masking(), lambda cid: None,  # type: ignore[arg-type]
                lambda: LATER)
    request = SimpleNamespace(key="C0SALES:5.0", kind="mention", user="U02BOB", channel="C0SALES",
                              text=f"mail {PLANTED['name']}", conversation_id="C0SALES:5.0", thread_ts="5.0")
    asyncio.run(kept.after_error(request, ValueError(f"no contact {PLANTED['name']} <henry@example.com>"), None))
    refused = SlackApiError(f"{PLANTED['name']}", AsyncSlackResponse(
        client=None, http_verb="POST", api_url="chat.postMessage", req_args={},  # type: ignore[arg-type]
        data={"ok": False, "error": "service_unavailable"}, headers={}, status_code=503))
    answered = SimpleNamespace(unavailable=False, masked_answer="<PERSON_1> leads support.", citations=())
    request.key = "C0SALES:6.0"
    asyncio.run(kept.after_error(request, refused, answered))
    reasons = sorted(x.reason for x in letters.list())
    assert reasons == ["internal error (ValueError)", "posting the answer failed (SlackApiError: service_unavailable)"]
