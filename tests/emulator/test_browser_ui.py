"""The browser page's side of the emulator: what it serves, what each person sees, what they can do."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from yarl import URL

from slack_emulator import Channel, SlackEmulator, User
from slack_emulator.browser import WEB_DIR
from tests.emulator.bolt_app import replies_in_thread, run

PEOPLE = [User("U01ALICE", "alice", "Alice Archer"), User("U02BOB", "bob", "Bob Baker")]
ROOMS = [Channel("C0SALES", "sales", ("U01ALICE", "U02BOB", "UBOT")), Channel("C0BOARD", "board", ("U01ALICE", "UBOT"))]
# Bolt leaves events no listener handles unacknowledged: a short ack timeout keeps such posts quick.
WORKSPACE: dict[str, Any] = {"users": PEOPLE, "channels": ROOMS, "bot_name": "CRM copilot", "ack_timeout": 0.5}


async def call(emu: SlackEmulator, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.post(f"{emu.url}/ui/{action}", json=body) as response:
        return response.status, await response.json()


async def state(emu: SlackEmulator, user: str, after: int = -1) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(
        f"{emu.url}/ui/state", params={"user": user, "after": str(after)}
    ) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


def nothing(app: AsyncApp) -> None:
    """An app that listens to nothing (Bolt still acknowledges every envelope)."""


def test_the_page_and_every_file_it_loads_are_served() -> None:
    async def body(emu: SlackEmulator) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{emu.url}/") as page:
                html = await page.text()
                assert page.status == 200 and page.content_type == "text/html"
            for name in ("style.css", "app.js"):
                assert f"/web/{name}" in html
            for path in sorted(WEB_DIR.iterdir()):
                async with session.get(f"{emu.url}/web/{path.name}") as response:
                    assert response.status == 200, path.name
                    assert await response.read() == path.read_bytes()
            # Encoded, so the client sends the dots as they are instead of normalising the path away.
            for sneaky in ("/web/%2e%2e/server.py", "/web/..%2fserver.py"):
                async with session.get(URL(f"{emu.url}{sneaky}", encoded=True)) as escape:
                    assert escape.status in (403, 404), sneaky
                    assert b"class SlackEmulator" not in await escape.read()

    run(body, nothing)


def test_each_person_sees_only_their_conversations_and_ephemerals_and_mentions_reach_the_bot() -> None:
    async def body(emu: SlackEmulator) -> None:
        status, answer = await call(emu, "post", user="alice", channel="C0SALES", text="@crm-copilot hi, ask @bob")
        assert (status, answer["ok"]) == (200, True)
        await emu.wait_for(lambda e: any(m.bot_id for m in e.messages("C0SALES")), what="the bot's reply")
        assert emu.messages("C0SALES")[0].text == "<@UBOT> hi, ask <@U02BOB>"
        emu._state.messages.add_ephemeral("U01ALICE", "C0BOARD", "for Alice only", [], thread_ts=None, source="api")

        alice, bob = await state(emu, "alice"), await state(emu, "U02BOB")
        assert [c["name"] for c in alice["channels"] if not c["is_im"]] == ["sales", "board"]
        assert [c["name"] for c in bob["channels"] if not c["is_im"]] == ["sales"] and "C0BOARD" not in bob["messages"]
        assert [e["text"] for e in alice["ephemerals"]] == ["for Alice only"] and bob["ephemerals"] == []
        replies = [m for m in bob["messages"]["C0SALES"] if m.get("bot_id")]
        assert replies and replies[0]["thread_ts"] == alice["messages"]["C0SALES"][0]["ts"]
        assert bob["bot"] == {"id": "UBOT", "name": "CRM copilot", "handle": "crm-copilot"} and bob["connected"]

    run(body, replies_in_thread("hello"), **WORKSPACE)


def test_the_state_request_answers_as_soon_as_something_changes() -> None:
    async def body(emu: SlackEmulator) -> None:
        before = await state(emu, "bob")
        waiting = asyncio.create_task(state(emu, "bob", after=before["version"]))
        await call(emu, "post", user="alice", channel="C0SALES", text="news")
        after = await asyncio.wait_for(waiting, 10)
        assert after["version"] > before["version"]
        assert [m["text"] for m in after["messages"]["C0SALES"]] == ["news"]

    run(body, nothing, **WORKSPACE)


def test_a_click_names_the_block_of_the_button_among_several_with_the_same_action_id() -> None:
    clicked: list[dict[str, Any]] = []
    home = {"type": "home", "blocks": [
        {"type": "actions", "block_id": f"home:{n}", "elements": [
            {"type": "button", "action_id": "approve", "value": f"p{n}", "text": {"type": "plain_text", "text": "Approve"}}]}
        for n in (1, 2)
    ]}

    def register(app: AsyncApp) -> None:
        @app.event("app_home_opened")
        async def opened(event: dict[str, Any], client: Any) -> None:
            await client.views_publish(user_id=event["user"], view=home)

        @app.action("approve")
        async def approve(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            clicked.append(body["actions"][0])

    async def body(emu: SlackEmulator) -> None:
        assert (await call(emu, "home", user="bob"))[0] == 200
        await emu.wait_for(lambda e: e.home("bob"), what="the Home tab")
        assert [b["block_id"] for b in (await state(emu, "bob"))["home"]["blocks"]] == ["home:1", "home:2"]
        status, _ = await call(emu, "click", user="bob", where="home", action_id="approve", block_id="home:2", value="p2")
        assert status == 200
        await emu.wait_for(lambda e: clicked, what="the click")
        assert (clicked[0]["block_id"], clicked[0]["value"]) == ("home:2", "p2")

    run(body, register, **WORKSPACE)


@pytest.mark.parametrize(("action", "body", "status", "error"), [
    ("post", {"user": "mallory", "channel": "C0SALES", "text": "hi"}, 400, "no user 'mallory'"),
    ("post", {"user": "bob", "channel": "C0BOARD", "text": "hi"}, 400, "not a member"),
    ("post", {"user": "bob", "channel": "C0SALES", "text": "  "}, 400, "write something first"),
    ("post", {"user": "bob", "channel": "C0SALES", "text": "/giphy cats"}, 400, "/giphy is not a command"),
    ("post", {"user": "bob", "text": "hi"}, 400, "missing field 'channel'"),
    ("click", {"user": "bob", "where": "sky", "action_id": "x"}, 400, "where must be"),
    ("click", {"user": "bob", "where": "message", "channel": "C0SALES", "ts": "1.000001", "action_id": "x"}, 400,
     "no message"),
    ("submit", {"user": "bob", "view_id": "V404"}, 400, "has no modal V404"),
    ("launch", {"user": "bob"}, 404, "unknown action 'launch'"),
])
def test_what_the_page_cannot_do_is_refused_with_a_reason(action: str, body: dict[str, Any], status: int,
                                                          error: str) -> None:
    async def check(emu: SlackEmulator) -> None:
        got_status, answer = await call(emu, action, **body)
        assert (got_status, answer["ok"]) == (status, False) and error in answer["error"], answer
        assert emu.messages("C0SALES") == []

    run(check, nothing, **WORKSPACE)


def test_a_body_that_is_not_a_json_object_is_refused() -> None:
    async def body(emu: SlackEmulator) -> None:
        async with aiohttp.ClientSession() as session:
            for data in ("not json", "[1, 2]"):
                async with session.post(f"{emu.url}/ui/post", data=data,
                                        headers={"Content-Type": "application/json"}) as response:
                    assert response.status == 400 and not (await response.json())["ok"]
            async with session.get(f"{emu.url}/ui/state", params={"user": "mallory"}) as response:
                assert response.status == 400

    run(body, nothing, **WORKSPACE)


def test_stopping_the_emulator_does_not_wait_for_open_pages() -> None:
    async def main() -> None:
        emu = await SlackEmulator(**WORKSPACE).start()
        before = await state(emu, "bob")
        polling = asyncio.create_task(state(emu, "bob", after=before["version"]))
        for _ in range(100_000):  # yield to the server until the request is waiting (no timer involved)
            if emu._feed is not None and emu._feed._waiters:
                break
            await asyncio.sleep(0)
        assert emu._feed is not None and emu._feed._waiters, "the long poll never arrived"
        await asyncio.wait_for(emu.stop(), 5)  # the poll would otherwise hold the server for 25 s
        assert (await asyncio.wait_for(polling, 5))["version"] == before["version"]

    asyncio.run(main())


def test_other_web_sites_cannot_act_or_read_through_the_visitors_browser() -> None:
    async def body(emu: SlackEmulator) -> None:
        click = {"user": "alice", "where": "home", "action_id": "approve"}
        async with aiohttp.ClientSession() as session:
            # A cross-site fetch in no-cors mode can only send a "simple" content type.
            async with session.post(f"{emu.url}/ui/click", data=json.dumps(click),
                                    headers={"Content-Type": "text/plain"}) as plain:
                assert plain.status == 415
            async with session.post(f"{emu.url}/ui/click", json=click,
                                    headers={"Origin": "https://evil.example"}) as foreign:
                assert foreign.status == 403
            # DNS rebinding: a foreign name that resolves to this server.
            async with session.get(f"{emu.url}/ui/state?user=alice", headers={"Host": "evil.example"}) as rebound:
                assert rebound.status == 403
            async with session.post(f"{emu.url}/ui/post", json={"user": "alice", "channel": "C0SALES", "text": "hi"},
                                    headers={"Origin": emu.url}) as same:
                assert same.status == 200
        assert [m.text for m in emu.messages("C0SALES")] == ["hi"]

    run(body, nothing)
