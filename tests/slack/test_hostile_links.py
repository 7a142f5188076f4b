"""Attacks on the last gate through a link button's URL (`/crm pending`'s "Open card"): whatever
hands the bot a URL for it (an odd chat.getPermalink answer, a future caller), nothing posted to
Slack carries a link to a host that is not allowed; Slack's own permalinks and allowed hosts stay."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.slack.blocks import messages
from bot.slack.blocks.links import Links
from bot.slack.poster import Poster, guarded_respond
from tests.slack.fakes import Calls, FakeSlack
from tests.slack.test_blocks import proposal

LINKS = Links("https://crm.example.com/{kind}s/{id}", "", ("crm.example.com",))
SLACK_LINK = "https://team.slack.com/archives/C0SALES/p2000000?thread_ts=1.0&cid=C0SALES"


def _urls(value: Any) -> list[str]:
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    if isinstance(value, dict):
        own = [value["url"]] if isinstance(value.get("url"), str) else []
        return own + [u for v in value.values() for u in _urls(v)]
    return []


@pytest.mark.parametrize("hostile", ["https://evil.example/phish", "javascript:alert(1)", "http://slack.com.evil.example/",
                                     "https://team.slack.com@evil.example/x", "data:text/html,hi"])
def test_an_open_card_button_to_a_host_not_allowed_is_sent_without_its_link(hostile: str) -> None:
    message = messages.pending_list([proposal()], LINKS, permalinks={"p1": hostile})
    respond = Calls()
    asyncio.run(guarded_respond(respond, LINKS.allowed_hosts)(text=message[0], blocks=message[1]))
    slack = FakeSlack()
    asyncio.run(Poster(slack, LINKS.allowed_hosts).post("C0SALES", message))
    sent = [respond.calls, slack.made("chat.postMessage")]
    assert _urls(sent) == [], json.dumps(sent)


@pytest.mark.parametrize("kept", [SLACK_LINK, "https://crm.example.com/deals/7"])
def test_slacks_permalinks_and_allowed_hosts_keep_their_button_link(kept: str) -> None:
    message = messages.pending_list([proposal()], LINKS, permalinks={"p1": kept})
    slack = FakeSlack()
    asyncio.run(Poster(slack, LINKS.allowed_hosts).post("C0SALES", message))
    assert _urls(slack.made("chat.postMessage")) == [kept]
