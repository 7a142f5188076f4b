"""Digests within Slack's limits: at most 50 blocks, long sections cut with "and N more", the rest in the thread."""

from __future__ import annotations

import json

from bot.records import Digest, Line, Section
from bot.slack.blocks.digest import FOLLOW_UP, MAX_BLOCKS, SNOOZE, parse_action_value, render
from bot.slack.blocks.links import Links
from tests.digests.world import utc

LINKS = Links.from_settings("", "", ())


def digest(*sections: Section, **extra: object) -> Digest:
    return Digest("morning", "#sales", utc(2026, 12, 2, 7), utc(2026, 12, 1, 7), sections, **extra)  # type: ignore[arg-type]


def stale(n: int) -> Section:
    lines = tuple(Line(f"quiet for {i} days: Deal <{i}> & co", ("deal", i), ("follow_up", "snooze"), "Alice <Archer>")
                  for i in range(1, n + 1))
    return Section("stale_deals", "Stale deals", lines, n, "Open deals with no activity in 14 days.")


def tickets(n: int) -> Section:
    return Section("ticket_alerts", "Tickets", tuple(Line(f"urgent: ticket subject {i} " + "x" * 80, ("ticket", i))
                                                     for i in range(n)), n)


def all_text(blocks: list[dict]) -> str:  # type: ignore[type-arg]
    return json.dumps(blocks, ensure_ascii=False)


def test_long_sections_are_cut_and_the_full_lists_go_to_the_thread() -> None:
    (text, blocks), thread = render(digest(stale(300), tickets(1000)), LINKS, lines_per_section=5)
    assert len(blocks) <= MAX_BLOCKS
    assert "… and 295 more in the thread" in all_text(blocks) and "… and 995 more in the thread" in all_text(blocks)
    assert all(len(m[1]) <= MAX_BLOCKS for m in thread)
    listed = "".join(all_text(m[1]) for m in thread)
    assert all(f"Deal &lt;{i}&gt; &amp; co" in listed for i in range(1, 301))
    assert all(f"ticket subject {i} " in listed for i in range(1000))
    for block in blocks + [b for m in thread for b in m[1]]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert {b["action_id"] for b in buttons} == {FOLLOW_UP, SNOOZE} and len(buttons) == 10
    assert parse_action_value(buttons[0]["value"]) == ("morning", "deal", 1)
    assert "· Alice &lt;Archer&gt;" in all_text(blocks) and "<1>" not in all_text(blocks)  # escaped, owner by name


def test_many_actionable_sections_still_fit_in_fifty_blocks() -> None:
    sections = [Section(f"s{i}", f"Section {i}", stale(20).lines, 20) for i in range(7)]
    (_, blocks), thread = render(digest(*sections), LINKS, lines_per_section=20)
    assert len(blocks) <= MAX_BLOCKS
    assert all(f"Section {i}" in all_text(blocks) for i in range(7))  # every section keeps its place
    assert thread  # and what did not fit is listed in the thread


def test_short_digest_has_no_thread_and_catching_up_is_said() -> None:
    (_, blocks), thread = render(digest(tickets(3), missed=2, catching_up=True), LINKS, lines_per_section=5)
    assert thread == [] and "Catching up" in all_text(blocks) and "2 earlier runs missed" in all_text(blocks)
    (_, empty), _ = render(digest(), LINKS, lines_per_section=5)
    assert "Nothing to report" in all_text(empty)


def test_button_values_are_checked() -> None:
    assert parse_action_value("morning|deal|12") == ("morning", "deal", 12)
    for bad in ("", "morning|contact|1", "morning|deal|x", "a|b|c|d"):
        assert parse_action_value(bad) is None


def test_block_ids_are_unique_and_a_preview_has_no_buttons() -> None:
    twice = Section("stale_deals", "Stale deals", stale(3).lines + stale(3).lines, 6)  # the same records twice
    (_, blocks), _ = render(digest(twice, stale(4)), LINKS, lines_per_section=10)
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == 10 and len(set(ids)) == len(ids)
    (_, preview), _ = render(digest(stale(4)), LINKS, lines_per_section=10, interactive=False)
    assert not [b for b in preview if b["type"] == "actions"] and "Deal &lt;4&gt;" in all_text(preview)


def test_a_section_mixing_lines_with_and_without_actions_renders_buttons_only_where_they_act() -> None:
    acted, plain = stale(2).lines
    mixed = Section("stale_deals", "Stale deals", (acted, Line("a deal without a record"), plain), 3)
    (_, blocks), _ = render(digest(mixed), LINKS, lines_per_section=5)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 2 and "a deal without a record" in all_text(blocks)
