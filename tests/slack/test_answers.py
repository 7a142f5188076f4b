"""Answers people can act on: sources named and only those used, pending proposals linked to their
cards, digest schedules in words on the App Home."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.cron import describe
from bot.records import Subscription
from bot.sources import used_sources
from bot.slack.blocks import messages
from bot.slack.blocks.home import digest_home_blocks, schedule_text
from bot.slack.blocks.links import Links
from tests.slack.test_blocks import LINKS, proposal

CITED = ["deal:212", "company:1", "contact:7", "pricing.md#discounts", "security.md#sso"]
NAMES = {"deal:212": "Acme renewal 2027", "company:1": "Acme Ltd", "contact:7": "Henry Bennett",
         "pricing.md#discounts": "Pricing › Discounts", "security.md#sso": "Security › Single sign-on"}


@pytest.mark.parametrize(("answer", "used"), [
    ("*Acme renewal 2027* is in negotiation.", ["deal:212"]),
    ("Deal 212 is in negotiation.", ["deal:212"]),
    ("deal #212 moved.", ["deal:212"]),
    ("Henry Bennett at acme ltd asked for 10% [pricing.md#discounts].", ["company:1", "contact:7",
                                                                        "pricing.md#discounts"]),
    ("As the Pricing article says, 10% is the most.", ["pricing.md#discounts"]),  # the article's title
    ("Nothing about it.", []),
    ("deal 2120 and company 12 are other records.", []),  # whole references only
    ("Acme Ltdx is another firm.", []),  # whole names only
    ("See [security.md#sso].", ["security.md#sso"]),
])
def test_sources_are_what_the_answer_names(answer: str, used: list[str]) -> None:
    assert used_sources(answer, CITED, NAMES) == used


def test_sources_are_named_and_linked_never_kind_and_number() -> None:
    links = Links.from_settings("https://crm.example.com/{kind}s/{id}", "https://wiki.example.com/{path}#{anchor}", ())
    [(_, blocks)] = messages.answer("Acme renewal 2027 for Henry Bennett, see [pricing.md#discounts].", CITED, links,
                                    names=NAMES)
    footer = blocks[-1]["elements"][0]["text"]
    assert footer == ("Sources: <https://crm.example.com/deals/212|Acme renewal 2027> · "
                      "<https://crm.example.com/contacts/7|Henry Bennett> · "
                      "<https://wiki.example.com/pricing.md#discounts|Pricing › Discounts>")


def test_names_with_slack_escapes_are_matched_as_people_read_them() -> None:
    names = {"company:3": "Smith & Sons <UK>"}
    [(_, blocks)] = messages.answer("Smith &amp; Sons &lt;UK&gt; renewed.", ["company:3"], LINKS, names=names)
    assert blocks[-1]["elements"][0]["text"] == ("Sources: <https://crm.example.com/companys/3|"
                                                 "Smith &amp; Sons &lt;UK&gt;>")


def test_an_answer_that_used_no_source_lists_none() -> None:
    [(_, blocks)] = messages.answer("I could not find that deal.", CITED, LINKS, names=NAMES)
    assert "Sources" not in json.dumps(blocks)


def test_pending_entries_open_their_card_and_link_their_record() -> None:
    mine = [proposal(), proposal(id="p2", record_kind=None, record_id=None, message_ts=None)]
    link = "https://team.slack.com/archives/C0SALES/p2000000?thread_ts=1.0&cid=C0SALES"
    text, blocks = messages.pending_list(mine, LINKS, permalinks={"p1": link})
    assert text == "2 proposals await your decision"
    first, second = blocks[1], blocks[2]
    assert first["accessory"] == {"type": "button", "action_id": messages.OPEN_CARD, "value": "p1",
                                  "text": {"type": "plain_text", "text": "Open card"}, "url": link}
    assert "<https://crm.example.com/deals/7|deal 7>" in first["text"]["text"]
    assert "accessory" not in second  # no permalink (the card was never posted): no button
    assert "`p1`" not in json.dumps(blocks)  # no hex ids for people
    assert messages.pending_list(mine[:1], LINKS)[0] == "1 proposal awaits your decision"


@pytest.mark.parametrize(("cron", "words"), [
    ("0 8 * * mon-fri", "every weekday at 08:00"),
    ("0 8 * * 1-5", "every weekday at 08:00"),
    ("30 9 * * 1", "every Monday at 09:30"),
    ("0 7 * * *", "every day at 07:00"),
    ("0 8,14 * * *", "every day at 08:00 and 14:00"),
    ("0 8 * * 1,3,5", "every Monday, Wednesday and Friday at 08:00"),
    ("0 18 * * 0", "every Sunday at 18:00"),
    ("0 18 * * 7", "every Sunday at 18:00"),
    ("0 9 * * sat,sun", "every Saturday and Sunday at 09:00"),
    ("0 7 1 * *", "on the 1st of every month at 07:00"),
    ("0 7 2,22,11 * *", "on the 2nd, 11th and 22nd of every month at 07:00"),
    ("*/15 * * * *", 'on the cron schedule "*/15 * * * *"'),
    ("0 8 * 1 *", 'on the cron schedule "0 8 * 1 *"'),
    ("0 8 1 * mon", 'on the cron schedule "0 8 1 * mon"'),
    ("0 8-17 * * *", 'on the cron schedule "0 8-17 * * *"'),
])
def test_a_schedule_in_words(cron: str, words: str) -> None:
    assert describe(cron) == words


def test_the_app_home_names_digests_their_schedule_and_sections_in_words() -> None:
    sub = Subscription("sales-morning", "C0SALES", "0 8 * * mon-fri", "Europe/London",
                       ("pipeline_movement", "closing_soon", "some_new_section"))
    assert schedule_text(sub) == ("*sales-morning* in <#C0SALES>, every weekday at 08:00 (Europe/London)\n"
                                  "Pipeline movement, Closing soon, Some new section")
    shown = json.dumps(digest_home_blocks([sub, replace(sub, cron="*/5 * * * *")]))
    assert "pipeline_movement" not in shown and "0 8 * * mon-fri" not in shown


@pytest.mark.parametrize(("hours", "words"), [(0, "0 hours ago"), (1, "1 hour ago"), (2, "2 hours ago"),
                                              (47, "47 hours ago"), (48, "2 days ago")])
def test_how_long_ago_agrees_with_its_number(hours: int, words: str) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.digests.sections import _ago

    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert _ago(now, now - timedelta(hours=hours)) == words


@pytest.mark.parametrize(("answer", "linked"), [
    ("Deal 212 is in negotiation.", "<https://crm.example.com/deals/212|Deal 212> is in negotiation."),
    ("See deal #212 and contact 7.", "See <https://crm.example.com/deals/212|deal #212> and "
                                     "<https://crm.example.com/contacts/7|contact 7>."),
    ("deal 999 was never read.", "deal 999 was never read."),  # a number the model made up stays text
    ("`deal 212` in code", "`deal 212` in code"),
    ("<https://crm.example.com/deals/212|deal 212>", "<https://crm.example.com/deals/212|deal 212>"),
])
def test_record_references_in_an_answer_link_to_the_records_read(answer: str, linked: str) -> None:
    assert messages.link_references(answer, CITED, LINKS) == linked
    assert messages.link_references(answer, CITED, Links()) == answer  # no record_url: named only
