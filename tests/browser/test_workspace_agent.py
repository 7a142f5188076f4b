"""The local workspace in a real browser with the full agent (the scripted model server behind it).

A person mentions the bot, reads the answer, asks for a change in the thread; someone else who
may not approve it is refused; an approver clicks Approve and the card turns executed. Also the
Edit modal and a high-risk action's confirmation dialog. Screenshots go to tests/artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.slack.blocks.cards import APPROVE, EDIT
from tests.browser.conftest import start_dev
from tests.browser.harness import DevProcess, screenshot
from tests.browser.workspace import Workspace
from tests.e2e.harness import Script
from tests.fakes.model_server import ScriptedModelServer, text, tool_calls


class Stack:
    def __init__(self, dev: DevProcess, script: Script, crm: Any, ids: dict[str, int]) -> None:
        self.dev, self.script, self.crm, self.ids = dev, script, crm, ids


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    script = Script()
    with ScriptedModelServer(responder=script) as server:
        dev, (engine, crm), ids = start_dev(tmp_path_factory.mktemp("agent"), model_url=server.base_url)
        yield Stack(dev, script, crm, ids)
        code = dev.stop()
        engine.dispose()
        assert code == 0, f"`python -m bot dev` exited with {code} after Ctrl-C\n{dev.output()}"


def test_ask_propose_refuse_approve_executed(stack: Stack, page: Any) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None and deal.stage == "proposal"
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")

    stack.script.load(text("*Acme renewal 2027* is at the proposal stage: 48,500 EUR, closing 30 November."))
    ws.say("@crm-copilot where are we with the Acme renewal?")
    thread = ws.open_thread("where are we with the Acme renewal?")
    ws.in_thread("is at the proposal stage")
    expect(thread.locator(".msg b", has_text="Acme renewal 2027")).to_be_visible()  # mrkdwn rendered
    screenshot(page, "agent-1-answer")

    stack.script.load(tool_calls(("update_deal", {"deal_id": deal.id, "stage": "negotiation"})),
                      text("I proposed moving it to negotiation; it waits for approval."))
    ws.reply("Please move it to negotiation")
    card = ws.cards()
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Proposal → Negotiation")
    expect(ws.button(card, APPROVE)).to_have_class("bk-button bk-primary")
    screenshot(page, "agent-2-proposal")

    ws.button(ws.cards(), APPROVE).click()  # Bob asked for it: a medium-risk change needs a second person
    ws.whisper("someone other than its requester")
    assert stack.crm.get("deal", deal.id).stage == "proposal"
    screenshot(page, "agent-3-refused")

    ws.switch_to("alice")
    ws.button(ws.cards(), APPROVE).click()
    expect(ws.cards()).to_contain_text("Executed")
    expect(ws.button(ws.cards(), APPROVE)).to_have_count(0)
    screenshot(page, "agent-4-executed")
    assert stack.crm.get("deal", deal.id).stage == "negotiation"
    assert stack.script.used_up()


def test_edit_opens_a_modal_and_saves_a_new_version(stack: Stack, page: Any) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")
    stack.script.load(tool_calls(("update_deal", {"deal_id": deal.id, "amount": "50000"})),
                      text("I proposed the new amount."))
    ws.say("@crm-copilot set the Acme renewal to 50000")
    ws.open_thread("set the Acme renewal to 50000")
    expect(ws.cards()).to_have_count(1)
    ws.button(ws.cards(), EDIT).click()

    modal = page.locator("#modal")
    expect(modal).to_be_visible()
    expect(modal.locator("h2")).to_have_text("Edit proposal")
    amount = modal.locator('[name="amount"]')
    expect(amount).to_have_value("50000")
    amount.fill("-5")
    modal.locator('[data-role="submit"]').click()
    expect(modal.locator(".bk-error")).to_be_visible()  # the app's response_action errors, shown in place
    screenshot(page, "edit-1-refused-input")
    modal.locator('[name="amount"]').fill("61000")
    modal.locator('[data-role="submit"]').click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    expect(ws.cards()).to_have_count(2)
    expect(ws.cards().first).to_contain_text("Edited")
    expect(ws.cards().last).to_contain_text("61,000")
    screenshot(page, "edit-2-new-version")
    assert stack.crm.get("deal", deal.id).amount == deal.amount  # editing executes nothing
    assert stack.script.used_up()


def test_a_high_risk_approval_asks_for_confirmation(stack: Stack, page: Any) -> None:
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")
    stack.script.load(tool_calls(("send_email", {"to": "zoe@example.org", "subject": "Renewal", "body": "Hello"})),
                      text("I drafted the e-mail; a manager has to approve it."))
    ws.say("@crm-copilot e-mail Zoë about the renewal")
    ws.open_thread("about the renewal")
    expect(ws.cards()).to_have_count(1)

    ws.switch_to("alice")  # a manager, and not the requester
    ws.button(ws.cards(), APPROVE).click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    screenshot(page, "confirm-1-dialog")
    dialog.locator('[data-role="deny"]').click()
    expect(page.locator("#confirm-backdrop")).to_be_hidden()
    expect(ws.button(ws.cards(), APPROVE)).to_have_count(1)  # cancelled: nothing was sent

    ws.button(ws.cards(), APPROVE).click()
    page.locator('#confirm [data-role="confirm"]').click()
    expect(ws.cards()).to_contain_text("Queued")  # the outbox transport: queued for delivery, not "executed"
    screenshot(page, "confirm-2-executed")
