"""What the agent is doing, in words: timeline titles, loading messages and outputs, which never
carry what a tool found, and quote a search only where the asker alone reads."""

from __future__ import annotations

from typing import Any

import pytest

from bot.agent.loop import ToolEvent
from bot.slack import activity


def started(name: str, **args: Any) -> ToolEvent:
    return ToolEvent("t1", name, "started", args)


def finished(name: str, outcome: Any = "ok", found: int | None = None) -> ToolEvent:
    return ToolEvent("t1", name, "finished", outcome=outcome, found=found)


@pytest.mark.parametrize(("event", "private", "title"), [
    (started("get_deal", deal_id=212), False, "Looking up deal 212"),
    (started("list_deals", company_id=3, closing_within_days=30), False, "Looking up open deals of company 3 closing within 30 days"),
    (started("list_deals", open_only=False), False, "Looking up deals"),
    (started("search_contacts", text="Henry Bennett"), True, "Searching contacts for “Henry Bennett”"),
    (started("search_contacts", text="Henry Bennett"), False, "Searching contacts"),  # a channel may not see it
    (started("search_kb", query="discount"), True, "Searching the knowledge base for “discount”"),
    (started("list_activities", contact_id=7), False, "Reading recent activities of contact 7"),
    (started("update_deal", deal_id=212, stage="won"), False, "Drafting a change to deal 212 for approval"),
    (started("update_deal", stage="won"), False, "Drafting a change for approval"),
    (started("send_email", to="x@y.z"), False, "Drafting an e-mail for approval"),
    (started("get_contact", contact_id="Henry"), False, "Reading contact ?"),  # only numbers are shown as ids
    (started("<!channel>"), False, "Working on it"),
])
def test_titles_say_what_a_call_does_in_words(event: ToolEvent, private: bool, title: str) -> None:
    assert activity.title(event, private=private) == title
    assert activity.loading(event, private=private) == title + "…"


@pytest.mark.parametrize(("event", "output", "status"), [
    (finished("list_deals", found=3), "3 deals found", "complete"),
    (finished("search_contacts", found=1), "1 contact found", "complete"),
    (finished("list_tickets", found=0), "no tickets found", "complete"),
    (finished("get_contact", found=0), "not found or not visible to you", "complete"),
    (finished("get_deal", found=1), "found", "complete"),
    (finished("update_deal", outcome="proposed"), "drafted: nothing changes until someone approves", "complete"),
    (finished("get_deal", outcome="failed"), "could not be done", "error"),
    (finished("get_deal", outcome="invalid"), "the request was malformed; trying another way", "error"),
])
def test_a_finished_call_says_how_it_went_not_what_it_found(event: ToolEvent, output: str, status: str) -> None:
    assert (activity.output(event), activity.status(event)) == (output, status)
