"""An e-mail proposal's card, confirm dialog, modal and App Home entry: the whole body, its line breaks,
the warnings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.slack.blocks.cards import APPROVE, REJECT, proposal_card
from bot.slack.blocks.email import VIEW_EMAIL
from bot.slack.blocks.home import home_view
from bot.slack.blocks.modals import email_modal
from bot.slack.mrkdwn import guard_blocks
from tests.slack.test_blocks import LINKS, buttons, proposal


def lines_of(n: int, width: int = 60) -> str:
    """A body of n numbered lines, each exactly `width` characters, so every line can be looked for."""
    return "\n".join(f"line {i:04d} ".ljust(width, "x") for i in range(n))


def email(body: str, warnings: tuple[str, ...] = (), **changes: Any) -> Any:
    args = {"to": "zoe@acme.example", "subject": "Renewal <quote>", "body": body}
    diff = [{"field": k, "before": None, "after": v} for k, v in args.items()]
    diff += [{"field": "warning", "before": None, "after": w, "kind": "personal_data"} for w in warnings]
    return proposal(tool="send_email", args=args, diff=diff, risk="high", record_kind=None, record_id=None,
                    summary='Send an e-mail to zoe@acme.example: "Renewal <quote>"', **changes)


def shown_text(blocks: list[dict[str, Any]]) -> str:
    """The plain-text sections (where the body is), joined as a reader sees them."""
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["type"] == "plain_text")


def within_limits(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    assert len(blocks) <= max_blocks
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


@pytest.mark.parametrize(("body", "on_card", "button"), [
    ("Hi Zoë,\n\nthe quote is attached.\n\nBest,\nBob", True, False),
    (lines_of(33), True, False),  # 2,000 characters (and a few line breaks): all of it on the card
    (lines_of(330), False, True),  # 20,000: the start on the card, the rest behind the button
])
def test_the_card_shows_the_whole_body_or_its_start_and_a_button(body: str, on_card: bool, button: bool) -> None:
    _, blocks = proposal_card(email(body), LINKS)
    within_limits(blocks, 50)
    text = shown_text(blocks)
    assert (text == body) is on_card
    assert text.startswith(body[:1000])  # line breaks kept, nothing joined or cut at 300 characters
    assert ([b["action_id"] for b in buttons(blocks)].count(VIEW_EMAIL) == 1) is button
    assert "*To:* zoe@acme.example" in json.dumps(blocks) and "Renewal &lt;quote&gt;" in json.dumps(blocks)
    if button:
        [view] = [b for b in buttons(blocks) if b["action_id"] == VIEW_EMAIL]
        assert view["value"] == "p1"
        decided = proposal_card(email(body, status="executed"), LINKS)[1]  # still readable once decided
        assert [b["action_id"] for b in buttons(decided)] == [VIEW_EMAIL]


@pytest.mark.parametrize("body", [lines_of(33), lines_of(330), "x" * 20_000, "short"])
def test_the_modal_holds_every_character_over_several_sections(body: str) -> None:
    view = email_modal(email(body, warnings=("the body holds bob@globex.com",)))
    within_limits(view["blocks"], 100)
    assert len(view["title"]["text"]) <= 24 and "submit" not in view
    assert "".join(shown_text(view["blocks"]).split()) == "".join(body.split())  # every character, in order
    if "\n" in body:
        assert shown_text(view["blocks"]).splitlines()[:40] == body.splitlines()[:40]
    assert "bob@globex.com" in json.dumps(view)


@pytest.mark.parametrize(("body", "first_line", "warned"), [
    ("Hi Zoë,\nthe quote is attached.\nBest, Bob", "the quote is attached.", False),
    (lines_of(33), "line 0001", True),
    ("y" * 5000, "yyyy", False),
])
def test_the_confirm_dialog_repeats_recipient_subject_and_first_lines(body: str, first_line: str,
                                                                       warned: bool) -> None:
    warnings = ("the body holds bob@globex.com",) if warned else ()
    _, blocks = proposal_card(email(body, warnings), LINKS)
    [approve] = [b for b in buttons(blocks) if b["action_id"] == APPROVE]
    text = approve["confirm"]["text"]
    assert text["type"] == "plain_text" and len(text["text"]) <= 300
    assert "zoe@acme.example" in text["text"] and "Renewal <quote>" in text["text"] and first_line in text["text"]
    assert ("warnings" in text["text"]) is warned


@pytest.mark.parametrize(("warnings", "listed"), [
    ((), []),
    (("the body holds personal data that is not the recipient contact's: bob@globex.com, +1 415 555 0100",),
     ["bob@globex.com, +1 415 555 0100"]),
    (("recipient not in the CRM: drop@evil.example is no contact's address", "the body holds <!channel>"),
     ["recipient not in the CRM: drop@evil.example", "the body holds &lt;!channel&gt;"]),
])
def test_warnings_are_listed_on_the_card(warnings: tuple[str, ...], listed: list[str]) -> None:
    _, blocks = proposal_card(email("Hello", warnings), LINKS)
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "Check before approving" in
                b["text"]["text"]]
    assert len(sections) == (1 if warnings else 0)
    for part in listed:
        assert part in sections[0]
    assert "<!channel>" not in json.dumps(blocks)


def test_the_app_home_confirms_an_email_with_its_first_lines_and_offers_to_read_it() -> None:
    view = home_view("Bot", [email(lines_of(330)), proposal(id="p2")], [], LINKS)
    rows = [[(b["action_id"], b["value"], "confirm" in b) for b in block["elements"]]
            for block in view["blocks"] if block["type"] == "actions"]
    assert rows == [[(VIEW_EMAIL, "p1", False), (APPROVE, "p1", True), (REJECT, "p1", False)],
                    [(APPROVE, "p2", False), (REJECT, "p2", False)]]
    [confirm] = [b["confirm"] for b in buttons(view["blocks"]) if "confirm" in b]
    assert "zoe@acme.example" in confirm["text"]["text"] and "line 0000" in confirm["text"]["text"]


def test_links_in_an_email_are_shown_in_full_and_not_clickable() -> None:
    body = ("Hi,\nplease fill https://evil.example/collect?e=zoe@acme.example&p=+4420 and www.track.example/x\n"
            "or see acme.example.")
    card = guard_blocks(proposal_card(email(body), LINKS)[1], ["crm.example.com"])
    modal = guard_blocks(email_modal(email(body)), ["crm.example.com"])
    for blocks in (card, modal["blocks"]):
        shown = shown_text(blocks)
        assert "hxxps://evil[.]example/collect?e=zoe@acme[.]example&p=+4420" in shown
        assert "www[.]track[.]example/x" in shown and "or see acme.example." in shown
        assert "link removed" not in shown and "https://" not in shown
