"""The local workspace's first screen on the demo CRM, in a real browser: the welcome in #sales, and
each of its three tries done as it says, through the scripted model server the browser tests use.

Also `/crm find` with its links and `/crm pending` opening the card's thread. Screenshots go to
tests/artifacts/browser/ (welcome-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from adapters.crm.local import demo
from adapters.crm.local.adapter import LocalCrm
from adapters.kb.local import LocalKnowledgeBase
from bot.slack.blocks.cards import APPROVE
from bot.slack.welcome import Person, Try, demo_tries
from bot.store import schema
from bot.store.engine import make_engine
from slack_emulator.demo import DEMO_USERS
from tests.browser.harness import DevProcess, screenshot
from tests.browser.workspace import Workspace
from tests.e2e.harness import Script
from tests.fakes.model_server import ScriptedModelServer, text, tool_calls
from tests.world import ARTICLES

RECORD_URL = "https://crm.example.com/{kind}s/{id}"


class Demo:
    def __init__(self, dev: DevProcess, script: Script, crm: LocalCrm, tries: list[Try]) -> None:
        self.dev, self.script, self.crm, self.tries = dev, script, crm, tries


def prepare(tmp: Path) -> tuple[Any, LocalCrm, list[Try]]:
    """A migrated database with the demo CRM (as `make run` seeds it) and the test articles."""
    engine = make_engine(f"sqlite:///{tmp / 'bot.db'}")
    schema.upgrade(engine)
    demo.seed(engine, scale=1, seed=7, today=date.today())
    for path, body in ARTICLES.items():
        (tmp / "kb" / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "kb" / path).write_text(body, encoding="utf-8")
    LocalKnowledgeBase(engine, tmp / "kb").reindex()
    crm = LocalCrm(engine)
    alice, bob = (Person(u.name, u.real_name, u.email) for u in DEMO_USERS[:2])
    return engine, crm, demo_tries(crm, rep=bob, manager=alice, bot_handle="crm-copilot")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("first-screen")
    engine, crm, tries = prepare(tmp)
    script = Script()
    with ScriptedModelServer(responder=script) as server:
        dev = DevProcess(f"sqlite:///{tmp / 'bot.db'}", tmp / "kb", tmp / "dev.log", model_url=server.base_url,
                         extra_env={"BOT_SLACK__RECORD_URL": RECORD_URL})
        try:
            dev.wait_connected()
            yield Demo(dev, script, crm, tries)
        finally:
            code = dev.stop()
            engine.dispose()
        assert code == 0, f"`python -m bot dev` exited with {code} after Ctrl-C\n{dev.output()}"


def open_thread(page: Any, typed: str) -> Any:
    """The thread of what a person typed (the welcome, the bot's, quotes it too)."""
    page.locator("#messages .msg:not(.from-bot)").filter(has_text=typed).locator(".replies").click()
    expect(page.locator("#thread")).to_be_visible()
    return page.locator("#thread")


def test_the_welcome_and_its_three_tries(stack: Demo, page: Any) -> None:
    find, question, change = stack.tries
    deal = stack.crm.get(*question.record)  # type: ignore[misc]
    assert deal is not None and deal.stage == "proposal"
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")
    welcome = ws.message("Welcome to the local workspace")
    for one in stack.tries:
        expect(welcome).to_contain_text(one.text)
    screenshot(page, "welcome-1-first-screen")

    # 1. As Bob: /crm find, no model: the account named, numbered and linked, with its open deals.
    calls = len(stack.script.bodies)
    ws.say(find.text)
    found = ws.whisper("for “")
    company_id = find.record[1]  # type: ignore[index]
    expect(found.locator(f'a[href="https://crm.example.com/companys/{company_id}"]').first).to_be_visible()
    expect(found.locator(f'a[href="https://crm.example.com/deals/{deal.id}"]').first).to_be_visible()
    expect(found).to_contain_text(f"company {company_id}")
    assert len(stack.script.bodies) == calls
    screenshot(page, "welcome-2-find-with-links")

    # 2. As Bob: a question; the answer names the deal, and its sources are what it named, linked.
    stack.script.load(tool_calls(("get_deal", {"deal_id": deal.id})),
                      text(f"*{deal.name}* is at the proposal stage, closing {deal.close_date}."))
    ws.say(question.text)
    thread = open_thread(page, question.text.split(" ", 1)[1])
    ws.in_thread("is at the proposal stage")
    sources = thread.locator(".msg").filter(has_text="Sources:")
    expect(sources.locator(f'a[href="https://crm.example.com/deals/{deal.id}"]')).to_have_text(deal.name)
    screenshot(page, "welcome-3-answer-with-sources")
    assert stack.script.used_up()

    # 3. As Bob: a change; Alice finds it in /crm pending, opens its card from there and approves it.
    stack.script.load(tool_calls(("update_deal", {"deal_id": deal.id, "stage": "negotiation"})),
                      text("I proposed moving it to negotiation; a manager approves it."))
    ws.say(change.text)
    open_thread(page, change.text.split(" ", 1)[1])
    expect(ws.cards()).to_have_count(1)
    ws.switch_to("alice")
    page.locator("#thread-close").click()
    ws.say("/crm pending")
    pending = ws.whisper("your decision")
    screenshot(page, "welcome-4-pending-with-links")
    pending.locator('button[data-action-id="open_card"]').first.click()
    expect(page.locator("#thread")).to_be_visible()
    ws.button(ws.cards(), APPROVE).click()
    expect(ws.cards()).to_contain_text("Executed")
    screenshot(page, "welcome-5-approved")
    assert stack.crm.get("deal", deal.id).stage == "negotiation"  # type: ignore[union-attr]
    assert stack.script.used_up()
