"""The local workspace without any model configured: what needs no model works, questions say what to set.

`/crm find` from the message box, a question in the DM answered with the variables to set, and a
proposal that already exists approved from the App Home. Ctrl-C stops the whole thing cleanly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.config import load_settings
from bot.slack.blocks.cards import APPROVE
from bot.wiring import build, build_approvals
from tests.browser.conftest import start_dev
from tests.browser.harness import DevProcess, screenshot
from tests.browser.workspace import Workspace
from tests.e2e.harness import ROOT


class Stack:
    def __init__(self, dev: DevProcess, engine: Any, crm: Any, ids: dict[str, int]) -> None:
        self.dev, self.engine, self.crm, self.ids = dev, engine, crm, ids


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    dev, (engine, crm), ids = start_dev(tmp_path_factory.mktemp("no-model"), model_url=None)
    yield Stack(dev, engine, crm, ids)
    code = dev.stop()
    engine.dispose()
    assert code == 0, f"`python -m bot dev` exited with {code} after Ctrl-C\n{dev.output()}"
    assert "no model configured" in dev.output() and "Local workspace: open http://127.0.0.1:" in dev.output()


def test_crm_find_from_the_message_box_answers_only_me(stack: Stack, page: Any) -> None:
    ws = Workspace(page, stack.dev.url)
    ws.open("bob")
    ws.say("/crm find acme")
    found = ws.whisper("Acme Logistics GmbH")
    expect(found).to_contain_text("Only visible to you")
    screenshot(page, "no-model-find")
    ws.switch_to("alice")
    expect(page.locator(".msg.ephemeral")).to_have_count(0)


def test_a_question_is_told_the_assistant_is_unavailable_not_which_variable_to_set(stack: Stack, page: Any) -> None:
    ws = Workspace(page, stack.dev.url)
    ws.open("bob", channel="D02BOB")
    expect(page.locator("#pane-title")).to_have_text("CRM copilot")
    ws.say("Which deals close this month?")
    ws.open_thread("Which deals close this month?")
    answer = ws.in_thread("not available right now")
    expect(answer).to_contain_text("your request was not lost")
    expect(answer).not_to_contain_text("OPENAI")  # the variable to set is the operator's business (the log's)
    screenshot(page, "no-model-question")


def test_an_existing_proposal_is_approved_from_the_app_home(stack: Stack, page: Any) -> None:
    settings = load_settings(ROOT / "app.toml", env={"DATABASE_URL": str(stack.engine.url)})
    approvals = build_approvals(build(settings, stack.engine))
    proposal = approvals.propose_call("update_deal", {"deal_id": stack.ids["deal"], "stage": "qualified"},
                                      requester="U02BOB", conversation_id=None, channel="C0SALES")

    ws = Workspace(page, stack.dev.url)
    ws.open("alice")
    page.click("#nav-home")
    home = page.locator("#home")
    expect(home).to_contain_text("Awaiting your decision (1)")
    screenshot(page, "no-model-home")
    home.locator(f'[data-block-id="home:{proposal.id}"] button[data-action-id="{APPROVE}"]').click()
    expect(home).to_contain_text("Awaiting your decision (0)")
    assert stack.crm.get("deal", stack.ids["deal"]).stage == "qualified"
