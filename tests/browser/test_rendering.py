"""The page's mrkdwn and Block Kit rendering, run in Chromium: formatting as Slack shows it, and
nothing the bot (or a person) writes can inject markup or a script link into the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from slack_emulator import EmulatorThread

NAMES = "{userName: (id) => ({U01ALICE: 'Alice'})[id] || id, channelName: (id) => ({C0SALES: 'sales'})[id] || id}"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread() as emu:
        yield emu


def mrkdwn(page: Any, text: str) -> str:
    return str(page.evaluate(f"async (t) => (await import('/web/mrkdwn.js')).mrkdwn(t, {NAMES})", text))


@pytest.mark.parametrize(("text", "present", "absent"), [
    ("*bold* _it_ ~gone~ `x_y_z`", ["<b>bold</b>", "<i>it</i>", "<s>gone</s>", "<code>x_y_z</code>"], []),
    ("deal_id and stage_name", ["deal_id and stage_name"], ["<i>"]),
    ("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co", ["&lt;script&gt;", "&amp; co"], ["<script"]),
    ("<javascript:alert(1)|click me>", ["click me"], ["<a ", "href"]),
    ('<https://crm.example.com/deals/7?a="b"|deal 7>', ['href="https://crm.example.com/deals/7?a=&quot;b&quot;"',
                                                        ">deal 7</a>"], []),
    ("<@U01ALICE> in <#C0SALES>, <!here>", ["@Alice</span>", "#sales</span>", "@here</span>"], []),
    ("```a *b* <@U01ALICE>```", ["<pre>a *b* &lt;@U01ALICE&gt;</pre>"], ["<b>"]),
    ("&gt; quoted\nplain", ["<blockquote>quoted</blockquote>", "plain"], []),
    ("<!date^1700000000^{date_short}|2023-11-14 22:13 UTC>", ['<time class="date">'], ["@date"]),
    (":white_check_mark: done", ["✅ done"], [":white_check_mark:"]),
    ("<img src=x onerror=alert(1)>", [], ["<img"]),
])
def test_mrkdwn(emulator: EmulatorThread, page: Any, text: str, present: list[str], absent: list[str]) -> None:
    page.goto(emulator.url + "/web/index.html")
    html = mrkdwn(page, text)
    for needle in present:
        assert needle in html, html
    for needle in absent:
        assert needle not in html, html


def test_block_kit(emulator: EmulatorThread, page: Any) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Proposal: <b>update_deal</b>"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Acme*"},
         "fields": [{"type": "mrkdwn", "text": "*Risk*\nmedium"}, {"type": "plain_text", "text": "deal 1"}],
         "accessory": {"type": "button", "action_id": "open", "text": {"type": "plain_text", "text": "Open"}}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "by <@U01ALICE>"}]},
        {"type": "divider"},
        {"type": "actions", "block_id": "decide", "elements": [
            {"type": "button", "action_id": "approve", "value": "p1", "style": "primary", "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "reject", "value": "p1", "style": "danger", "text": {"type": "plain_text", "text": "Reject"},
             "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "plain_text", "text": "Really"},
                         "confirm": {"type": "plain_text", "text": "Yes"}, "deny": {"type": "plain_text", "text": "No"}}}]},
        {"type": "video", "title": {"type": "plain_text", "text": "x"}},
    ]
    page.goto(emulator.url + "/web/index.html")
    clicked = page.evaluate("""async (blocks) => {
        const { renderBlocks } = await import('/web/blocks.js');
        const clicks = [];
        const node = renderBlocks(blocks, {...""" + NAMES + """, onAction: (a) => clicks.push(a)});
        document.body.replaceChildren(node, ...[...document.querySelectorAll('.backdrop')]);
        window.clicks = clicks;
        return clicks.length;
    }""", blocks)
    assert clicked == 0
    assert page.inner_text("h2.bk-header") == "Proposal: <b>update_deal</b>"  # plain text stays plain
    assert page.locator(".bk-field").count() == 2 and page.inner_text(".bk-section-text b") == "Acme"
    assert page.inner_text(".bk-context") == "by @Alice" and page.locator("hr.bk-divider").count() == 1
    assert page.get_attribute('[data-action-id="approve"]', "class") == "bk-button bk-primary"
    assert page.get_attribute('[data-action-id="reject"]', "class") == "bk-button bk-danger"
    assert page.inner_text(".bk-unsupported") == "[video block]"

    page.click('[data-action-id="approve"]')
    page.click('[data-action-id="reject"]')  # asks first
    assert page.inner_text("#confirm h2") == "Sure?"
    page.click('#confirm [data-role="deny"]')
    page.click('[data-action-id="reject"]')
    page.click('#confirm [data-role="confirm"]')
    page.wait_for_function("window.clicks.length === 2")
    assert page.evaluate("window.clicks") == [
        {"action_id": "approve", "block_id": "decide", "value": "p1"},
        {"action_id": "reject", "block_id": "decide", "value": "p1"},
    ]


def test_a_dm_is_named_after_its_person_never_as_a_channel(emulator: EmulatorThread, page: Any) -> None:
    state = {"users": [{"id": "U01ALICE", "name": "alice", "real_name": "Alice Archer (sales manager)"}],
             "channels": [{"id": "D01ALICE", "name": "alice", "is_im": True, "user": "U01ALICE"},
                          {"id": "C0SALES", "name": "sales", "is_im": False, "user": None}]}
    page.goto(emulator.url + "/web/index.html")
    html = page.evaluate("""async (state) => {
        const { names } = await import('/web/render.js');
        const { mrkdwn } = await import('/web/mrkdwn.js');
        return mrkdwn('asked in <#D01ALICE>, then in <#C0SALES>', names(state));
    }""", state)
    assert "DM with Alice Archer</span>" in html and "#sales</span>" in html
    assert "#alice" not in html and "#D01ALICE" not in html
