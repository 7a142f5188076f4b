"""The emulator's Web API, driven by the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import Channel, SlackEmulator, User, payloads

Body = Callable[[SlackEmulator, AsyncWebClient], Awaitable[None]]


def run(body: Body, **options: Any) -> None:
    async def main() -> None:
        async with SlackEmulator(**options) as emu:
            await body(emu, AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url))

    asyncio.run(main())


async def api_error(call: Awaitable[Any]) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value.response["error"]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_auth_test_answers_for_the_bot_token_only() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        me = await client.auth_test()
        assert (me["user_id"], me["bot_id"], me["team_id"]) == ("UBOT", "BBOT", "T0EMU")
        assert await api_error(AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url).auth_test()) == "invalid_auth"
        assert await api_error(AsyncWebClient(base_url=emu.api_url).auth_test()) == "not_authed"
        assert [c.ok for c in emu.calls("auth.test")] == [True, False, False]

    run(body)


def test_connections_open_needs_the_app_token() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        opened = await client.apps_connections_open(app_token="xapp-emulator")
        assert opened["url"].startswith(emu.url.replace("http://", "ws://") + "/link/?ticket=")
        assert await api_error(client.apps_connections_open(app_token="xoxb-emulator")) == "invalid_auth"

    run(body)


def test_a_429_with_retry_after_is_retried_by_the_rate_limit_handler() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
        emu.fail_next("chat.postMessage", status=429, retry_after=1)
        posted = await client.chat_postMessage(channel="C0SALES", text="hello")
        calls = emu.calls("chat.postMessage")
        assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]
        assert [m.ts for m in emu.messages("C0SALES")] == [posted["ts"]]

    run(body)


def test_without_a_retry_handler_the_429_surfaces() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        emu.fail_next("chat.postMessage", retry_after=7)
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C0SALES", text="hello")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "7"

    run(body)


def test_a_500_surfaces_as_slack_api_error_and_an_injected_error_as_itself() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        emu.fail_next("chat.postMessage", status=500)
        emu.fail_next("chat.update", error="message_not_found", count=2)
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="C0SALES", text="hello")
        assert caught.value.response.status_code == 500
        for _ in range(2):
            assert await api_error(client.chat_update(channel="C0SALES", ts="1.2", text="x")) == "message_not_found"
        assert emu.messages("C0SALES") == []
        await client.chat_postMessage(channel="C0SALES", text="the fault is used up")
        assert len(emu.messages("#sales")) == 1

    run(body)


def test_post_message_stores_a_bot_message_with_increasing_ts() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        first = await client.chat_postMessage(channel="#sales", text="one", unfurl_links=False, unfurl_media=False)
        second = await client.chat_postMessage(channel="C0SALES", text="two", thread_ts=first["ts"], blocks=[section("*two*")])
        assert first["channel"] == "C0SALES" and float(second["ts"]) > float(first["ts"])
        one, two = emu.messages("C0SALES")
        assert (one.text, one.user, one.bot_id, one.unfurl_links, one.unfurl_media) == ("one", "UBOT", "BBOT", False, False)
        assert (two.thread_ts, two.blocks, one.reply_count) == (first["ts"], [section("*two*")], 1)
        assert second["message"]["blocks"] == [section("*two*")]
        assert emu.calls("chat.postMessage")[0].args["unfurl_links"] is False

    run(body)


def test_get_permalink_gives_slacks_form_with_the_thread_of_a_reply() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        root = await client.chat_postMessage(channel="C0SALES", text="root")
        reply = await client.chat_postMessage(channel="C0SALES", text="reply", thread_ts=root["ts"])
        digits = root["ts"].replace(".", "")
        assert (await client.chat_getPermalink(channel="C0SALES", message_ts=root["ts"]))["permalink"] == \
            f"https://emulator.slack.com/archives/C0SALES/p{digits}"
        linked = (await client.chat_getPermalink(channel="C0SALES", message_ts=reply["ts"]))["permalink"]
        assert linked.endswith(f"/p{reply['ts'].replace('.', '')}?thread_ts={root['ts']}&cid=C0SALES")
        assert await api_error(client.chat_getPermalink(channel="C0SALES", message_ts="1.000001")) == "message_not_found"

    run(body)


def test_history_is_in_the_workspace_from_the_start_without_an_event() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        [welcome] = emu.messages("C0SALES")
        assert (welcome.text, welcome.bot_id, welcome.blocks) == ("hello", "BBOT", [section("*hello*")])
        assert emu.deliveries() == []

    run(body, history=[("#sales", "hello", [section("*hello*")])])


def test_post_message_refusals() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        emu.add_channel(Channel("C0SECRET", "secret", ("U01ALICE",)))
        assert await api_error(client.chat_postMessage(channel="C0NOPE", text="x")) == "channel_not_found"
        assert await api_error(client.chat_postMessage(channel="#secret", text="x")) == "not_in_channel"
        with pytest.warns(UserWarning, match="text"):  # slack_sdk warns about the missing text too
            assert await api_error(client.chat_postMessage(channel="C0SALES", text="")) == "no_text"
        assert emu.messages("C0SALES") == [] and emu.messages("C0SECRET") == []

    run(body)


@pytest.mark.parametrize(
    ("blocks", "accepted"),
    [
        ([section("x")] * 50, True),
        ([section("x")] * 51, False),
        ([section("x" * 3000)], True),
        ([section("x" * 3001)], False),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], False),
        ([{"type": "actions", "elements": [{"type": "button", "action_id": "a", "text": {"type": "plain_text", "text": "b" * 76}}]}], False),
        ([{"type": "actions", "elements": [{"type": "button", "action_id": "a" * 256, "text": {"type": "plain_text", "text": "ok"}}]}], False),
    ],
)
def test_block_limits_are_enforced_like_slack(blocks: list[dict[str, Any]], accepted: bool) -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        if accepted:
            await client.chat_postMessage(channel="C0SALES", text="t", blocks=blocks)
        else:
            with pytest.raises(SlackApiError) as caught:
                await client.chat_postMessage(channel="C0SALES", text="t", blocks=blocks)
            assert caught.value.response["error"] == "invalid_blocks"
            assert caught.value.response["response_metadata"]["messages"][0].startswith("[ERROR]")
        assert len(emu.messages("C0SALES")) == (1 if accepted else 0)

    run(body)


def test_text_over_40000_characters_is_truncated() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        await client.chat_postMessage(channel="C0SALES", text="a" * 40_005)
        assert len(emu.messages("C0SALES")[0].text) == 40_000

    run(body)


def test_update_and_delete_apply_to_the_bots_own_messages_only() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        posted = await client.chat_postMessage(channel="C0SALES", text="draft", blocks=[section("draft")])
        updated = await client.chat_update(channel="C0SALES", ts=posted["ts"], text="final")
        assert updated["text"] == "final"
        msg = emu.message("C0SALES", posted["ts"])
        assert msg is not None and (msg.text, msg.updates, msg.blocks) == ("final", 1, [section("draft")])
        assert await api_error(client.chat_update(channel="C0SALES", ts="1.000001", text="x")) == "message_not_found"
        await client.chat_delete(channel="C0SALES", ts=posted["ts"])
        assert emu.messages("C0SALES") == []
        assert await api_error(client.chat_delete(channel="C0SALES", ts=posted["ts"])) == "message_not_found"

    run(body)


def test_a_person_s_message_cannot_be_updated_by_the_bot() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        posted = await emu.user_message("alice", "C0SALES", "mine")  # no subscriptions: nothing delivered
        assert posted.deliveries == ()
        assert await api_error(client.chat_update(channel="C0SALES", ts=posted.ts, text="x")) == "cant_update_message"
        assert await api_error(client.chat_delete(channel="C0SALES", ts=posted.ts)) == "cant_delete_message"
        assert emu.messages("C0SALES")[0].text == "mine"

    run(body, bot_events=())


def test_ephemerals_are_stored_per_user() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        sent = await client.chat_postEphemeral(channel="C0SALES", user="U01ALICE", text="only you", blocks=[section("psst")])
        (eph,) = emu.ephemerals("alice")
        assert (eph.ts, eph.channel, eph.text, eph.source) == (sent["message_ts"], "C0SALES", "only you", "api")
        assert emu.ephemerals("bob") == [] and emu.messages("C0SALES") == []
        assert await api_error(client.chat_postEphemeral(channel="C0SALES", user="U09ZED", text="x")) == "user_not_in_channel"

    run(body)


def test_views_open_exchanges_a_fresh_trigger_once() -> None:
    now = [1_700_000_000.0]
    modal = {"type": "modal", "callback_id": "edit", "title": {"type": "plain_text", "text": "Edit"}, "blocks": []}

    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        trigger = emu.issue_trigger("alice")
        opened = await client.views_open(trigger_id=trigger, view=modal)
        assert opened["view"]["id"].startswith("V") and opened["view"]["hash"]
        assert [v.id for v in emu.open_views("alice")] == [opened["view"]["id"]]
        assert await api_error(client.views_open(trigger_id=trigger, view=modal)) == "exchanged_trigger_id"
        assert await api_error(client.views_open(trigger_id="1.2.nope", view=modal)) == "invalid_trigger_id"
        stale = emu.issue_trigger("alice")
        now[0] += 3.5
        assert await api_error(client.views_open(trigger_id=stale, view=modal)) == "expired_trigger_id"
        long_title = {**modal, "title": {"type": "plain_text", "text": "t" * 25}}
        assert await api_error(client.views_open(trigger_id=emu.issue_trigger("alice"), view=long_title)) == "invalid_arguments"

    run(body, clock=lambda: now[0])


def test_views_update_push_and_publish() -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "One"}, "blocks": [], "external_id": "ext-1"}

    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        opened = (await client.views_open(trigger_id=emu.issue_trigger("bob"), view=modal))["view"]
        two = {**modal, "title": {"type": "plain_text", "text": "Two"}}
        updated = (await client.views_update(view_id=opened["id"], view=two, hash=opened["hash"]))["view"]
        assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
        assert await api_error(client.views_update(view_id=opened["id"], view=two, hash=opened["hash"])) == "hash_conflict"
        three = {**modal, "title": {"type": "plain_text", "text": "Three"}}
        await client.views_update(external_id="ext-1", view=three)
        assert emu.view(opened["id"]).title == "Three"  # type: ignore[union-attr]
        pushed = {"type": "modal", "title": {"type": "plain_text", "text": "Pushed"}, "blocks": []}
        await client.views_push(trigger_id=emu.issue_trigger("bob"), view=pushed)
        assert [v.title for v in emu.open_views("bob")] == ["Three", "Pushed"]
        home = {"type": "home", "blocks": [section("hello")]}
        first = (await client.views_publish(user_id="U02BOB", view=home))["view"]
        again = (await client.views_publish(user_id="U02BOB", view={**home, "blocks": [section("again")]}))["view"]
        shown = emu.home("bob")
        assert first["id"] == again["id"] and shown is not None and shown.blocks == [section("again")]
        assert await api_error(client.views_publish(user_id="U0NOBODY", view=home)) == "user_not_found"

    run(body)


def test_conversations_members_pages_with_cursor() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        pages, cursor = [], None
        while True:
            got = await client.conversations_members(channel="C0GENERAL", limit=2, cursor=cursor)
            pages.append(got["members"])
            cursor = got["response_metadata"]["next_cursor"]
            if not cursor:
                break
        assert pages == [["U01ALICE", "U02BOB"], ["U03CAROL", "U09ZED"], ["UBOT"]]
        assert await api_error(client.conversations_members(channel="C0GENERAL", cursor="garbage!")) == "invalid_cursor"

    run(body)


def test_history_replies_info_and_users() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        root = await emu.user_message("alice", "C0SALES", "question")
        reply = await client.chat_postMessage(channel="C0SALES", thread_ts=root.ts, text="answer")
        later = await client.chat_postMessage(channel="C0SALES", text="later")
        history = await client.conversations_history(channel="C0SALES")
        assert [m["ts"] for m in history["messages"]] == [later["ts"], root.ts]
        assert history["messages"][1]["reply_count"] == 1
        thread = await client.conversations_replies(channel="C0SALES", ts=root.ts)
        assert [m["text"] for m in thread["messages"]] == ["question", "answer"]
        assert thread["messages"][1]["ts"] == reply["ts"]
        assert await api_error(client.conversations_replies(channel="C0SALES", ts="9.000001")) == "thread_not_found"
        dm = (await client.conversations_info(channel="D01ALICE"))["channel"]
        assert (dm["is_im"], dm["user"]) == (True, "U01ALICE")
        sales = (await client.conversations_info(channel="C0SALES"))["channel"]
        assert (sales["name"], sales["is_member"]) == ("sales", True)
        alice = (await client.users_info(user="U01ALICE"))["user"]
        assert (alice["name"], alice["profile"]["email"]) == ("alice", "alice@example.com")
        assert await api_error(client.users_info(user="U0NOBODY")) == "user_not_found"

    run(body, bot_events=())


def test_unknown_methods_are_refused_and_recorded() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        assert await api_error(client.api_call("reactions.launchRocket", json={"name": "x"})) == "unknown_method"
        (call,) = emu.calls("reactions.launchRocket")
        assert call.args == {"name": "x"} and not call.ok
        emu.reset_calls()
        assert emu.calls() == []

    run(body)


def test_who_is_who_guests_strangers_shared_channels_and_user_groups() -> None:
    people = [User("U01ALICE", "alice", "Alice Archer", "alice@example.com"),
              User("U07GUEST", "gina", "Gina Guest", "gina@partner.example", is_restricted=True),
              User("U08EXT", "xavi", "Xavi External", "xavi@other.example", team_id="T0OTHER", is_stranger=True)]
    rooms = [Channel("C0SHARED", "shared", ("U01ALICE", "U08EXT", "UBOT"), is_ext_shared=True),
             Channel("C0SALES", "sales", ("U01ALICE", "U07GUEST", "UBOT"))]

    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        guest = (await client.users_info(user="U07GUEST"))["user"]
        assert (guest["is_restricted"], guest["is_ultra_restricted"], guest["team_id"]) == (True, False, "T0EMU")
        stranger = (await client.users_info(user="U08EXT"))["user"]
        assert (stranger["is_stranger"], stranger["team_id"]) == (True, "T0OTHER")
        assert (await client.conversations_info(channel="C0SHARED"))["channel"]["is_ext_shared"] is True
        assert (await client.conversations_info(channel="C0SALES"))["channel"]["is_ext_shared"] is False
        groups = (await client.usergroups_list())["usergroups"]
        assert [(g["id"], g["handle"]) for g in groups] == [("S01SALES", "sales-team")]
        assert (await client.usergroups_users_list(usergroup="S01SALES"))["users"] == ["U01ALICE"]
        assert await api_error(client.usergroups_users_list(usergroup="S404")) == "no_such_subteam"
        await emu.user_message("U08EXT", "C0SHARED", "hello")
        (stored,) = (await client.conversations_history(channel="C0SHARED"))["messages"]
        assert (stored["user_team"], stored["team"]) == ("T0OTHER", "T0OTHER")
        wrapped = payloads.event_callback(emu.config, {"type": "message"}, event_id="Ev1", event_time=1, ext_shared=True)
        assert wrapped["is_ext_shared_channel"] is True
        assert await emu.leave_channel("C0SALES", "U07GUEST") is None  # the app did not subscribe to it
        assert (await client.conversations_members(channel="C0SALES"))["members"] == ["U01ALICE", "UBOT"]

    # No message subscriptions: nothing is delivered, there is no app to receive it here.
    run(body, users=people, channels=rooms, usergroups={"sales-team": ("S01SALES", ("U01ALICE",))}, bot_events=())
