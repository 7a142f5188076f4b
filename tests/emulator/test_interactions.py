"""Commands, clicks, modals and the Home tab, round-tripped through a real Bolt app over Socket Mode."""

from __future__ import annotations

from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import EmulatorError, SlackEmulator
from tests.emulator.bolt_app import run


def test_slash_command_ack_and_response_url_post_land_as_ephemerals() -> None:
    def register(app: AsyncApp) -> None:
        @app.command("/crm")
        async def crm(ack: Any, respond: Any, command: dict[str, Any]) -> None:
            await ack("Looking it up…")
            await respond(text=f"3 open deals for {command['text']}")

    async def body(emu: SlackEmulator) -> None:
        delivery = await emu.slash_command("alice", "#sales", "acme")
        assert delivery.acked and delivery.ack_body == {"text": "Looking it up…"}
        assert delivery.payload["command"] == "/crm" and delivery.payload["channel_name"] == "sales"
        await emu.wait_for(lambda e: len(e.ephemerals("alice")) == 2, what="the response_url post")
        # Bolt sends the ack after polling for it, so the response_url post may land first.
        assert sorted((e.text, e.source) for e in emu.ephemerals("alice")) == [
            ("3 open deals for acme", "response_url"), ("Looking it up…", "command_ack"),
        ]
        (post,) = emu.responses()
        assert (post.status, post.applied, post.user) == (200, "ephemeral", "U01ALICE")
        assert emu.messages("C0SALES") == [] and emu.ephemerals("bob") == []

    run(body, register)


def test_a_button_click_round_trips_and_replaces_the_card() -> None:
    card = [
        {"type": "section", "block_id": "summary", "text": {"type": "mrkdwn", "text": "Move *Acme* to Won?"}},
        {"type": "actions", "block_id": "decide", "elements": [
            {"type": "button", "action_id": "approve", "value": "proposal-7", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "reject", "value": "proposal-7", "text": {"type": "plain_text", "text": "Reject"}},
        ]},
    ]

    def register(app: AsyncApp) -> None:
        @app.action("approve")
        async def approve(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
            await ack()
            await respond(replace_original=True, text=f"Approved {action['value']} by <@{body['user']['id']}>")

    async def body(emu: SlackEmulator) -> None:
        client = AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url)
        ts = (await client.chat_postMessage(channel="C0SALES", text="proposal", blocks=card))["ts"]
        with pytest.raises(EmulatorError, match="no element with action_id 'edit'"):
            await emu.click("bob", channel="C0SALES", message_ts=ts, action_id="edit")
        delivery = await emu.click("bob", channel="C0SALES", message_ts=ts, action_id="approve")
        action = delivery.payload["actions"][0]
        assert (action["block_id"], action["value"], action["type"]) == ("decide", "proposal-7", "button")
        assert delivery.payload["container"] == {"type": "message", "message_ts": ts, "channel_id": "C0SALES", "is_ephemeral": False}
        assert delivery.acked and delivery.payload["message"]["blocks"] == card
        msg = await emu.wait_for(lambda e: (m := e.message("C0SALES", ts)) and m.updates and m, what="the card to be replaced")
        assert (msg.text, msg.blocks) == ("Approved proposal-7 by <@U02BOB>", [])
        assert [r.applied for r in emu.responses()] == ["replaced"]

    run(body, register)


def test_a_view_submission_with_errors_keeps_the_modal_open_until_valid() -> None:
    modal = {
        "type": "modal", "callback_id": "edit_deal", "private_metadata": "deal-7",
        "title": {"type": "plain_text", "text": "Edit deal"}, "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [{"type": "input", "block_id": "amount", "label": {"type": "plain_text", "text": "Amount"},
                    "element": {"type": "plain_text_input", "action_id": "value"}}],
    }
    saved: list[tuple[str, str]] = []

    def register(app: AsyncApp) -> None:
        @app.command("/crm")
        async def open_modal(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=modal)

        @app.view("edit_deal")
        async def submitted(ack: Any, view: dict[str, Any]) -> None:
            amount = view["state"]["values"]["amount"]["value"]["value"]
            if not amount.isdigit():
                await ack(response_action="errors", errors={"amount": "Enter a whole number"})
                return
            await ack()
            saved.append((view["private_metadata"], amount))

    async def body(emu: SlackEmulator) -> None:
        await emu.slash_command("carol", "C0SALES", "edit acme")
        (view,) = await emu.wait_for(lambda e: e.open_views("carol"), what="the modal to open")
        refused = await emu.submit_view("carol", view.id, {"amount": {"value": "lots"}})
        assert refused.ack_body == {"response_action": "errors", "errors": {"amount": "Enter a whole number"}}
        (still_open,) = emu.open_views("carol")
        assert still_open.errors == {"amount": "Enter a whole number"}
        accepted = await emu.submit_view("carol", view.id, {"amount": {"value": "1200"}})
        assert accepted.acked and not accepted.ack_body
        assert emu.open_views("carol") == [] and saved == [("deal-7", "1200")]
        with pytest.raises(EmulatorError, match="closed"):
            await emu.submit_view("carol", view.id, {"amount": {"value": "1"}})

    run(body, register)


