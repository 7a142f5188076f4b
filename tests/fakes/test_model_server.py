"""The scripted model server, exercised with the real `openai` client."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import openai
import pytest

from tests.fakes.model_server import (
    ScriptedModelServer,
    delay,
    error,
    raw_tool_call,
    text,
    tool_calls,
)

MESSAGES = [{"role": "user", "content": "Who owns the Acme deal?"}]


def client(server: ScriptedModelServer, **options: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", **options)


def ask(server: ScriptedModelServer, **options: object):
    return client(server, **options).chat.completions.create(model="gpt-test", messages=MESSAGES)


def test_text_reply_parses_with_usage_and_records_the_request() -> None:
    with ScriptedModelServer([text("Bob owns it.")]) as server:
        completion = ask(server)
    server.assert_done()
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test"
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert choice.message.role == "assistant"
    assert choice.message.content == "Bob owns it."
    assert choice.message.tool_calls is None and choice.message.refusal is None
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer test"
    assert request.body["messages"] == MESSAGES
    assert "Acme deal" in request.raw


def test_tool_calls_parse_with_json_string_arguments() -> None:
    with ScriptedModelServer([tool_calls(("search_contacts", {"text": "Zoë"}), ("get_deal", {"deal_id": 3}))]) as server:
        completion = ask(server)
    server.assert_done()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert [call.type for call in calls] == ["function", "function"]
    assert all(call.id.startswith("call_") for call in calls) and calls[0].id != calls[1].id
    assert [call.function.name for call in calls] == ["search_contacts", "get_deal"]
    assert all(isinstance(call.function.arguments, str) for call in calls)
    assert [json.loads(call.function.arguments) for call in calls] == [{"text": "Zoë"}, {"deal_id": 3}]


def test_malformed_arguments_arrive_verbatim() -> None:
    with ScriptedModelServer([raw_tool_call("get_deal", '{"bad": ')]) as server:
        completion = ask(server)
    [call] = completion.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("get_deal", '{"bad": ')


def test_steps_can_be_functions_of_the_request() -> None:
    steps = [lambda body: text(f"{body['model']} saw {len(body['messages'])} message(s)"),
             lambda body: "plain strings are text replies"]
    with ScriptedModelServer(steps) as server:
        first, second = ask(server), ask(server)
    server.assert_done()
    assert first.choices[0].message.content == "gpt-test saw 1 message(s)"
    assert second.choices[0].message.content == "plain strings are text replies"


def test_rate_limit_with_retry_after_zero_is_retried_then_succeeds() -> None:
    with ScriptedModelServer([error(429, "Rate limit reached", retry_after=0), text("after the retry")]) as server:
        completion = ask(server)  # default max_retries=2
    server.assert_done()
    assert completion.choices[0].message.content == "after the retry"
    assert len(server.requests) == 2


def test_error_body_and_status_reach_the_client() -> None:
    with ScriptedModelServer([error(500, "The server had an error")]) as server:
        with pytest.raises(openai.InternalServerError) as raised:
            ask(server, max_retries=0)
    server.assert_done()
    assert raised.value.status_code == 500
    assert raised.value.body == {"message": "The server had an error", "type": "server_error",
                                 "param": None, "code": None}


def test_rate_limit_error_without_retries() -> None:
    with ScriptedModelServer([error(429, "Slow down", retry_after=7)]) as server:
        with pytest.raises(openai.RateLimitError) as raised:
            ask(server, max_retries=0)
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.code == "rate_limit_exceeded"


def test_a_delay_longer_than_the_client_timeout_times_out() -> None:
    with ScriptedModelServer([delay(5, text("too late"))]) as server:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            ask(server, max_retries=0, timeout=0.3)
        assert time.monotonic() - started < 2
    server.assert_done()


def test_a_call_beyond_the_script_fails_and_is_reported() -> None:
    with ScriptedModelServer([text("only one")]) as server:
        ask(server)
        with pytest.raises(openai.InternalServerError, match="unexpected call"):
            ask(server)  # not retried: the reply says x-should-retry: false
    assert len(server.requests) == 2
    with pytest.raises(AssertionError, match="unexpected call #2"):
        server.assert_done()


def test_unused_steps_are_reported() -> None:
    with ScriptedModelServer([text("one"), text("two")]) as server:
        ask(server)
    with pytest.raises(AssertionError, match="1 of 2 steps unused"):
        server.assert_done()


def test_streaming_is_refused_without_using_a_step() -> None:
    with ScriptedModelServer([text("one")]) as server:
        with pytest.raises(openai.BadRequestError, match="stream"):
            client(server).chat.completions.create(model="m", messages=MESSAGES, stream=True)
        ask(server)
    with pytest.raises(AssertionError, match="streaming requested"):
        server.assert_done()


def test_models_endpoint() -> None:
    with ScriptedModelServer([]) as server:
        models = client(server).models.list()
    server.assert_done()
    assert [model.id for model in models] == ["scripted"]


def test_concurrent_requests_overlap() -> None:
    async def run(server: ScriptedModelServer) -> list[str]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as aclient:
            completions = await asyncio.gather(*(
                aclient.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
                for i in range(20)))
        return [c.choices[0].message.content for c in completions]

    # Every reply waits until all 20 requests are in: served one after another, the first would
    # wait in vain, the barrier would break and the step would fail.
    everyone = threading.Barrier(20, timeout=10)

    def echo(body: dict) -> str:
        everyone.wait()
        return "echo " + body["messages"][-1]["content"]

    with ScriptedModelServer(responder=echo) as server:
        answers = asyncio.run(run(server))
    server.assert_done()
    assert sorted(answers) == sorted(f"echo {i}" for i in range(20))
    assert len(server.requests) == 20


def test_a_scripted_delay_applies_per_request_concurrently() -> None:
    with ScriptedModelServer([delay(0.5, text(str(i))) for i in range(10)]) as server:
        async def run() -> set[str]:
            async with openai.AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0) as aclient:
                completions = await asyncio.gather(*(
                    aclient.chat.completions.create(model="m", messages=MESSAGES) for _ in range(10)))
            return {c.choices[0].message.content for c in completions}

        started = time.monotonic()
        assert asyncio.run(run()) == {str(i) for i in range(10)}
        assert time.monotonic() - started < 3
    server.assert_done()


def test_stopping_does_not_wait_for_sleeping_replies() -> None:
    server = ScriptedModelServer([delay(30, text("never"))]).start()
    with pytest.raises(openai.APITimeoutError):
        ask(server, max_retries=0, timeout=0.2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2


def test_either_steps_or_a_responder() -> None:
    with pytest.raises(ValueError):
        ScriptedModelServer()
    with pytest.raises(ValueError):
        ScriptedModelServer([text("x")], responder=lambda body: "y")


def _raw_exchange(server: ScriptedModelServer, request: bytes) -> tuple[bytes, bytes]:
    """Send raw bytes, read until the server closes: (status line and headers, body)."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(server.base_url).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_chunked_bodies_and_connection_close_are_honoured() -> None:
    body = json.dumps({"model": "m", "messages": MESSAGES}).encode()
    chunked = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:])) + b"0\r\n\r\n"
    with ScriptedModelServer([text("chunks arrived")]) as server:
        head, reply = _raw_exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                                            b"content-type: application/json\r\ntransfer-encoding: chunked\r\n"
                                            b"connection: close\r\n\r\n" + chunked)
    server.assert_done()
    assert head.startswith(b"HTTP/1.1 200 OK") and b"connection: close" in head
    assert json.loads(reply)["choices"][0]["message"]["content"] == "chunks arrived"
    assert server.requests[0].body == {"model": "m", "messages": MESSAGES}


def test_a_malformed_request_line_gets_a_400() -> None:
    with ScriptedModelServer([]) as server:
        head, _ = _raw_exchange(server, b"NONSENSE\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
