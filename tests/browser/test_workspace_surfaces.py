"""The agent surfaces in a real browser: the agent DM's suggested prompts, the native status while
the agent works, the answer under its task timeline, and the feedback buttons with the comment
modal a thumbs-down opens. Screenshots go to tests/artifacts/browser/ (one is docs/agent-dm.png)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import start_dev
from tests.browser.harness import DevProcess, screenshot
from tests.browser.workspace import Workspace
from tests.e2e.harness import Script
from tests.fakes.model_server import ScriptedModelServer, delay, text, tool_calls


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevProcess, Script, dict[str, int]]]:
    script = Script()
    with ScriptedModelServer(responder=script) as server:
        dev, (engine, _crm), ids = start_dev(tmp_path_factory.mktemp("surfaces"), model_url=server.base_url)
        yield dev, script, ids
        code = dev.stop()
        engine.dispose()
        assert code == 0, f"`python -m bot dev` exited with {code}\n{dev.output()}"


def test_the_agent_dm_suggests_prompts_streams_a_timeline_and_takes_feedback(
        stack: tuple[DevProcess, Script, dict[str, int]], page: Any) -> None:
    dev, script, ids = stack
    ws = Workspace(page, dev.url)
    ws.open("bob")
    page.locator("#dm-list button").click()  # opening the agent DM opens its Messages tab
    chips = page.locator("#prompts .prompt")
    expect(chips).to_have_count(4)
    expect(chips.first).to_contain_text("Acme renewal 2027")  # Bob's own open deal comes first
    screenshot(page, "surfaces-1-prompts")

    script.load(tool_calls(("get_deal", {"deal_id": ids["deal"]}), ("list_activities", {"deal_id": ids["deal"]})),
                delay(2.0, text("*Acme renewal 2027* is at the proposal stage; the last call was a week ago. "
                                "Next step: send the revised quote.")))
    chips.first.click()
    thread = ws.open_thread("What is the status of deal")
    status = thread.locator(".agent-status")
    expect(status).to_contain_text("Reading what it found…")  # Slack's own status while the model thinks
    expect(thread.locator(".timeline .task.complete")).to_have_count(2)
    screenshot(page, "surfaces-2-working")

    answer = ws.in_thread("is at the proposal stage")
    expect(status).to_have_count(0)  # the answer cleared it
    expect(answer.locator(".timeline .task-title")).to_have_text(["Looking up deal 1",
                                                                   "Reading recent activities of deal 1"])
    expect(answer.locator(".task-output").first).to_have_text("found")
    expect(answer.locator(".bk-markdown b", has_text="Acme renewal 2027")).to_be_visible()
    expect(answer).to_contain_text("Written by AI")
    thumbs = answer.locator(".bk-thumb")
    expect(thumbs).to_have_count(2)
    expect(answer.locator(".cursor")).to_have_count(0)  # the stream was stopped
    screenshot(page, "surfaces-3-answer")

    thumbs.last.click()  # Not helpful: a modal asks what was wrong
    modal = page.locator("#modal")
    expect(modal).to_contain_text("What went wrong?")
    modal.locator("textarea").fill("It should mention the discount we agreed.")
    screenshot(page, "surfaces-4-feedback")
    modal.locator('button[data-role="submit"]').click()
    expect(page.locator("#modal-backdrop")).to_be_hidden()
    assert script.used_up()
