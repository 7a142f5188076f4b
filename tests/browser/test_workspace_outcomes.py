"""The local workspace in a real browser: two changes to one deal, the second made stale by a change
elsewhere and proposed again, the requester told each outcome in the thread, and a Revert.
Screenshots go to tests/artifacts/browser/ (outcomes-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.slack.blocks.cards import APPROVE
from bot.slack.blocks.outcomes import PROPOSE_AGAIN, REVERT
from tests.browser.conftest import start_dev
from tests.browser.harness import screenshot
from tests.browser.test_workspace_agent import Stack
from tests.browser.workspace import Workspace
from tests.e2e.harness import Script
from tests.fakes.model_server import ScriptedModelServer, text, tool_calls


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    script = Script()
    with ScriptedModelServer(responder=script) as server:
        dev, (engine, crm), ids = start_dev(tmp_path_factory.mktemp("outcomes"), model_url=server.base_url)
        yield Stack(dev, script, crm, ids)
        code = dev.stop()
        engine.dispose()
        assert code == 0, f"`python -m bot dev` exited with {code} after Ctrl-C\n{dev.output()}"


def test_stale_propose_again_told_and_revert(stack: Stack, page: Any) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")
    stack.script.load(tool_calls(("update_deal", {"deal_id": deal.id, "amount": "51000"}),
                                 ("update_deal", {"deal_id": deal.id, "close_date": "2027-01-26"})),
                      text("I proposed both changes; they wait for approval."))
    ws.say("@crm-copilot raise the Acme renewal to 51,000 and move its close date to 26 January")
    ws.open_thread("raise the Acme renewal")
    expect(ws.cards()).to_have_count(2)

    ws.switch_to("alice")
    ws.button(ws.cards().first, APPROVE).click()
    expect(ws.cards().first).to_contain_text("Executed")
    now = stack.crm.get("deal", deal.id)
    stack.crm.update("deal", deal.id, {"close_date": "2027-03-01"}, expected_version=now.version,  # type: ignore[union-attr]
                     idempotency_key="changed-in-the-crm")
    ws.button(ws.cards().nth(1), APPROVE).click()
    expect(ws.cards().nth(1)).to_contain_text("changed from")
    expect(ws.button(ws.cards().nth(1), PROPOSE_AGAIN)).to_have_count(1)
    ws.in_thread("was approved by")  # Bob is told, in the thread
    screenshot(page, "outcomes-1-stale")

    ws.switch_to("bob")
    ws.button(ws.cards().nth(1), PROPOSE_AGAIN).click()
    expect(ws.cards()).to_have_count(3)
    expect(ws.cards().nth(2)).to_contain_text("Close date: Mon 1 Mar 2027 → Tue 26 Jan 2027")
    ws.cards().nth(2).scroll_into_view_if_needed()
    screenshot(page, "outcomes-2-proposed-again")

    ws.switch_to("alice")
    ws.button(ws.cards().nth(2), APPROVE).click()
    expect(ws.cards().nth(2)).to_contain_text("Executed")
    after = stack.crm.get("deal", deal.id)
    assert after.close_date.isoformat() == "2027-01-26" and str(after.amount) == "51000.00"  # type: ignore[union-attr]

    ws.switch_to("bob")
    ws.button(ws.cards().first, REVERT).click()
    expect(ws.cards()).to_have_count(4)
    expect(ws.cards().nth(3)).to_contain_text("Revert:")
    ws.cards().nth(3).scroll_into_view_if_needed()
    screenshot(page, "outcomes-3-revert-proposed")
    assert str(stack.crm.get("deal", deal.id).amount) == "51000.00"  # type: ignore[union-attr]
    assert stack.script.used_up()
