"""The agent through the real openai client against the scripted server on loopback; and the
canary: planted personal data never appears in any request the model server receives."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.agent.loop import Request
from bot.agent.model import Message, ModelError, ToolCall, Usage
from bot.agent.openai_model import POOLS, OpenAIModel, _reply
from bot.cli import main
from bot.config import ModelSection
from bot.store import schema
from bot.store.engine import make_engine
from tests.fakes.model_server import ScriptedModelServer, delay, error, garbage, raw_tool_call, text, tool_calls
from tests.world import PLANTED, World, leaked, make_world, seed

TOOL_NAMES = {
    "search_contacts", "get_contact", "search_companies", "get_company", "list_deals", "get_deal", "list_activities",
    "list_tickets", "search_kb", "lead_score", "churn_risk", "update_contact", "update_company", "create_lead",
    "create_deal", "update_deal", "log_activity", "create_task", "create_ticket", "send_email",
}


def world_for(engine: Engine, tmp_path: Path, server: ScriptedModelServer, **model: Any) -> World:
    section = ModelSection(**{"max_retries": 0, "timeout_seconds": 5, **model})
    return make_world(engine, tmp_path, OpenAIModel(section, api_key="test-key", base_url=server.base_url))


def ask(world: World, question: str, conversation: str = "C1/1.0", user: str = "U02BOB") -> Any:
    return asyncio.run(world.services.agent.run(Request(conversation, user, question, channel="C1")))


def tool_message(body: dict[str, Any]) -> dict[str, Any]:
    return json.loads([m for m in body["messages"] if m["role"] == "tool"][-1]["content"])


def test_tool_calls_round_trip_through_the_real_client(sqlite_engine: Engine, tmp_path: Path) -> None:
    with ScriptedModelServer([
        tool_calls(("search_contacts", {"text": "<PERSON_1>"})),
        lambda body: text(f"Found {tool_message(body)['result'][0]['title']}."),
    ]) as server:
        result = ask(world_for(sqlite_engine, tmp_path, server), f"Find {PLANTED['name']}")
    server.assert_done()
    first = server.requests[0]
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.headers["content-type"] == "application/json"
    assert set(first.body) == {"model", "messages", "tools", "temperature", "max_tokens"}
    assert {t["function"]["name"] for t in first.body["tools"]} == TOOL_NAMES
    assert all(t["type"] == "function" for t in first.body["tools"])
    second = server.requests[1].body["messages"]
    assert second[-2]["tool_calls"][0]["function"]["arguments"] == '{"text": "<PERSON_1>"}'
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == second[-2]["tool_calls"][0]["id"]
    assert result.answer == f"Found {PLANTED['name']}."
    assert result.usage.prompt_tokens > 0 and result.steps == 2


def test_a_429_is_retried_after_retry_after(sqlite_engine: Engine, tmp_path: Path) -> None:
    with ScriptedModelServer([error(429, "slow down", retry_after=0.01), text("fine")]) as server:
        result = ask(world_for(sqlite_engine, tmp_path, server, max_retries=2), "Hello")
    server.assert_done()
    assert result.answer == "fine"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1"]


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (error(500, "boom"), "the model server answered with an error (HTTP 500)"),
        (error(401, "bad key"), "the model server refused the API key (check OPENAI_API_KEY)"),
        (error(429, "quota"), "the model server is rate limiting requests; try again in a minute"),
        (delay(3, text("late")), "the model server did not answer in time"),
        (garbage(), "the model server sent a reply that is not a chat completion"),
    ],
)
def test_model_failures_become_a_clear_error(sqlite_engine: Engine, tmp_path: Path, step: Any, message: str) -> None:
    # The time limit leaves a loaded machine room for the quick failures; the slow step outlasts it.
    with ScriptedModelServer([step]) as server:
        result = ask(world_for(sqlite_engine, tmp_path, server, timeout_seconds=2), "Hello")
    # The operator's reason is kept; the person is told only that the assistant is unavailable.
    assert result.error == message and result.unavailable
    assert result.answer == "The assistant is not available right now; your request was not lost."


def test_malformed_arguments_from_the_server_go_back_as_an_error(sqlite_engine: Engine, tmp_path: Path) -> None:
    with ScriptedModelServer([
        raw_tool_call("get_deal", '{"deal_id": '),
        lambda body: text(tool_message(body)["error"]),
    ]) as server:
        result = ask(world_for(sqlite_engine, tmp_path, server), "Show deal 1")
    server.assert_done()
    assert "not valid JSON" in result.answer


def test_canary_planted_values_never_reach_the_model_server(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Every path to the model: user text, history, CRM records and notes, KB snippets, proposal
    summaries, tool errors; through the real client, as the server received it."""
    with ScriptedModelServer([
        # 1: user text with PII, read tools returning records, notes, tickets and KB passages
        tool_calls(("search_contacts", {"text": "<PERSON_1>"}), ("get_company", {"company_id": 1}),
                   ("get_contact", {"contact_id": 1}), ("search_kb", {"query": "refund"}),
                   ("list_tickets", {"company_id": 2}), ("list_activities", {"company_id": 1})),
        # 2: writes whose summaries and diffs hold real values
        lambda body: tool_calls(("update_contact", {"contact_id": 1, "phone": "+44 20 7946 0999"}),
                                ("send_email", {"to": "<EMAIL_ADDRESS_1>", "subject": "Hi <PERSON_1>", "body": "x"}),
                                ("update_contact", {"contact_id": 1, "email": "<EMAIL_ADDRESS_9>"})),
        text("Done: <PERSON_1>, <EMAIL_ADDRESS_1>."),
        # a follow-up in the same thread replays the history
        lambda body: text("History has " + str(len(body["messages"])) + " messages"),
    ]) as server:
        world = world_for(sqlite_engine, tmp_path, server)

        async def thread() -> Any:  # one event loop, as in the running bot
            agent = world.services.agent
            first = await agent.run(Request("C1/1.0", "U02BOB", (
                f"Email {PLANTED['name']} at {PLANTED['email']}, phone {PLANTED['phone']}, card {PLANTED['card']}, "
                f"IBAN {PLANTED['iban']}; and what about {PLANTED['other_name']}?")))
            await agent.run(Request("C1/1.0", "U02BOB", f"Is {PLANTED['first']} {PLANTED['last']} the right person?"))
            return first

        first = asyncio.run(thread())
    server.assert_done()
    assert first.answer == f"Done: {PLANTED['name']}, {PLANTED['email']}."
    assert len(first.proposals) == 2
    # Raw bodies may escape non-ASCII letters; the decoded bodies may not: check both.
    assert leaked("\n".join(r.raw for r in server.requests)) == [], "personal data reached the model server"
    assert leaked(json.dumps([r.body for r in server.requests], ensure_ascii=False)) == []


