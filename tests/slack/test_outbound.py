"""The last gate: every builder's message, sent through the Poster, the guarded client and a
guarded respond, reaches Slack with no control sequence and no link to a host that is not allowed,
in the blocks and in the fallback text alike."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.records import Digest, Line, ProposalView, Section
from bot.slack.blocks import messages
from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.digest import render
from bot.slack.blocks.home import home_view
from bot.slack.blocks.links import Links
from bot.slack.blocks.edit_form import FormField, edit_modal
from bot.slack.blocks.modals import reject_modal
from bot.slack.mrkdwn import from_model
from bot.slack.poster import GuardedClient, Poster, guard_payload, guarded_respond
from bot.slack.types import SlackMessage
from tests.slack.fakes import FakeSlack

LINKS = Links.from_settings("https://crm.example.com/{kind}s/{id}", "", ("wiki.example.com",))
HOSTS = LINKS.allowed_hosts
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
HOSTILE = ("<!channel> look <https://evil.example/x?e=zoe@acme.test|click> "
           "[deal 7](https://crm.example.com.evil.example/deals/7) https://evil.example/c?p=1 "
           "www.evil.example/w <!here|here> <https://crm.exаmple.com/|crm.example.com>")


def proposal(**changes: Any) -> ProposalView:
    base = ProposalView(
        id="p1", conversation_id="slack:C0SALES:1.0", tool="update_deal", args={"deal_id": 7, "note": HOSTILE},
        payload_hash="h" * 64, summary=f"Update deal 7: {HOSTILE}",
        diff=[{"field": "note", "before": "x", "after": HOSTILE}], risk="medium", requester="U02BOB",
        record_kind="deal", record_id=7, record_version=3, status="pending", created_at=NOW,
        expires_at=NOW + timedelta(hours=24), decided_by=None, decided_at=None, reason=None, result=None, error=None,
        supersedes_id=None, channel="C0SALES", message_ts="2.0")
    return replace(base, **changes)


def digest() -> Digest:
    lines = (Line(HOSTILE, ("deal", 7), ("follow_up",), owner=HOSTILE), Line(HOSTILE, ("deal", 8), ("follow_up",)))
    return Digest(name="weekly", channel="C0SALES", slot=NOW, since=NOW - timedelta(days=7),
                  sections=(Section("stale_deals", f"Stale {HOSTILE}", lines, 2, note=HOSTILE),),
                  summary=HOSTILE)


# Each builder fed hostile text where model or CRM text can reach it.
BUILDERS: dict[str, Callable[[], SlackMessage]] = {
    "status": lambda: messages.status(f"Running {HOSTILE}…"),
    "answer": lambda: messages.answer(from_model(HOSTILE, HOSTS), ["kb/a.md#x"], LINKS, note=HOSTILE)[0],
    "plain": lambda: messages.plain(from_model(HOSTILE, HOSTS)),
    "card": lambda: proposal_card(proposal(), LINKS),
    "failed card": lambda: proposal_card(proposal(status="failed", error=HOSTILE), LINKS),
    "digest": lambda: render(digest(), LINKS, lines_per_section=5)[0],
    "raw fallback": lambda: (HOSTILE, [{"type": "section", "text": {"type": "mrkdwn", "text": HOSTILE}}]),
}


def assert_clean(payload: Any) -> None:
    """No `<!` but our dates, no link or bare URL to a host that is not allowed, anywhere."""
    for value in _strings(payload):
        assert "<!" not in value.replace("<!date^", ""), value
        assert "evil.example" not in value and "crm.exаmple.com" not in value, value
        for target in re.findall(r"<(https?://[^|>]*)", value):
            assert re.match(r"https://(crm|wiki)\.example\.com/", target), value


def _strings(value: Any) -> list[str]:
    """Every string a reader sees; an input's initial value is what they edit, never rendered as markup."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() if k != "initial_value" for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("name", list(BUILDERS))
def test_the_builders_own_fallback_text_is_escaped(name: str) -> None:
    text, _ = BUILDERS[name]()
    if name != "raw fallback":  # a builder's fallback has no more markup than its blocks
        assert "<!" not in text.replace("<!date^", "")


