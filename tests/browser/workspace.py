"""The page as a person uses it: open a conversation, write, open a thread, switch person, click."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

IDS = {"alice": "U01ALICE", "bob": "U02BOB", "zed": "U09ZED"}


class Workspace:
    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def open(self, user: str, channel: str = "C0SALES") -> None:
        self.page.goto(f"{self.url}/?user={user}&channel={channel}")
        expect(self.page.locator("#bot-status")).to_have_attribute("data-state", "online")
        expect(self.page.locator("body")).to_have_attribute("data-me", IDS[user])

    def switch_to(self, user: str) -> None:
        self.page.select_option("#user-switch", user)
        expect(self.page.locator("body")).to_have_attribute("data-me", IDS[user])

    def say(self, text: str) -> None:
        self.page.fill("#message-input", text)
        self.page.press("#message-input", "Enter")
        expect(self.page.locator("#message-input")).to_have_value("")

    def reply(self, text: str) -> None:
        self.page.fill("#thread-input", text)
        self.page.press("#thread-input", "Enter")
        expect(self.page.locator("#thread-input")).to_have_value("")

    def message(self, text: str) -> Locator:
        """The (one) message of the open conversation that contains `text`."""
        found = self.page.locator("#messages .msg").filter(has_text=text)
        expect(found).to_have_count(1)
        return found

    def open_thread(self, text: str) -> Locator:
        self.message(text).locator(".replies").click()
        thread = self.page.locator("#thread")
        expect(thread).to_be_visible()
        return thread

    def in_thread(self, text: str) -> Locator:
        found = self.page.locator("#thread .msg").filter(has_text=text)
        expect(found.first).to_be_visible()
        return found

    def cards(self) -> Locator:
        return self.page.locator("#thread .msg").filter(has=self.page.locator('[data-block-id^="card:"]'))

    def whisper(self, text: str) -> Locator:
        """An ephemeral message (only visible to the current person) containing `text`."""
        found = self.page.locator(".msg.ephemeral").filter(has_text=text)
        expect(found.first).to_be_visible()
        return found.first

    def button(self, scope: Locator | Any, action_id: str) -> Locator:
        return scope.locator(f'button[data-action-id="{action_id}"]')