PICKERS = {
    "type": "modal", "callback_id": "pickers", "title": {"type": "plain_text", "text": "Pickers"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {"type": "input", "block_id": b, "optional": True, "label": {"type": "plain_text", "text": b}, "element": e}
        for b, e in [
            ("close_date", {"type": "datepicker", "action_id": "value"}),
            ("call_time", {"type": "timepicker", "action_id": "value"}),
            ("occurred_at", {"type": "datetimepicker", "action_id": "value"}),
            ("stage", {"type": "static_select", "action_id": "value", "options": [
                {"text": {"type": "plain_text", "text": "Negotiation"}, "value": "negotiation"}]}),
            ("owner", {"type": "users_select", "action_id": "value"}),
            ("contact_id", {"type": "external_select", "action_id": "record", "min_query_length": 1}),
        ]],
}


def test_pickers_and_searches_submit_in_slacks_shapes() -> None:
    seen: list[dict[str, Any]] = []
    queries: list[tuple[str, str, str]] = []

    def register(app: AsyncApp) -> None:
        @app.command("/crm")
        async def open_modal(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=PICKERS)

        @app.options("record")
        async def search(ack: Any, body: dict[str, Any]) -> None:
            queries.append((body["type"], body["block_id"], body["value"]))
            await ack(options=[{"text": {"type": "plain_text", "text": "Henry Bennett"}, "value": "3"}])

        @app.view("pickers")
        async def submitted(ack: Any, view: dict[str, Any]) -> None:
            await ack()
            seen.append(view["state"]["values"])

    async def body(emu: SlackEmulator) -> None:
        await emu.slash_command("carol", "C0SALES", "edit")
        (view,) = await emu.wait_for(lambda e: e.open_views("carol"), what="the modal to open")
        options = await emu.suggest("carol", view.id, "contact_id", "hen")
        assert options == [{"text": {"type": "plain_text", "text": "Henry Bennett"}, "value": "3"}]
        assert queries == [("block_suggestion", "contact_id", "hen")]
        with pytest.raises(EmulatorError, match="has no option '4'"):  # only what the app offered
            await emu.submit_view("carol", view.id, {"contact_id": {"record": "4"}})
        await emu.submit_view("carol", view.id, {
            "close_date": {"value": "2027-02-15"}, "call_time": {"value": "09:30"},
            "occurred_at": {"value": "2026-12-11T10:00"}, "stage": {"value": "negotiation"},
            "owner": {"value": "U01ALICE"}, "contact_id": {"record": "3"}})
        (values,) = seen
        assert values["close_date"]["value"] == {"type": "datepicker", "selected_date": "2027-02-15"}
        assert values["call_time"]["value"] == {"type": "timepicker", "selected_time": "09:30"}
        # carol's Slack time zone is UTC: 10:00 there is 1796983200
        assert values["occurred_at"]["value"] == {"type": "datetimepicker", "selected_date_time": 1796983200}
        assert values["stage"]["value"]["selected_option"]["value"] == "negotiation"
        assert values["owner"]["value"] == {"type": "users_select", "selected_user": "U01ALICE"}
        assert values["contact_id"]["record"]["selected_option"]["value"] == "3"

    run(body, register)


def test_home_tab_publish_and_click() -> None:
    clicks: list[str] = []

    def register(app: AsyncApp) -> None:
        @app.event("app_home_opened")
        async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
            await client.views_publish(user_id=event["user"], view={"type": "home", "blocks": [
                {"type": "actions", "elements": [{"type": "button", "action_id": "refresh", "value": "r", "text": {"type": "plain_text", "text": "Refresh"}}]},
            ]})

        @app.action("refresh")
        async def refresh(ack: Any, body: dict[str, Any]) -> None:
            await ack()
            clicks.append(body["container"]["view_id"])

    async def body(emu: SlackEmulator) -> None:
        opened = await emu.home_opened("zed")
        assert opened.acked and opened.payload["event"]["channel"] == "D09ZED"
        home = await emu.wait_for(lambda e: e.home("zed"), what="the Home tab")
        await emu.click_in_home("zed", "refresh")
        await emu.wait_for(lambda e: clicks, what="the click")
        assert clicks == [home.id]

    run(body, register)