@pytest.mark.parametrize("name", list(BUILDERS))
@pytest.mark.parametrize("send", ["post", "update", "ephemeral"])
def test_everything_the_poster_sends_is_clean(name: str, send: str) -> None:
    slack = FakeSlack()
    poster = Poster(slack, HOSTS)
    message = BUILDERS[name]()
    if send == "post":
        asyncio.run(poster.post("C0SALES", message))
    elif send == "update":
        asyncio.run(poster.update("C0SALES", "1.0", message))
    else:
        asyncio.run(poster.ephemeral("C0SALES", "U01ALICE", message))
    [(method, args)] = slack.calls
    assert method.startswith("chat.") and args["text"] and args["blocks"]
    assert_clean(args)


class RecordingClient(GuardedClient):
    """The guarded client over a recorder instead of the network."""

    def __init__(self) -> None:
        super().__init__(token="xoxb-test", base_url="http://127.0.0.1:9/api/", allowed_hosts=HOSTS)
        self.sent: list[tuple[str, dict[str, Any]]] = []


async def _record(self: Any, api_method: str, **kwargs: Any) -> Any:
    self.sent.append((api_method, {**(kwargs.get("params") or {}), **(kwargs.get("json") or {})}))
    return {"ok": True, "ts": "1.0"}


@pytest.mark.parametrize("call", [
    lambda c: c.chat_postMessage(channel="C1", text=HOSTILE, blocks=BUILDERS["card"]()[1]),
    lambda c: c.chat_update(channel="C1", ts="1.0", text=HOSTILE, blocks=BUILDERS["digest"]()[1]),
    lambda c: c.chat_postEphemeral(channel="C1", user="U1", text=HOSTILE),
    lambda c: c.views_open(trigger_id="t", view=reject_modal(proposal())),
    lambda c: c.views_open(trigger_id="t", view=edit_modal(proposal(), [FormField("note")])),
    lambda c: c.views_publish(user_id="U1", view=home_view("CRM copilot", [proposal()], [], LINKS)),
    lambda c: c.views_publish(user_id="U1", view={"type": "home", "blocks": [messages.section(HOSTILE)]}),
    lambda c: c.chat_postMessage(channel="C1", text=HOSTILE, blocks=json.dumps([messages.section(HOSTILE)])),
], ids=["postMessage", "update", "postEphemeral", "reject modal", "edit modal", "home", "raw view", "encoded"])
def test_the_guarded_client_cleans_every_message_and_view(call: Callable[[Any], Any],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("slack_sdk.web.async_client.AsyncBaseClient.api_call", _record)
    client = RecordingClient()
    asyncio.run(call(client))
    [(_, args)] = client.sent
    view = args.get("view")
    assert_clean(json.loads(view) if isinstance(view, str) else args)


def test_a_guarded_respond_sends_clean_text_and_blocks() -> None:
    sent: list[dict[str, Any]] = []

    async def respond(text: Any = "", **kwargs: Any) -> None:
        sent.append({"text": text, **kwargs})

    guarded = guarded_respond(respond, HOSTS)
    asyncio.run(guarded(text=HOSTILE, blocks=BUILDERS["card"]()[1], response_type="ephemeral"))
    asyncio.run(guarded(HOSTILE))
    asyncio.run(guarded({"text": HOSTILE, "blocks": [messages.section(HOSTILE)]}))
    assert len(sent) == 3 and sent[0]["response_type"] == "ephemeral"
    assert_clean(sent)


def test_the_guard_keeps_what_we_built() -> None:
    text, blocks = proposal_card(proposal(summary="Update deal 7"), LINKS)
    guarded = guard_payload({"text": text, "blocks": blocks}, HOSTS)
    dump = json.dumps(guarded["blocks"], ensure_ascii=False)
    assert "<https://crm.example.com/deals/7|the deal>" in dump and "<@U02BOB>" in dump and "<!date^" in dump
    assert guarded["text"] == text


def test_the_middleware_hands_listeners_a_guarded_respond_and_client() -> None:
    from bot.slack.middleware import provide
    from tests.slack.fakes import make_bench

    bench, sent = make_bench(), []

    async def respond(text: Any = "", **kwargs: Any) -> None:
        sent.append({"text": text, **kwargs})

    async def nothing() -> None:
        return None

    context: dict[str, Any] = {"respond": respond, "client": object()}
    asyncio.run(provide(bench.deps)(context, nothing))
    assert context["client"] is bench.deps.poster.client
    asyncio.run(context["respond"](text=HOSTILE, response_type="ephemeral"))
    assert sent and "&lt;!channel&gt;" in sent[0]["text"]
    assert_clean(sent)