def test_canary_through_the_ask_command(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(sqlite_url)
    schema.upgrade(engine)
    from adapters.crm.local.adapter import LocalCrm

    seed(LocalCrm(engine))
    with ScriptedModelServer([
        tool_calls(("get_contact", {"contact_id": 1})),
        lambda body: text("Phone: " + tool_message(body)["result"]["contact"]["phone"]),
    ]) as server:
        for name, value in {"DATABASE_URL": sqlite_url, "OPENAI_BASE_URL": server.base_url,
                            "BOT_KB__PATH": str(tmp_path)}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        code = main(["ask", f"What is {PLANTED['name']}'s phone?", "--user", "U02BOB"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith(f"Phone: {PLANTED['phone']}\n")
    assert leaked(json.dumps([r.body for r in server.requests], ensure_ascii=False)) == []


def test_concurrent_calls_are_spread_over_connection_pools_and_single_calls_reuse_one() -> None:
    # One pool walks all its connections on every request and release: under load the calls are
    # spread over POOLS clients; one call at a time always uses the first (and its kept-alive
    # connection, so no new handshake per call).
    used: list[int] = []
    with ScriptedModelServer(responder=lambda body: text("ok")) as server:
        model = OpenAIModel(ModelSection(max_retries=0), api_key="k", base_url=server.base_url)

        async def calls() -> None:
            with model._client():
                pass  # creates this loop's clients
            for index, client in enumerate(model._clients[asyncio.get_running_loop()].clients):
                async def post(*args: Any, _index: int = index, _post: Any = client.post, **kwargs: Any) -> Any:
                    used.append(_index)
                    return await _post(*args, **kwargs)
                client.post = post  # type: ignore[method-assign]
            for _ in range(3):
                assert (await model.complete([Message("user", "one at a time")], [])).content == "ok"
            replies = await asyncio.gather(*(model.complete([Message("user", "at once")], []) for _ in range(2 * POOLS)))
            assert {r.content for r in replies} == {"ok"}
            await model.aclose()

        asyncio.run(calls())
    server.assert_done()
    assert used[:3] == [0, 0, 0]
    assert sorted(used[3:]) == sorted(list(range(POOLS)) * 2)
    assert len({r.peer_port for r in server.requests[:3]}) == 1


def test_the_request_body_is_the_json_of_the_call_with_the_tools_encoded_once_per_list(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.agent import openai_model

    encoded: list[Any] = []
    real = openai_model._json
    monkeypatch.setattr(openai_model, "_json", lambda value: encoded.append(value) or real(value))
    section = ModelSection(name="m", temperature=0.5, max_output_tokens=99)
    model = OpenAIModel(section, api_key="k", base_url="http://127.0.0.1:9/v1")
    first = [{"type": "function", "function": {"name": "a", "description": "é", "parameters": {"type": "object"}}}]
    second = [{"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}}]
    for tools in (first, first, second, [], first):
        body = json.loads(model._body([Message("system", "s"), Message("user", "Zoë?")], tools))
        assert body == {"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "Zoë?"}],
                        "temperature": 0.5, "max_tokens": 99, **({"tools": tools} if tools else {})}
    # Five bodies; tool lists encoded when the list changed (first, second, first again), not per call.
    assert [v for v in encoded if isinstance(v, list)] == [first, second, first]


def _completion(message: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"id": "c1", "object": "chat.completion", "model": "gpt-x",
                       "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 7, "completion_tokens": 3}, **extra}).encode()


def test_a_completion_is_read_field_by_field() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "get_deal", "arguments": '{"deal_id": 1}'}}
    reply = _reply(_completion({"role": "assistant", "content": None, "tool_calls": [call, {"type": "other"}]}), "asked")
    assert reply.tool_calls == (ToolCall("call_1", "get_deal", '{"deal_id": 1}'),)
    assert (reply.content, reply.usage, reply.model) == (None, Usage(7, 3), "gpt-x")
    bare = _reply(json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode(), "asked")
    assert (bare.content, bare.usage, bare.model, bare.tool_calls) == ("hi", Usage(), "asked", ())


@pytest.mark.parametrize("raw", [
    b"not json", b"[]", b"{}", json.dumps({"choices": [{}]}).encode(),
    _completion({"content": ["a", "list"]}),
    _completion({"content": None, "tool_calls": [{"function": {"name": 3}}]}),
    _completion({"content": None, "tool_calls": [{"function": {"arguments": "{}"}}]}),
])
def test_a_reply_that_is_not_a_chat_completion_is_a_model_error(raw: bytes) -> None:
    with pytest.raises(ModelError, match="not a chat completion"):
        _reply(raw, "asked")


def test_an_empty_choice_list_is_an_empty_reply() -> None:
    with pytest.raises(ModelError, match="empty reply"):
        _reply(json.dumps({"choices": []}).encode(), "asked")
