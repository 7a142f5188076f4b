"""A sales manager edits a proposal in the local workspace: the card in business language, the Edit
form with a date picker, a list, a person picker and a record search, a field refused with the form
it expects, and the edited card showing what the manager changed. Screenshots go to
tests/artifacts/browser/ (edit-date-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.slack.blocks.cards import EDIT
from tests.browser.conftest import start_dev
from tests.browser.harness import screenshot
from tests.browser.test_workspace_agent import Stack
from tests.browser.workspace import Workspace
from tests.e2e.harness import Script
from tests.fakes.model_server import ScriptedModelServer, text, tool_calls

RAW = ("update_deal", "close_date", "deal_id", "company_id", "U02BOB", "->", "48500.00")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    script = Script()
    with ScriptedModelServer(responder=script) as server:
        dev, (engine, crm), ids = start_dev(tmp_path_factory.mktemp("edit"), model_url=server.base_url)
        yield Stack(dev, script, crm, ids)
        code = dev.stop()
        engine.dispose()
        assert code == 0, f"`python -m bot dev` exited with {code} after Ctrl-C\n{dev.output()}"


def test_a_manager_edits_a_proposal_with_the_date_picker(stack: Stack, page: Any) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None and str(deal.close_date) == "2026-11-30"
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")
    stack.script.load(tool_calls(("update_deal", {"deal_id": deal.id, "close_date": "2027-01-29"})),
                      text("I proposed moving the close date to 29 January."))
    ws.say("@crm-copilot push the Acme renewal to the end of January")
    ws.open_thread("push the Acme renewal")
    card = ws.cards()
    expect(card).to_have_count(1)
    expect(card.locator("h2.bk-header")).to_have_text("Move the close date of deal Acme renewal 2027 to Fri 29 Jan 2027")
    expect(card).to_contain_text("Close date: Mon 30 Nov 2026 → Fri 29 Jan 2027")
    expect(card).to_contain_text("Needs the deal's owner or a manager")
    shown = card.inner_text()
    assert not [raw for raw in RAW if raw in shown], shown
    screenshot(page, "edit-date-1-card")

    ws.switch_to("alice")  # a manager
    ws.button(ws.cards(), EDIT).click()
    modal = page.locator("#modal")
    expect(modal).to_be_visible()
    date = modal.locator('[name="close_date"]')
    expect(date).to_have_attribute("type", "date")
    expect(date).to_have_value("2027-01-29")
    expect(modal.locator('[name="stage"] option[value="closed_won"]')).to_have_text("Closed won")
    hints = modal.locator(".bk-hint")  # what the deal holds now, for the fields the proposal leaves alone
    expect(hints.filter(has_text="Now: Proposal. Leave empty to keep it.")).to_have_count(1)
    expect(hints.filter(has_text="Now: Zoë Müller. Leave empty to keep it.")).to_have_count(1)
    expect(hints.filter(has_text="Now: Bob Baker. Leave empty to keep it.")).to_have_count(1)
    expect(modal.locator('[data-role="submit"]')).to_be_in_viewport()  # the form fits: Save stays in view
    screenshot(page, "edit-date-2-form")

    date.fill("2027-02-15")
    modal.locator('[data-search-for="contact_id"]').fill("Robert")  # the record search asks the bot
    expect(modal.locator('[name="contact_id"]')).to_have_attribute("data-loaded", "1")
    expect(modal.locator('[name="contact_id"] option:checked')).to_contain_text("Robert Miller")
    modal.locator('[name="amount"]').fill("52000.123")
    modal.locator('[data-role="submit"]').click()
    error = modal.locator(".bk-error")
    expect(error).to_have_text("Enter an amount of 0 or more, with at most two decimals, such as 24000 or 24000.50.")
    expect(modal.locator('[name="contact_id"] option:checked')).to_contain_text("Robert Miller")  # kept, as in Slack
    expect(modal.locator('[name="close_date"]')).to_have_value("2027-02-15")
    screenshot(page, "edit-date-3-field-error")

    modal.locator('[name="amount"]').fill("52000")
    modal.locator('[name="stage"]').select_option("negotiation")
    modal.locator('[name="owner"]').select_option("U01ALICE")
    modal.locator('[data-role="submit"]').click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()

    expect(ws.cards()).to_have_count(2)
    expect(ws.cards().first).to_contain_text("Edited")
    edited = ws.cards().last
    expect(edited).to_contain_text("Edited by @Alice Archer (first proposed by @Bob Baker)")
    expect(edited).to_contain_text("Close date: Fri 29 Jan 2027 → Mon 15 Feb 2027")  # against Bob's proposal
    expect(edited).to_contain_text("Close date: Mon 30 Nov 2026 → Mon 15 Feb 2027")  # against the deal
    expect(edited).to_contain_text("Amount: 48,500 EUR → 52,000 EUR")
    expect(edited).to_contain_text("Amount: 52,000 EUR (added)")  # Bob's proposal left the amount alone
    expect(edited).to_contain_text("Owner: Bob Baker → Alice Archer")
    expect(edited).to_contain_text("Contact: Zoë Müller → Robert Miller")
    shown = edited.inner_text()
    assert not [raw for raw in RAW if raw in shown], shown
    edited.scroll_into_view_if_needed()
    screenshot(page, "edit-date-4-edited-card")
    after = stack.crm.get("deal", deal.id)
    assert after is not None and after.close_date == deal.close_date and after.version == deal.version
    assert stack.script.used_up()
