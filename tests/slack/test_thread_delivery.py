"""A thread's signs of work and its answer: native status and stream when the workspace takes
them, the status message when it refuses; a failing stream falls back to one answer, never two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.agent.loop import ToolEvent
from bot.slack.blocks import feedback, messages
from bot.slack.blocks.links import Links
from bot.slack.conversations import Surfaces, ThreadDestination
from bot.slack.listeners.feedback import on_feedback
from bot.slack.poster import Poster
from tests.slack.fakes import Calls, FakeSlack, make_bench

LINKS = Links.from_settings("", "", ())
ANSWER = messages.answer_of("Deal 7 is in *negotiation*.", ["deal:7"], LINKS, extra=feedback.footer("C1:5.0"))


class Refusing(FakeSlack):
    """A workspace that refuses some methods with an error."""

    def __init__(self, refused: dict[str, str]) -> None:
        super().__init__()
        self.refused = refused

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if api_method in self.refused:
            self.calls.append((api_method, {**(kwargs.get("json") or {}), **(kwargs.get("params") or {})}))
            return AsyncSlackResponse(client=self, http_verb="POST", api_url=api_method, req_args={},
                                      data={"ok": False, "error": self.refused[api_method]}, headers={},
                                      status_code=200).validate()
        return await super().api_call(api_method, **kwargs)


def deliver(slack: FakeSlack) -> None:
    async def run() -> None:
        destination = ThreadDestination(Poster(slack), None, "C1", "5.0", True,  # type: ignore[arg-type]
                                        surfaces=Surfaces(True, 60), recipient=("U1", "T1"))
        await destination.status("Working on it…")
        await destination.activity(ToolEvent("t1", "get_deal", "started", {"deal_id": 7}))
        await destination.activity(ToolEvent("t1", "get_deal", "finished", outcome="ok", found=1))
        await destination.reply(ANSWER)

    asyncio.run(run())


def methods(slack: FakeSlack) -> list[str]:
    return [name for name, _ in slack.calls]


def test_with_surfaces_the_answer_is_streamed_under_its_timeline() -> None:
    slack = FakeSlack()
    deliver(slack)
    assert methods(slack)[0] == "assistant.threads.setStatus"
    assert "chat.postMessage" not in methods(slack) and "chat.update" not in methods(slack)
    assert slack.streamed() == "Deal 7 is in **negotiation**."
    stop = slack.made("chat.stopStream")[-1]
    assert feedback.FEEDBACK in str(stop["blocks"]) and feedback.DISCLAIMER in str(stop["blocks"])
    assert slack.made("chat.startStream")[0]["recipient_user_id"] == "U1"


@pytest.mark.parametrize("failing", ["chat.startStream", "chat.stopStream"])
def test_a_stream_that_fails_falls_back_to_one_answer_on_the_streams_message(failing: str) -> None:
    slack = Refusing({failing: "message_not_in_streaming_state"})
    deliver(slack)
    updates, posts = slack.made("chat.update"), slack.made("chat.postMessage")
    assert len(updates) + len(posts) == 1  # one answer, never two
    sent = (updates or posts)[0]
    assert "negotiation" in str(sent["blocks"]) and feedback.FEEDBACK in str(sent["blocks"])


def test_a_workspace_that_refuses_the_status_gets_the_status_message_and_no_stream() -> None:
    slack = Refusing({"assistant.threads.setStatus": "missing_scope"})
    deliver(slack)
    assert methods(slack).count("assistant.threads.setStatus") == 1  # asked once, then given up
    assert not [m for m in methods(slack) if "Stream" in m]
    assert slack.made("chat.postMessage")[0]["text"] == "Working on it…"
    assert "negotiation" in str(slack.made("chat.update")[-1]["blocks"])  # the status message became the answer


def test_a_double_click_on_thumbs_down_opens_the_comment_modal_once() -> None:
    bench = make_bench()
    body = {"user": {"id": "U01ALICE"}, "trigger_id": "1.2.3",
            "actions": [{"action_id": feedback.FEEDBACK, "type": "feedback_buttons", "value": "down C1:5.0"}]}

    async def click() -> None:
        ack = Calls()
        await on_feedback(ack=ack, body=body, client=bench.slack, context=bench.context)
        assert ack.calls == [{}]

    asyncio.run(click())
    asyncio.run(click())
    assert bench.ratings.stored == {("C1:5.0", "U01ALICE"): "down"}
    assert len(bench.slack.made("views.open")) == 1


@pytest.mark.parametrize("value", ["sideways C1:5.0", "up", "", "up " + "x" * 300])
def test_a_button_value_that_is_not_ours_is_ignored(value: str) -> None:
    assert feedback.parse(value) is None
